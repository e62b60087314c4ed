// Float64 references of the transforms: bilinear affine resampling with constant / reflect padding
// (and its backward in scatter form, independent of the kernel's gather), and the integer roll.
// Dense NCHW arrays.

export type Shape = readonly [number, number, number, number];

export function reflect(j: number, n: number): number {
  if (n === 1) return 0;
  const p = 2 * (n - 1);
  const r = ((j % p) + p) % p;
  return r >= n ? p - r : r;
}

/** For output pixel (ox, oy) of sample matrix a: the 4 taps [input index or -1 (pad), weight]. */
function taps(a: readonly number[], ox: number, oy: number, h: number, w: number, pad: 'constant' | 'reflect'): [number, number][] {
  const sx = a[0] * ox + a[1] * oy + a[2];
  const sy = a[3] * ox + a[4] * oy + a[5];
  const j0 = Math.floor(sx);
  const i0 = Math.floor(sy);
  const out: [number, number][] = [];
  for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    const i = i0 + di;
    const j = j0 + dj;
    const wgt = (1 - Math.abs(sx - j)) * (1 - Math.abs(sy - i));
    if (pad === 'reflect') out.push([reflect(i, h) * w + reflect(j, w), wgt]);
    else out.push([i >= 0 && i < h && j >= 0 && j < w ? i * w + j : -1, wgt]);
  }
  return out;
}

/** x (N, C, H, W) -> y (N, C, outH, outW); mats[n] row-major 2 x 3. */
export function affine(shape: Shape, x: ArrayLike<number>, mats: readonly (readonly number[])[], outH: number, outW: number, pad: 'constant' | 'reflect', padValue: number): Float64Array {
  const [n, c, h, w] = shape;
  const y = new Float64Array(n * c * outH * outW);
  for (let s = 0; s < n; s++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    const t = taps(mats[s], ox, oy, h, w, pad);
    for (let k = 0; k < c; k++) {
      const plane = (s * c + k) * h * w;
      y[((s * c + k) * outH + oy) * outW + ox] = t.reduce((acc, [i, wgt]) => acc + wgt * (i < 0 ? padValue : x[plane + i]), 0);
    }
  }
  return y;
}

/** dL/dx from dL/dy by scattering each output's tap weights. */
export function affineBackward(shape: Shape, dy: ArrayLike<number>, mats: readonly (readonly number[])[], outH: number, outW: number, pad: 'constant' | 'reflect'): Float64Array {
  const [n, c, h, w] = shape;
  const dx = new Float64Array(n * c * h * w);
  for (let s = 0; s < n; s++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    const t = taps(mats[s], ox, oy, h, w, pad);
    for (let k = 0; k < c; k++) {
      const g = dy[((s * c + k) * outH + oy) * outW + ox];
      for (const [i, wgt] of t) if (i >= 0) dx[(s * c + k) * h * w + i] += wgt * g;
    }
  }
  return dx;
}

/** y[h, w] = x[(h - sy) mod H, (w - sx) mod W]. */
export function roll(shape: Shape, x: ArrayLike<number>, sy: number, sx: number): Float64Array {
  const [n, c, h, w] = shape;
  const y = new Float64Array(x.length);
  const m = (a: number, b: number) => ((a % b) + b) % b;
  for (let p = 0; p < n * c; p++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) y[(p * h + i) * w + j] = x[(p * h + m(i - sy, h)) * w + m(j - sx, w)];
  return y;
}
