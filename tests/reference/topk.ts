// Float64 brute-force top-k per row (shaders/topk.wgsl): sort (value, index), NaN last, ties by index.

export function topk(x: ArrayLike<number>, n: number, m: number, k: number, largest = false): { values: Float64Array; indices: Float64Array } {
  const values = new Float64Array(n * k);
  const indices = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    const key = (j: number) => {
      const v = x[r * m + j];
      return Number.isNaN(v) ? Infinity : largest ? -v : v;
    };
    const nan = (j: number) => Number.isNaN(x[r * m + j]);
    const order = Array.from({ length: m }, (_, j) => j).sort((p, q) => Number(nan(p)) - Number(nan(q)) || key(p) - key(q) || p - q);
    for (let s = 0; s < k; s++) {
      values[r * k + s] = x[r * m + order[s]];
      indices[r * k + s] = order[s];
    }
  }
  return { values, indices };
}
