// Float64 pairwise distances between rows (shaders/pairwise.wgsl): out[i * nb + j].

export type RefMetric = 'l2' | 'sqeuclidean' | 'cosine';

export function pairwise(a: ArrayLike<number>, b: ArrayLike<number>, na: number, nb: number, d: number, metric: RefMetric): Float64Array {
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      let sq = 0;
      let dot = 0;
      let aa = 0;
      let bb = 0;
      for (let p = 0; p < d; p++) {
        const u = a[i * d + p];
        const v = b[j * d + p];
        sq += (u - v) * (u - v);
        dot += u * v;
        aa += u * u;
        bb += v * v;
      }
      out[i * nb + j] = metric === 'l2' ? Math.sqrt(sq) : metric === 'sqeuclidean' ? sq : aa * bb === 0 ? 1 : 1 - dot / Math.sqrt(aa * bb);
    }
  }
  return out;
}
