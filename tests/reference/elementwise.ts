// Float64 references for the elementwise ops on dense NCHW arrays. Coefficients are per sample
// (one value per n), as the GPU kernels apply them.

export type Shape = readonly [number, number, number, number];

function perSample(shape: Shape, f: (n: number, i: number) => number): Float64Array {
  const [n, c, h, w] = shape;
  const per = c * h * w;
  const out = new Float64Array(n * per);
  for (let s = 0; s < n; s++) for (let i = 0; i < per; i++) out[s * per + i] = f(s, s * per + i);
  return out;
}

/** out = a[n] * x + b[n] * y. */
export function axpy(shape: Shape, a: ArrayLike<number>, x: ArrayLike<number>, b: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return perSample(shape, (n, i) => a[n] * x[i] + b[n] * y[i]);
}

/** out = a[n] * x * y. */
export function mul(shape: Shape, a: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return perSample(shape, (n, i) => a[n] * x[i] * y[i]);
}

/** out = min(max(x, lo[c]), hi[c]), the bounds being float32 values. */
export function clamp(shape: Shape, x: ArrayLike<number>, lo: readonly number[], hi: readonly number[]): Float64Array {
  const hw = shape[2] * shape[3];
  const [l, u] = [lo.map(Math.fround), hi.map(Math.fround)];
  const c = (i: number) => Math.floor(i / hw) % shape[1];
  return perSample(shape, (_n, i) => Math.min(Math.max(x[i], l[c(i)]), u[c(i)]));
}
