// Float64 reference for concatenation along channels: dense NCHW inputs (N, C_i, H, W) ->
// (N, sum C_i, H, W), in input order.

export type Shape = readonly [number, number, number, number];

export function concatForward(inputs: { data: ArrayLike<number>; shape: Shape }[]): Float64Array {
  const [n, , h, w] = inputs[0].shape;
  const hw = h * w;
  const total = inputs.reduce((s, t) => s + t.shape[1], 0);
  const y = new Float64Array(n * total * hw);
  for (let b = 0; b < n; b++) {
    let c0 = 0;
    for (const t of inputs) {
      const c = t.shape[1];
      for (let i = 0; i < c * hw; i++) y[(b * total + c0) * hw + i] = t.data[b * c * hw + i];
      c0 += c;
    }
  }
  return y;
}
