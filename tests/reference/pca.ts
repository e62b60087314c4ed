// Float64 PCA reference: the full eigendecomposition of the covariance by cyclic Jacobi rotations,
// and the largest principal angle between two subspaces.

/** Eigenvalues (descending) and eigenvectors (columns of an m x m row-major matrix) of symmetric a. */
export function jacobiEigen(a0: ArrayLike<number>, m: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(a0);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += a[p * m + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * m + q] - a[p * m + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = a[k * m + p];
          const akq = a[k * m + q];
          a[k * m + p] = c * akp - s * akq;
          a[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const apk = a[p * m + k];
          const aqk = a[q * m + k];
          a[p * m + k] = c * apk - s * aqk;
          a[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p];
          const vkq = v[k * m + q];
          v[k * m + p] = c * vkp - s * vkq;
          v[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => a[j * m + j] - a[i * m + i]);
  const values = Float64Array.from(order, (i) => a[i * m + i]);
  const vectors = new Float64Array(m * m);
  for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) vectors[r * m + c] = v[r * m + order[c]];
  return { values, vectors };
}

/** The covariance (d x d, divided by n - 1) of x (n, d). */
export function covariance(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
  const c = new Float64Array(d * d);
  for (let i = 0; i < n; i++) for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) c[p * d + q] += ((x[i * d + p] - mean[p]) * (x[i * d + q] - mean[q])) / (n - 1);
  return c;
}

/**
 * The sine of the largest principal angle between span(U) and span(V), U and V given as k rows
 * of d (orthonormal): sqrt(1 - sigma_min^2) with sigma the singular values of U V^T.
 */
export function subspaceSine(u: ArrayLike<number>, v: ArrayLike<number>, k: number, d: number): number {
  const m = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) for (let j = 0; j < d; j++) m[a * k + b] += u[a * d + j] * v[b * d + j];
  const mtm = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) for (let c = 0; c < k; c++) mtm[a * k + b] += m[c * k + a] * m[c * k + b];
  const smallest = jacobiEigen(mtm, k).values[k - 1];
  return Math.sqrt(Math.max(0, 1 - smallest));
}
