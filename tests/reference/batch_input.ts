// Float64 references for the batched-input kernels, on dense NCHW arrays. The noise is the same
// counter-based hash as shaders/batch_input.wgsl (pcg3d -> two 24-bit uniforms -> Box-Muller),
// evaluated here in float64.

/** pcg3d (Jarzynski & Olano 2020) on u32 lanes. */
export function pcg3d(a: number, b: number, c: number): [number, number, number] {
  let x = (Math.imul(a, 1664525) + 1013904223) >>> 0;
  let y = (Math.imul(b, 1664525) + 1013904223) >>> 0;
  let z = (Math.imul(c, 1664525) + 1013904223) >>> 0;
  x = (x + Math.imul(y, z)) >>> 0; y = (y + Math.imul(z, x)) >>> 0; z = (z + Math.imul(x, y)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0; y = (y ^ (y >>> 16)) >>> 0; z = (z ^ (z >>> 16)) >>> 0;
  x = (x + Math.imul(y, z)) >>> 0; y = (y + Math.imul(z, x)) >>> 0; z = (z + Math.imul(x, y)) >>> 0;
  return [x, y, z];
}

export function gauss(seed: number, k: number, i: number): number {
  const [hx, hy] = pcg3d(seed, k, i);
  const u1 = ((hx >>> 8) + 1) / 16777216;
  const u2 = (hy >>> 8) / 16777216;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** out[k] = sx[k] * x + sb[k] * base + sigma[k] * gauss(seed, k, i); x, base one (C, H, W) image. */
export function broadcast(x: ArrayLike<number>, base: ArrayLike<number> | null, sx: ArrayLike<number>, sb: ArrayLike<number>, sigma: ArrayLike<number>, seed: number): Float64Array {
  const per = x.length;
  const out = new Float64Array(sx.length * per);
  for (let k = 0; k < sx.length; k++) {
    for (let i = 0; i < per; i++) {
      out[k * per + i] = sx[k] * x[i] + (base ? sb[k] * base[i] : 0) + (sigma[k] ? sigma[k] * gauss(seed, k, i) : 0);
    }
  }
  return out;
}

/** out[k] = x with the (clipped) window k set to fill[c]. */
export function occlude(shape: readonly [number, number, number], x: ArrayLike<number>, windows: readonly { y: number; x: number; size: number }[], fill: readonly number[]): Float64Array {
  const [c, h, w] = shape;
  const per = c * h * w;
  const out = new Float64Array(windows.length * per);
  windows.forEach((win, k) => {
    for (let ch = 0; ch < c; ch++) {
      for (let r = 0; r < h; r++) {
        for (let col = 0; col < w; col++) {
          const i = (ch * h + r) * w + col;
          const inside = r >= win.y && r < win.y + win.size && col >= win.x && col < win.x + win.size;
          out[k * per + i] = inside ? fill[ch] : x[i];
        }
      }
    }
  });
  return out;
}

/** Deletion: out[k] = rank < t[k] ? base : x; insertion the reverse. rank has H*W entries. */
export function maskBlend(x: ArrayLike<number>, base: ArrayLike<number>, rank: ArrayLike<number>, t: ArrayLike<number>, insertion: boolean): Float64Array {
  const per = x.length;
  const hw = rank.length;
  const out = new Float64Array(t.length * per);
  for (let k = 0; k < t.length; k++) {
    for (let i = 0; i < per; i++) {
      const masked = rank[i % hw] < t[k];
      out[k * per + i] = masked !== insertion ? base[i] : x[i];
    }
  }
  return out;
}
