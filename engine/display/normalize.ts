// Bringing a float map to [0, 1] for a colour map, with the range it used (for the colour scale):
//   - 'minmax':     (v - min) / (max - min);
//   - 'symmetric':  (v + m) / (2 m), m = max |v|, so 0 sits at 0.5 (for diverging maps);
//   - 'abs':        |v| / max |v|;
//   - 'percentile': clip to the [lo, hi] percentiles (default 1 and 99), then min-max; robust to
//                   the few huge values gradients often have.
// A constant map gives all zeros ('symmetric': all 0.5) rather than NaN.

export const NORMALIZATIONS = ['minmax', 'symmetric', 'abs', 'percentile'] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];

export interface Normalized {
  /** Values in [0, 1]. */
  values: Float32Array;
  /** The data values that map to 0 and to 1. */
  lo: number;
  hi: number;
}

export interface NormalizeOptions {
  /** Percentiles for 'percentile', in [0, 100]. */
  percentiles?: [number, number];
  /** A fixed [lo, hi] instead of one computed from the data (e.g. one scale for many tiles). */
  range?: [number, number];
}

/** Smallest and largest finite value (0, 0 when there is none). */
export function extent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** The p-th percentile (0..100) with linear interpolation between order statistics (NumPy's default). */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile: p must be in [0, 100], got ${p}`);
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return 0;
  const f = (p / 100) * (s.length - 1);
  const k = Math.floor(f);
  return k + 1 < s.length ? s[k] + (s[k + 1] - s[k]) * (f - k) : s[k];
}

/** The range a normalization uses for these values. */
export function normalizeRange(values: ArrayLike<number>, mode: Normalization, opts: NormalizeOptions = {}): [number, number] {
  if (opts.range) return opts.range;
  const [lo, hi] = extent(values);
  switch (mode) {
    case 'minmax': return [lo, hi];
    case 'symmetric': { const m = Math.max(Math.abs(lo), Math.abs(hi)); return [-m, m]; }
    case 'abs': return [0, Math.max(Math.abs(lo), Math.abs(hi))];
    case 'percentile': { const [a, b] = opts.percentiles ?? [1, 99]; return [percentile(values, a), percentile(values, b)]; }
    default: throw new Error(`unknown normalization '${mode}' (normalizations: ${NORMALIZATIONS.join(', ')})`);
  }
}

export function normalize(values: ArrayLike<number>, mode: Normalization = 'minmax', opts: NormalizeOptions = {}): Normalized {
  const [lo, hi] = normalizeRange(values, mode, opts);
  const out = new Float32Array(values.length);
  const span = hi - lo;
  const flat = mode === 'symmetric' ? 0.5 : 0;
  for (let i = 0; i < values.length; i++) {
    const v = mode === 'abs' ? Math.abs(values[i]) : values[i];
    out[i] = span > 0 ? Math.max(0, Math.min(1, (v - lo) / span)) : flat;
  }
  return { values: out, lo, hi };
}
