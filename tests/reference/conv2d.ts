// Float64 reference for conv2d: forward, backward to input, backward to weights and bias.
// Dense NCHW arrays; weights (Cout, Cin/groups, KH, KW); bias (Cout). Each output element is a
// naive gather loop, so a caller may ask for any subset of elements (`at`, flat indices) and pay
// only for those: the real-layer tests check a strided subset of a full-size GPU result.

export interface ConvGeom {
  n: number; cin: number; h: number; w: number;
  cout: number; kh: number; kw: number;
  sh: number; sw: number;
  /** (top, bottom, left, right). */
  pad: readonly [number, number, number, number];
  groups: number;
}

export function outSize(g: ConvGeom): [number, number] {
  return [Math.floor((g.h + g.pad[0] + g.pad[1] - g.kh) / g.sh) + 1, Math.floor((g.w + g.pad[2] + g.pad[3] - g.kw) / g.sw) + 1];
}

function allIndices(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** y (N, Cout, OH, OW) = conv(x, w) + b, optionally max(., 0). */
export function conv2dForward(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, g: ConvGeom, relu = false, at?: number[]): Float64Array {
  const [oh, ow] = outSize(g);
  const cinG = g.cin / g.groups;
  const coutG = g.cout / g.groups;
  const idx = at ?? allIndices(g.n * g.cout * oh * ow);
  return Float64Array.from(idx, (i) => {
    const ox = i % ow;
    const oy = Math.floor(i / ow) % oh;
    const co = Math.floor(i / (ow * oh)) % g.cout;
    const n = Math.floor(i / (ow * oh * g.cout));
    const grp = Math.floor(co / coutG);
    let s = b ? b[co] : 0;
    for (let c = 0; c < cinG; c++) {
      const ci = grp * cinG + c;
      for (let ky = 0; ky < g.kh; ky++) {
        const iy = oy * g.sh - g.pad[0] + ky;
        if (iy < 0 || iy >= g.h) continue;
        for (let kx = 0; kx < g.kw; kx++) {
          const ix = ox * g.sw - g.pad[2] + kx;
          if (ix < 0 || ix >= g.w) continue;
          s += w[((co * cinG + c) * g.kh + ky) * g.kw + kx] * x[((n * g.cin + ci) * g.h + iy) * g.w + ix];
        }
      }
    }
    return relu ? Math.max(s, 0) : s;
  });
}

/** dx (N, Cin, H, W): each dx element sums w * dy over the (co, ky, kx) whose output position is integral and in range. */
export function conv2dBackwardInput(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeom, at?: number[]): Float64Array {
  const [oh, ow] = outSize(g);
  const cinG = g.cin / g.groups;
  const coutG = g.cout / g.groups;
  const idx = at ?? allIndices(g.n * g.cin * g.h * g.w);
  return Float64Array.from(idx, (i) => {
    const ix = i % g.w;
    const iy = Math.floor(i / g.w) % g.h;
    const ci = Math.floor(i / (g.w * g.h)) % g.cin;
    const n = Math.floor(i / (g.w * g.h * g.cin));
    const grp = Math.floor(ci / cinG);
    const c = ci - grp * cinG;
    let s = 0;
    for (let k = 0; k < coutG; k++) {
      const co = grp * coutG + k;
      for (let ky = 0; ky < g.kh; ky++) {
        const ty = iy + g.pad[0] - ky;
        if (ty < 0 || ty % g.sh !== 0 || ty / g.sh >= oh) continue;
        for (let kx = 0; kx < g.kw; kx++) {
          const tx = ix + g.pad[2] - kx;
          if (tx < 0 || tx % g.sw !== 0 || tx / g.sw >= ow) continue;
          s += w[((co * cinG + c) * g.kh + ky) * g.kw + kx] * dy[((n * g.cout + co) * oh + ty / g.sh) * ow + tx / g.sw];
        }
      }
    }
    return s;
  });
}

/** dw (Cout, Cin/groups, KH, KW): sum over N, OH, OW of dy * x at the tap. */
export function conv2dBackwardWeights(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeom, at?: number[]): Float64Array {
  const [oh, ow] = outSize(g);
  const cinG = g.cin / g.groups;
  const coutG = g.cout / g.groups;
  const idx = at ?? allIndices(g.cout * cinG * g.kh * g.kw);
  return Float64Array.from(idx, (i) => {
    const kx = i % g.kw;
    const ky = Math.floor(i / g.kw) % g.kh;
    const c = Math.floor(i / (g.kw * g.kh)) % cinG;
    const co = Math.floor(i / (g.kw * g.kh * cinG));
    const ci = Math.floor(co / coutG) * cinG + c;
    let s = 0;
    for (let n = 0; n < g.n; n++) {
      for (let oy = 0; oy < oh; oy++) {
        const iy = oy * g.sh - g.pad[0] + ky;
        if (iy < 0 || iy >= g.h) continue;
        for (let ox = 0; ox < ow; ox++) {
          const ix = ox * g.sw - g.pad[2] + kx;
          if (ix < 0 || ix >= g.w) continue;
          s += dy[((n * g.cout + co) * oh + oy) * ow + ox] * x[((n * g.cin + ci) * g.h + iy) * g.w + ix];
        }
      }
    }
    return s;
  });
}

/** db (Cout): sum of dy over N, OH, OW. */
export function conv2dBackwardBias(dy: ArrayLike<number>, g: ConvGeom): Float64Array {
  const [oh, ow] = outSize(g);
  const db = new Float64Array(g.cout);
  for (let n = 0; n < g.n; n++) for (let co = 0; co < g.cout; co++) for (let p = 0; p < oh * ow; p++) db[co] += dy[(n * g.cout + co) * oh * ow + p];
  return db;
}
