// PCA of a gallery's features (N, D) to a few components: the centred data's second-moment matrix
// on the GPU through the engine's GEMM (ops/linear.ts: y = x W^T, with x = W = the centred data
// viewed as a tensor), then its top eigenvectors on the CPU in float64 by orthogonal (block power)
// iteration. For D <= N that matrix is the D x D covariance Xc^T Xc; for D > N the N x N Gram
// matrix Xc Xc^T (the "Gram trick": same nonzero eigenvalues, eigenvectors u with Xc v = sqrt(l) u),
// so a 1000-image gallery never needs more than a 1000 x 1000 eigenproblem.

import type { Runtime } from '../runtime';
import { linear } from '../ops/linear';
import { Tensor } from '../tensor';
import { uniformStream } from './attribution';

export interface PcaResult {
  /** (N, k) row-major: each image's coordinates along the components. */
  coords: Float64Array;
  /** (k, D) row-major unit vectors, largest variance first; sign: largest |entry| positive. */
  components: Float64Array;
  /** Variance along each component (eigenvalues of the covariance, divided by N - 1). */
  variance: Float64Array;
  /** Fraction of the total variance each component explains. */
  explained: Float64Array;
  /** 'covariance' (D x D) or 'gram' (N x N), and the orthogonal-iteration count. */
  method: 'covariance' | 'gram';
  iterations: number;
}

/** Centred copy of x (n, d) in float64 and the column means. */
function centre(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const c = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) c[i * d + j] = x[i * d + j] - mean[j];
  return c;
}

/** M = A A^T on the GPU for A (rows, cols) row-major: linear(A, A) with A as (rows, cols, 1, 1). */
async function gramOnGpu(rt: Runtime, a: Float64Array, rows: number, cols: number): Promise<Float64Array> {
  const t = Tensor.fromData(rt, Float32Array.from(a), [rows, cols, 1, 1], 'pca.data');
  try {
    const m = linear(t, t, null);
    try {
      return Float64Array.from(await m.read());
    } finally {
      m.dispose();
    }
  } finally {
    t.dispose();
  }
}

/** Gram-Schmidt on the q columns of v (m, q) row-major, in place. */
function orthonormalize(v: Float64Array, m: number, q: number): void {
  for (let c = 0; c < q; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += v[i * q + c] * v[i * q + p];
      for (let i = 0; i < m; i++) v[i * q + c] -= dot * v[i * q + p];
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i * q + c] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < m; i++) v[i * q + c] /= norm;
  }
}

/**
 * The top k eigenvectors (m, k) and eigenvalues of a symmetric positive semi-definite m x m
 * matrix, by orthogonal iteration with k + 4 vectors until the top k stop turning (1 - |cos| <
 * tol) or `maxIter`.
 */
export function topEigen(mat: Float64Array, m: number, k: number, opts: { tol?: number; maxIter?: number; seed?: number } = {}): { vectors: Float64Array; values: Float64Array; iterations: number } {
  const q = Math.min(m, k + 4);
  const u = uniformStream(opts.seed ?? 1);
  let v = Float64Array.from({ length: m * q }, () => u() - 0.5);
  orthonormalize(v, m, q);
  const tol = opts.tol ?? 1e-13;
  let it = 0;
  for (; it < (opts.maxIter ?? 500); it++) {
    const w = new Float64Array(m * q);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const a = mat[i * m + j];
        if (a !== 0) for (let c = 0; c < q; c++) w[i * q + c] += a * v[j * q + c];
      }
    }
    orthonormalize(w, m, q);
    let worst = 0;
    for (let c = 0; c < k; c++) {
      let cos = 0;
      for (let i = 0; i < m; i++) cos += w[i * q + c] * v[i * q + c];
      worst = Math.max(worst, 1 - Math.abs(cos));
    }
    v = w;
    if (worst < tol) break;
  }
  const values = new Float64Array(k);
  const vectors = new Float64Array(m * k);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < m; i++) {
      let mv = 0;
      for (let j = 0; j < m; j++) mv += mat[i * m + j] * v[j * q + c];
      values[c] += v[i * q + c] * mv;
      vectors[i * k + c] = v[i * q + c];
    }
  }
  return { vectors, values, iterations: it + 1 };
}

/** PCA of x (n, d) row-major to k components (see the file comment). */
export async function pca(rt: Runtime, x: ArrayLike<number>, n: number, d: number, k = 2): Promise<PcaResult> {
  if (x.length !== n * d) throw new Error(`pca: ${x.length} values for ${n} rows of ${d} features`);
  if (!Number.isInteger(k) || k < 1 || k > Math.min(n, d)) throw new Error(`pca: components must be in [1, min(N, D) = ${Math.min(n, d)}], got ${k}`);
  const xc = centre(x, n, d);
  const gramTrick = d > n;
  const components = new Float64Array(k * d);
  const coords = new Float64Array(n * k);
  let values: Float64Array;
  let iterations: number;
  if (gramTrick) {
    const e = topEigen(await gramOnGpu(rt, xc, n, d), n, k);
    ({ values, iterations } = e);
    for (let c = 0; c < k; c++) {
      const s = Math.sqrt(Math.max(values[c], 0)) || 1;
      for (let j = 0; j < d; j++) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += xc[i * d + j] * e.vectors[i * k + c];
        components[c * d + j] = acc / s;
      }
    }
  } else {
    const xt = new Float64Array(d * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xt[j * n + i] = xc[i * d + j];
    const e = topEigen(await gramOnGpu(rt, xt, d, n), d, k);
    ({ values, iterations } = e);
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) components[c * d + j] = e.vectors[j * k + c];
  }
  fixSigns(components, k, d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += xc[i * d + j] * components[c * d + j];
      coords[i * k + c] = acc;
    }
  }
  let total = 0;
  for (const v of xc) total += v * v;
  const variance = values.map((v) => v / Math.max(n - 1, 1));
  const explained = values.map((v) => (total > 0 ? v / total : 0));
  return { coords, components, variance, explained, method: gramTrick ? 'gram' : 'covariance', iterations };
}

/** Each component's largest-magnitude entry made positive (a deterministic sign). */
function fixSigns(comp: Float64Array, k: number, d: number): void {
  for (let c = 0; c < k; c++) {
    let best = 0;
    for (let j = 1; j < d; j++) if (Math.abs(comp[c * d + j]) > Math.abs(comp[c * d + best])) best = j;
    if (comp[c * d + best] < 0) for (let j = 0; j < d; j++) comp[c * d + j] = -comp[c * d + j];
  }
}
