// One comparison for every kernel test: |actual - expected| <= atol + rtol * |expected|, with a
// failure message that explains itself (first failing indices as (n, c, h, w) with neighbours,
// actual vs expected, max absolute and relative error).

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Forward passes in float32 vs a float64 reference. */
export const FORWARD_TOL: Tolerance = { atol: 1e-5, rtol: 1e-4 };
/** Gradients (longer accumulations) vs the float64 reference backward. */
export const GRAD_TOL: Tolerance = { atol: 1e-4, rtol: 1e-3 };
/** A float64 reference backward vs central finite differences of the float64 forward. */
export const FD_TOL: Tolerance = { atol: 1e-6, rtol: 1e-5 };
export const EXACT: Tolerance = { atol: 0, rtol: 0 };

function indexStr(i: number, shape?: readonly number[]): string {
  if (!shape) return `[${i}]`;
  const idx: number[] = [];
  let r = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(r % shape[d]);
    r = Math.floor(r / shape[d]);
  }
  return `(${idx.join(', ')})`;
}

export function compareClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  shape?: readonly number[],
  label = 'tensor',
): string | null {
  if (actual.length !== expected.length) return `${label}: length ${actual.length}, expected ${expected.length}`;
  const bad: number[] = [];
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const d = Math.abs(a - e);
    if (!Number.isNaN(d)) {
      maxAbs = Math.max(maxAbs, d);
      if (e !== 0) maxRel = Math.max(maxRel, d / Math.abs(e));
    }
    if (!(d <= tol.atol + tol.rtol * Math.abs(e))) bad.push(i);
  }
  if (bad.length === 0) return null;
  const lines = [
    `${label}: ${bad.length} of ${actual.length} elements differ (atol ${tol.atol}, rtol ${tol.rtol}); max abs err ${maxAbs.toExponential(3)}, max rel err ${maxRel.toExponential(3)}${shape ? `, shape (${shape.join(', ')})` : ''}`,
  ];
  for (const i of bad.slice(0, 5)) {
    const near = [i - 1, i + 1].filter((j) => j >= 0 && j < actual.length).map((j) => `${indexStr(j, shape)} ${actual[j]} vs ${expected[j]}`);
    lines.push(`  at ${indexStr(i, shape)}: got ${actual[i]}, expected ${expected[i]}  (neighbours: ${near.join('; ')})`);
  }
  return lines.join('\n');
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, shape?: readonly number[], label?: string): void {
  const msg = compareClose(actual, expected, tol, shape, label);
  if (msg) throw new Error(msg);
}
