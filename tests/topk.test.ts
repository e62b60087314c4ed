import { afterAll, describe, expect, it } from 'vitest';
import type { TopkVariant } from '../engine/kernels/topk';
import { pairwise } from '../engine/ops/pairwise';
import { topk, TOPK_MAX, TOPK_VARIANTS } from '../engine/ops/topk';
import { Runtime } from '../engine/runtime';
import { EXACT, expectClose } from './helpers/close';
import { track, upload } from './helpers/gpu';
import { randomArray, rng } from './helpers/random';
import { hostedView } from './helpers/views';
import * as refDist from './reference/pairwise';
import * as ref from './reference/topk';

// (rows, columns, k): a single value, k = M, rows and columns off the 32-lane scan, k at its maximum.
const CASES: [number, number, number][] = [
  [1, 1, 1],
  [3, 7, 7],
  [5, 33, 4],
  [17, 100, 10],
  [4, 257, TOPK_MAX],
  [70, 70, 11],
];

const runtimes = Object.fromEntries(TOPK_VARIANTS.map((v) => [v, Runtime.create({ variants: { topk: v } })])) as Record<TopkVariant, Promise<Runtime>>;
afterAll(async () => {
  for (const rt of Object.values(runtimes)) (await rt).destroy();
});

/** Values drawn from a few levels only, so most rows have ties. */
function tied(count: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: count }, () => Math.floor(r() * 5) - 2);
}

describe.each(TOPK_VARIANTS)('topk, %s variant', (variant) => {
  it.each(CASES)('%i rows of %i, k = %i: values and indices equal the brute force (smallest and largest)', async (n, m, k) => {
    const rt = await runtimes[variant];
    const xd = randomArray(n * m, 7);
    const x = upload(rt, xd, [n, m, 1, 1], 'x');
    for (const largest of [false, true]) {
      const { values, indices } = topk(x, k, { largest });
      track(values);
      track(indices);
      const want = ref.topk(xd, n, m, k, largest);
      expectClose(await indices.read(), want.indices, EXACT, [n, k], `indices (largest ${largest})`);
      expectClose(await values.read(), want.values, EXACT, [n, k], `values (largest ${largest})`);
    }
  });

  it('breaks ties by the smaller index and ranks NaN last', async () => {
    const rt = await runtimes[variant];
    const [n, m, k] = [9, 45, 20];
    const xd = tied(n * m, 3);
    xd[2] = NaN;
    xd[m + 5] = NaN;
    const { values, indices } = topk(upload(rt, xd, [n, 5, 3, 3], 'x'), k);
    track(values);
    track(indices);
    const want = ref.topk(xd, n, m, k);
    expectClose(await indices.read(), want.indices, EXACT, [n, k], 'tied indices');
    const last = topk(upload(rt, Float32Array.from([NaN, 2, NaN, 1]), [1, 4, 1, 1], 'nan'), 4);
    expect(Array.from(await track(last.indices).read())).toEqual([3, 1, 0, 2]);
    track(last.values);
  });

  it('selects from a channel view: the nearest rows of a distance matrix', async () => {
    const rt = await runtimes[variant];
    const v = hostedView(rt, [12, 6, 1, 1], 11);
    const vd = await v.view.read();
    const d = track(pairwise(v.view, v.view, 'l2'));
    const { values, indices } = topk(d, 3);
    track(values);
    track(indices);
    const dist = await d.read();
    expectClose(await indices.read(), ref.topk(dist, 12, 12, 3).indices, EXACT, [12, 3], 'neighbour indices');
    // Each row's nearest is itself; the float64 ranking agrees wherever distances are not tied.
    const exact = ref.topk(refDist.pairwise(vd, vd, 12, 12, 6, 'l2'), 12, 12, 3).indices;
    expectClose(await indices.read(), exact, EXACT, [12, 3], 'float64 neighbour indices');
    const viewRows = topk(v.view, 2);
    track(viewRows.values);
    expectClose(await track(viewRows.indices).read(), ref.topk(vd, 12, 6, 2).indices, EXACT, [12, 2], 'indices of a view');
  });
});

describe('topk: dispatch folding (runtimes folding at 3 workgroups per axis)', () => {
  it.each(TOPK_VARIANTS)('%s: 8 rows fold into (3, 3) workgroups and every row is answered', async (variant) => {
    const rt = await Runtime.create({ maxWorkgroupsPerDimension: 3, variants: { topk: variant } });
    try {
      const xd = randomArray(8 * 40, 23);
      const { values, indices } = topk(upload(rt, xd, [8, 40, 1, 1], 'x'), 6);
      expectClose(await indices.read(), ref.topk(xd, 8, 40, 6).indices, EXACT, [8, 6], 'folded indices');
      values.dispose();
      indices.dispose();
    } finally {
      rt.destroy();
    }
  });
});

describe('topk: errors', () => {
  it('names k and the row length', async () => {
    const rt = await runtimes.serial;
    const x = upload(rt, randomArray(10, 1), [2, 5, 1, 1], 'x');
    expect(() => topk(x, 6)).toThrow(/k = 6 is more than the 5 values per row of x \(2, 5, 1, 1\)/);
    expect(() => topk(x, TOPK_MAX + 1)).toThrow(new RegExp(`k must be an integer in \\[1, ${TOPK_MAX}\\], got ${TOPK_MAX + 1}`));
  });
});
