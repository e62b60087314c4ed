// Float64 references for t-SNE: one gradient step exactly as shaders/tsne.wgsl (tsne.py's rule),
// and trustworthiness (Venna & Kaski 2001; sklearn.manifold.trustworthiness) of an embedding.

export interface RefTsneState {
  y: Float64Array;
  gains: Float64Array;
  iy: Float64Array;
}

/** One iteration on (y, gains, iy) in place, P (n x n) row-major. */
export function tsneStep(s: RefTsneState, p: ArrayLike<number>, n: number, o: { exaggeration: number; momentum: number; eta: number; minGain: number }): void {
  const num = new Float64Array(n * n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const dx = s.y[2 * i] - s.y[2 * j];
      const dy = s.y[2 * i + 1] - s.y[2 * j + 1];
      num[i * n + j] = 1 / (1 + dx * dx + dy * dy);
      z += num[i * n + j];
    }
  }
  const next = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      let g = 0;
      for (let j = 0; j < n; j++) if (j !== i) g += (o.exaggeration * p[i * n + j] - num[i * n + j] / z) * num[i * n + j] * (s.y[2 * i + c] - s.y[2 * j + c]);
      const e = 2 * i + c;
      let gain = (g > 0) !== (s.iy[e] > 0) ? s.gains[e] + 0.2 : s.gains[e] * 0.8;
      gain = Math.max(gain, o.minGain);
      s.gains[e] = gain;
      s.iy[e] = o.momentum * s.iy[e] - o.eta * gain * g;
      next[e] = s.y[e] + s.iy[e];
    }
  }
  for (let c = 0; c < 2; c++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += next[2 * i + c];
    mean /= n;
    for (let i = 0; i < n; i++) s.y[2 * i + c] = next[2 * i + c] - mean;
  }
}

function sqDistances(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < d; p++) s += (x[i * d + p] - x[j * d + p]) ** 2;
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Each row's other points, nearest first (ties by index). */
function ranks(dist: Float64Array, n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => dist[i * n + a] - dist[i * n + b] || a - b));
}

/**
 * T(k) = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in U_k(i)} (r(i, j) - k), U_k(i) the k nearest
 * of i in the embedding that are not among its k nearest in the input, r(i, j) j's rank (1-based)
 * among i's input neighbours. 1 = every embedded neighbourhood is an input neighbourhood.
 */
export function trustworthiness(x: ArrayLike<number>, d: number, y: ArrayLike<number>, dy: number, n: number, k: number): number {
  const inRank = ranks(sqDistances(x, n, d), n);
  const outRank = ranks(sqDistances(y, n, dy), n);
  let penalty = 0;
  for (let i = 0; i < n; i++) {
    const rank = new Map(inRank[i].map((j, r) => [j, r + 1]));
    for (const j of outRank[i].slice(0, k)) penalty += Math.max(0, rank.get(j)! - k);
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * penalty;
}
