// t-SNE (van der Maaten & Hinton 2008) of a gallery's features, following van der Maaten's
// reference tsne.py: joint probabilities P from squared distances with a per-point Gaussian whose
// precision is found by binary search to match the perplexity (CPU, float64, once), then gradient
// descent with early exaggeration (x4 for the first 100 iterations), momentum 0.5 then 0.8 (from
// iteration 20), per-coordinate gains (+0.2 / x0.8, at least 0.01) and re-centring, the exact
// O(N^2) gradient on the GPU (ops/tsne.ts). The squared distances come from the GPU pairwise
// kernel. Initial points: N(0, 1e-4^2) from the seed (as bhtsne), so a seed fixes the run.

import type { Runtime } from '../runtime';
import { pairwise } from '../ops/pairwise';
import { tsneState, tsneStep } from '../ops/tsne';
import { Tensor } from '../tensor';
import { uniformStream } from './attribution';
import { throwIfAborted } from './technique';

export interface TsneOptions {
  perplexity: number;
  iterations: number;
  learningRate: number;
  seed: number;
  /** Early exaggeration factor and for how many iterations (tsne.py: 4, 100). */
  exaggeration?: number;
  exaggerationIters?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface TsneResult {
  /** (N, 2) row-major. */
  coords: Float32Array;
  /** The precision beta_i = 1 / (2 sigma_i^2) found per point, and the worst |H - log(perplexity)|. */
  betas: Float64Array;
  entropyError: number;
  /** Milliseconds for P (distances + calibration) and per iteration of the GPU loop. */
  msP: number;
  msPerIteration: number;
}

/**
 * Row i of the conditional P_{j|i} from squared distances d2 (n x n), beta_i by binary search
 * so that the entropy H(P_i) = log(perplexity) (tsne.py's x2p: tolerance 1e-5, 50 tries), then
 * P = (P + P^T) / sum, at least 1e-12. Returns P (float32, n x n) and the betas.
 */
export function jointProbabilities(d2: ArrayLike<number>, n: number, perplexity: number): { p: Float32Array; betas: Float64Array; entropyError: number } {
  if (!(perplexity > 0) || perplexity > n - 1) throw new Error(`tsne: perplexity must be in (0, N - 1 = ${n - 1}], got ${perplexity} (use fewer neighbours or a larger gallery)`);
  const logU = Math.log(perplexity);
  const cond = new Float64Array(n * n);
  const betas = new Float64Array(n);
  const row = new Float64Array(n);
  let entropyError = 0;
  for (let i = 0; i < n; i++) {
    let dmin = Infinity;
    for (let j = 0; j < n; j++) if (j !== i) dmin = Math.min(dmin, d2[i * n + j]);
    // Entropy and row for one beta (distances shifted by their minimum: the same normalised P).
    const entropy = (beta: number) => {
      let sum = 0;
      let sumDP = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) { row[j] = 0; continue; }
        const dj = Math.max(d2[i * n + j] - dmin, 0);
        row[j] = Math.exp(-beta * dj);
        sum += row[j];
        sumDP += dj * row[j];
      }
      for (let j = 0; j < n; j++) row[j] /= sum;
      return Math.log(sum) + (beta * sumDP) / sum;
    };
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    let diff = entropy(beta) - logU;
    for (let tries = 0; Math.abs(diff) > 1e-5 && tries < 50; tries++) {
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
      diff = entropy(beta) - logU;
    }
    entropyError = Math.max(entropyError, Math.abs(diff));
    betas[i] = beta;
    cond.set(row, i * n);
  }
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) total += cond[i * n + j] + cond[j * n + i];
  const p = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) p[i * n + j] = Math.max((cond[i * n + j] + cond[j * n + i]) / total, 1e-12);
  return { p, betas, entropyError };
}

/** tsne.py's schedule at iteration t (0-based). */
export function tsneSchedule(t: number, o: Pick<TsneOptions, 'learningRate' | 'exaggeration' | 'exaggerationIters'>) {
  return { exaggeration: t < (o.exaggerationIters ?? 100) ? (o.exaggeration ?? 4) : 1, momentum: t < 20 ? 0.5 : 0.8, eta: o.learningRate, minGain: 0.01 };
}

/** Seeded initial points, N(0, 1e-4^2), (n, 2) row-major. */
export function tsneInit(n: number, seed: number): Float32Array {
  const u = uniformStream(seed);
  // Box-Muller: one pair of normals per (x, y).
  const y = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const r = 1e-4 * Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    y[2 * i] = r * Math.cos(t);
    y[2 * i + 1] = r * Math.sin(t);
  }
  return y;
}

/** t-SNE of x (n, d) row-major to 2-D. */
export async function tsne(rt: Runtime, x: Float32Array, n: number, d: number, o: TsneOptions): Promise<TsneResult> {
  const t0 = performance.now();
  const xt = Tensor.fromData(rt, x, [n, d, 1, 1], 'tsne.x');
  let d2: Float32Array;
  try {
    const dist = pairwise(xt, xt, 'sqeuclidean');
    d2 = await dist.read();
    dist.dispose();
  } finally {
    xt.dispose();
  }
  const { p, betas, entropyError } = jointProbabilities(d2, n, o.perplexity);
  const msP = performance.now() - t0;
  const s = tsneState(rt, p, tsneInit(n, o.seed));
  try {
    const t1 = performance.now();
    const chunk = 25;
    for (let t = 0; t < o.iterations; t++) {
      tsneStep(s, tsneSchedule(t, o));
      if ((t + 1) % chunk === 0 || t + 1 === o.iterations) {
        await rt.sync();
        throwIfAborted(o.signal);
        o.onProgress?.(t + 1, o.iterations);
      }
    }
    const coords = await s.y.read();
    return { coords, betas, entropyError, msP, msPerIteration: (performance.now() - t1) / Math.max(o.iterations, 1) };
  } finally {
    s.dispose();
  }
}
