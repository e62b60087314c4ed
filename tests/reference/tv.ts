// Float64 reference of total variation TV_beta per sample and its gradient (dense NCHW).

export type Shape = readonly [number, number, number, number];

function diffs(x: ArrayLike<number>, h: number, w: number, base: number, y: number, xx: number): [number, number] {
  const v = x[base + y * w + xx];
  return [xx + 1 < w ? x[base + y * w + xx + 1] - v : 0, y + 1 < h ? x[base + (y + 1) * w + xx] - v : 0];
}

/** (N, C, H, W) -> (N) sum of ((dx^2 + dy^2) + eps)^(beta/2). */
export function tv(shape: Shape, x: ArrayLike<number>, beta: number, eps: number): Float64Array {
  const [n, c, h, w] = shape;
  const out = new Float64Array(n);
  for (let s = 0; s < n; s++) for (let k = 0; k < c; k++) {
    const base = (s * c + k) * h * w;
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
      const [dx, dy] = diffs(x, h, w, base, y, xx);
      out[s] += (dx * dx + dy * dy + eps) ** (beta / 2);
    }
  }
  return out;
}

/** d(sum_n dv[n] * TV[n]) / dx, by the chain rule through each term (scatter form: independent of the kernel's gather). */
export function tvBackward(shape: Shape, x: ArrayLike<number>, beta: number, eps: number, dv: ArrayLike<number>): Float64Array {
  const [n, c, h, w] = shape;
  const g = new Float64Array(x.length);
  for (let s = 0; s < n; s++) for (let k = 0; k < c; k++) {
    const base = (s * c + k) * h * w;
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
      const [dx, dy] = diffs(x, h, w, base, y, xx);
      const d = dv[s] * (beta / 2) * (dx * dx + dy * dy + eps) ** (beta / 2 - 1) * 2;
      const i = base + y * w + xx;
      if (xx + 1 < w) { g[i + 1] += d * dx; g[i] -= d * dx; }
      if (y + 1 < h) { g[i + w] += d * dy; g[i] -= d * dy; }
    }
  }
  return g;
}
