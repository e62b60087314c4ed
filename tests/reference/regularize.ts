// Float64 reference of the class-visualization regularizer as the UNFUSED sequence of its steps,
// each on the whole image: decay, Gaussian blur, norm clip, contribution clip, range clip.

import { gaussianBlur } from './image';
import { percentile, type Shape } from './reduce';

export interface RegularizeRef {
  decay: number;
  blurSigma: number;
  pNorm?: number;
  pContrib?: number;
  lo?: readonly number[];
  hi?: readonly number[];
}

/** Zero every pixel p of sample n where score[n, p] < the p-th percentile of score[n, :]. */
function clipBelow(x: Float64Array, shape: Shape, score: Float64Array, p: number): void {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const t = percentile([n, 1, h, w], score, p, false);
  for (let s = 0; s < n; s++) for (let i = 0; i < hw; i++) if (score[s * hw + i] < t[s]) for (let k = 0; k < c; k++) x[(s * c + k) * hw + i] = 0;
}

function perPixel(shape: Shape, f: (s: number, i: number) => number): Float64Array {
  const [n, , h, w] = shape;
  return Float64Array.from({ length: n * h * w }, (_, j) => f(Math.floor(j / (h * w)), j % (h * w)));
}

/** x (N, C, H, W) and its gradient g -> the regularized image. */
export function regularize(shape: Shape, x0: ArrayLike<number>, g: ArrayLike<number>, o: RegularizeRef): Float64Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  let x: Float64Array = Float64Array.from(x0, (v) => v * (1 - o.decay));
  if (o.blurSigma > 0) x = gaussianBlur(x, n * c, h, w, o.blurSigma);
  const at = (s: number, k: number, i: number) => (s * c + k) * hw + i;
  if (o.pNorm !== undefined) {
    const norms = perPixel(shape, (s, i) => Math.sqrt(Array.from({ length: c }, (_, k) => x[at(s, k, i)] ** 2).reduce((a, b) => a + b, 0)));
    clipBelow(x, shape, norms, o.pNorm);
  }
  if (o.pContrib !== undefined) {
    const contrib = perPixel(shape, (s, i) => Math.abs(Array.from({ length: c }, (_, k) => x[at(s, k, i)] * g[at(s, k, i)]).reduce((a, b) => a + b, 0)));
    clipBelow(x, shape, contrib, o.pContrib);
  }
  if (o.lo && o.hi) {
    for (let s = 0; s < n; s++) for (let k = 0; k < c; k++) for (let i = 0; i < hw; i++) x[at(s, k, i)] = Math.min(Math.max(x[at(s, k, i)], o.lo[k]), o.hi[k]);
  }
  return x;
}
