// Seeded random inputs for tests and benchmarks (scripts/bench/, tests/helpers/random.ts re-exports
// them). Values are never exactly zero (|v| >= 1e-3), so masks and argmaxes are well defined and
// a kernel that forgets to write its output cannot pass by accident.

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-scale, scale] with |v| >= 1e-3 * scale, as float32-representable numbers. */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 2 * r() - 1;
    if (Math.abs(v) < 1e-3) v = v < 0 ? -1e-3 : 1e-3;
    out[i] = v * scale;
  }
  return out;
}

/** Distinct values (a random permutation of a spread grid): max-pooling argmax is then unique. */
export function distinctArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = ((idx[i] + 0.5) / n * 2 - 1) * scale;
  return out;
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}
