// Central finite differences in float64, for checking every backward.
//
// For a forward f: x -> y and an upstream gradient dy, the loss L(x) = sum(dy * f(x)) has
// dL/dx = backward(dy). We check that identity at `samples` coordinates of x (all of them when x
// is small): dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h.

import { rng } from './random';

export function lossFn(f: (x: Float64Array) => ArrayLike<number>, dy: ArrayLike<number>): (x: Float64Array) => number {
  return (x) => {
    const y = f(x);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += dy[i] * y[i];
    return s;
  };
}

/** Returns [indices, numeric gradient at those indices]. */
export function numericGrad(loss: (x: Float64Array) => number, x: Float64Array, samples = 64, h = 1e-5, seed = 7): [number[], Float64Array] {
  const r = rng(seed);
  const idx = x.length <= samples ? Array.from({ length: x.length }, (_, i) => i) : Array.from({ length: samples }, () => Math.floor(r() * x.length));
  const out = new Float64Array(idx.length);
  const xp = Float64Array.from(x);
  idx.forEach((i, k) => {
    const v = xp[i];
    xp[i] = v + h;
    const lp = loss(xp);
    xp[i] = v - h;
    const lm = loss(xp);
    xp[i] = v;
    out[k] = (lp - lm) / (2 * h);
  });
  return [idx, out];
}

export function pick(a: ArrayLike<number>, idx: number[]): Float64Array {
  return Float64Array.from(idx, (i) => a[i]);
}
