import { afterAll, describe, expect, it } from 'vitest';
import { METRICS, pairwise, PAIRWISE_VARIANTS, type Metric } from '../engine/ops/pairwise';
import type { PairwiseVariant } from '../engine/kernels/pairwise';
import { Runtime } from '../engine/runtime';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { hostedView } from './helpers/views';
import * as ref from './reference/pairwise';

// (Na, Nb, C, H, W): rows off the 4-block and the 16-tile, 1 x 1, a spatial row, a D larger than
// one tile walk, and a gallery-like 40 x 70 x 100 (SqueezeNet pool10 would be 1000 wide).
const SHAPES: [number, number, number, number, number][] = [
  [1, 1, 1, 1, 1],
  [3, 5, 7, 1, 1],
  [17, 9, 4, 2, 3],
  [16, 16, 16, 1, 1],
  [33, 18, 37, 1, 1],
  [40, 70, 100, 1, 1],
];

const runtimes = Object.fromEntries(PAIRWISE_VARIANTS.map((v) => [v, Runtime.create({ variants: { pairwise: v } })])) as Record<PairwiseVariant, Promise<Runtime>>;
afterAll(async () => {
  for (const rt of Object.values(runtimes)) (await rt).destroy();
});

describe.each(PAIRWISE_VARIANTS)('pairwise distances, %s variant', (variant) => {
  it.each(SHAPES)('Na %i, Nb %i, D = %i x %i x %i: every metric matches the float64 reference', async (na, nb, c, h, w) => {
    const rt = await runtimes[variant];
    const ad = randomArray(na * c * h * w, 1);
    const bd = randomArray(nb * c * h * w, 2);
    const a = upload(rt, ad, [na, c, h, w], 'a');
    const b = upload(rt, bd, [nb, c, h, w], 'b');
    for (const metric of METRICS) {
      const d = track(pairwise(a, b, metric));
      expect(d.shape).toEqual([na, nb, 1, 1]);
      expectClose(await d.read(), ref.pairwise(ad, bd, na, nb, c * h * w, metric), FORWARD_TOL, [na, nb], `${metric} distances`);
    }
  });

  it('reads channel views and gives zero self-distances', async () => {
    const rt = await runtimes[variant];
    const shape = [6, 5, 2, 3] as const;
    const v = hostedView(rt, [...shape], 3);
    const vd = await v.view.read();
    const d = await track(pairwise(v.view, v.view, 'l2')).read();
    expectClose(d, ref.pairwise(vd, vd, 6, 6, 30, 'l2'), FORWARD_TOL, [6, 6], 'l2 of a view');
    for (let i = 0; i < 6; i++) expect(d[i * 6 + i]).toBe(0);
  });
});

describe('pairwise: dispatch folding (runtimes folding at 8 workgroups per axis)', () => {
  it.each(PAIRWISE_VARIANTS)('%s: 20 x 450 rows (9 direct groups, 29 x 2 tiles) fold and still match', async (variant) => {
    const rt = await Runtime.create({ maxWorkgroupsPerDimension: 8, variants: { pairwise: variant } });
    try {
      const [ad, bd] = [randomArray(20 * 3, 21), randomArray(450 * 3, 22)];
      const d = pairwise(upload(rt, ad, [20, 3, 1, 1], 'a'), upload(rt, bd, [450, 3, 1, 1], 'b'), 'sqeuclidean');
      expectClose(await d.read(), ref.pairwise(ad, bd, 20, 450, 3, 'sqeuclidean'), FORWARD_TOL, [20, 450], 'folded distances');
      d.dispose();
    } finally {
      rt.destroy();
    }
  });
});

describe('pairwise: errors', () => {
  it('names mismatched rows and unknown metrics', async () => {
    const rt = await runtimes.direct;
    const a = upload(rt, randomArray(12, 4), [2, 6, 1, 1], 'a');
    const b = upload(rt, randomArray(15, 5), [3, 5, 1, 1], 'b');
    expect(() => pairwise(a, b)).toThrow(/a \(2, 6, 1, 1\) has rows of 6 values but b \(3, 5, 1, 1\) has 5/);
    expect(() => pairwise(a, a, 'manhattan' as Metric)).toThrow(/unknown metric 'manhattan' \(metrics: l2, sqeuclidean, cosine\)/);
    expect(size([2, 6, 1, 1])).toBe(12);
  });
});
