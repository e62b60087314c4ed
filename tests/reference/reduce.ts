// Float64 references for the reductions, on dense NCHW arrays.

export type Shape = readonly [number, number, number, number];

function sample(shape: Shape, x: ArrayLike<number>, n: number): number[] {
  const per = shape[1] * shape[2] * shape[3];
  return Array.from({ length: per }, (_, i) => x[n * per + i]);
}

const PER_SAMPLE: Record<string, (v: number[]) => number> = {
  sum: (v) => v.reduce((a, b) => a + b, 0),
  mean: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  meanAbs: (v) => v.reduce((a, b) => a + Math.abs(b), 0) / v.length,
  sumSquares: (v) => v.reduce((a, b) => a + b * b, 0),
  l2: (v) => Math.sqrt(v.reduce((a, b) => a + b * b, 0)),
  min: (v) => Math.min(...v),
  max: (v) => Math.max(...v),
  maxAbs: (v) => Math.max(...v.map(Math.abs)),
};

/** (N, C, H, W) -> (N) */
export function reduceSamples(shape: Shape, x: ArrayLike<number>, kind: string): Float64Array {
  return Float64Array.from({ length: shape[0] }, (_, n) => PER_SAMPLE[kind](sample(shape, x, n)));
}

/** (N, C, H, W) -> (N, 1, H, W) */
export function reduceChannels(shape: Shape, x: ArrayLike<number>, kind: string): Float64Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const out = new Float64Array(n * hw);
  for (let s = 0; s < n; s++) {
    for (let p = 0; p < hw; p++) {
      out[s * hw + p] = PER_SAMPLE[kind](Array.from({ length: c }, (_, ch) => x[(s * c + ch) * hw + p]));
    }
  }
  return out;
}

/** (N, C, H, W) -> (1, C, H, W) */
export function reduceBatch(shape: Shape, x: ArrayLike<number>, kind: 'mean' | 'sum'): Float64Array {
  const per = shape[1] * shape[2] * shape[3];
  const out = new Float64Array(per);
  for (let n = 0; n < shape[0]; n++) for (let i = 0; i < per; i++) out[i] += x[n * per + i];
  if (kind === 'mean') for (let i = 0; i < per; i++) out[i] /= shape[0];
  return out;
}

/** Per sample: sorted[ceil(p/100 * count) - 1] (clamped) of |x| (abs) or x: the smallest v with at least p% of values <= v. */
export function percentile(shape: Shape, x: ArrayLike<number>, p: number, abs: boolean): Float64Array {
  return Float64Array.from({ length: shape[0] }, (_, n) => {
    const v = sample(shape, x, n).map((a) => (abs ? Math.abs(a) : a)).sort((a, b) => a - b);
    const k = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length - 1e-9) - 1));
    return v[k];
  });
}
