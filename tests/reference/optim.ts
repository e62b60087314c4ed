// Float64 references for the optimizer updates, on dense NCHW arrays.

export interface AdamRef {
  x: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** `steps` Adam steps from m = v = 0 with the gradients gs[t] (sign -1 minimizes). */
export function adam(x0: ArrayLike<number>, gs: ArrayLike<number>[], lr: number, beta1: number, beta2: number, eps: number, sign: number): AdamRef {
  const x = Float64Array.from(x0);
  const m = new Float64Array(x.length);
  const v = new Float64Array(x.length);
  gs.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < x.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const mh = m[i] / (1 - beta1 ** t);
      const vh = v[i] / (1 - beta2 ** t);
      x[i] += sign * lr * mh / (Math.sqrt(vh) + eps);
    }
  });
  return { x, m, v };
}

/** x + lr * g / (mean|g| + eps), per sample of `per` elements. */
export function normalizedStep(x: ArrayLike<number>, g: ArrayLike<number>, per: number, lr: number, eps: number): Float64Array {
  const out = Float64Array.from(x);
  for (let n = 0; n * per < out.length; n++) {
    let s = 0;
    for (let i = 0; i < per; i++) s += Math.abs(g[n * per + i]);
    const k = lr / (s / per + eps);
    for (let i = 0; i < per; i++) out[n * per + i] += k * g[n * per + i];
  }
  return out;
}
