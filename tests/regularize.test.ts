import { describe, expect, it } from 'vitest';
import { regularize, regularizeScratch, type RegularizeOptions } from '../engine/ops/regularize';
import { EXACT, expectClose, FORWARD_TOL } from './helpers/close';
import { gpu, size, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { hostedView, type Shape } from './helpers/views';
import * as ref from './reference/regularize';

const LO = [-0.6, -0.5, -0.4];
const HI = [0.5, 0.6, 0.7];

const CASES: [string, Shape, RegularizeOptions][] = [
  ['decay + blur + both clips + range', [1, 3, 13, 11], { decay: 0.1, blurSigma: 0.5, pNorm: 30, pContrib: 40, lo: LO, hi: HI }],
  ['no blur step, both clips', [2, 3, 9, 17], { decay: 0.01, pNorm: 20, pContrib: 50, lo: LO, hi: HI }],
  ['blur sigma 1 (radius 3), norm clip only', [2, 3, 7, 70], { decay: 1e-3, blurSigma: 1, pNorm: 50 }],
  ['contribution clip only, no range', [1, 3, 16, 16], { pContrib: 60 }],
  ['decay and range only', [1, 3, 5, 5], { decay: 0.5, lo: LO, hi: HI }],
  ['one channel, blur and clips', [2, 1, 11, 9], { decay: 0.2, blurSigma: 0.7, pNorm: 10, pContrib: 90, lo: -0.3, hi: 0.3 }],
];

function refOptions(o: RegularizeOptions, c: number): ref.RegularizeRef {
  const per = (v: number | readonly number[] | undefined) => (v === undefined ? undefined : typeof v === 'number' ? Array<number>(c).fill(v) : v);
  return { decay: o.decay ?? 0, blurSigma: o.blurSigma ?? 0, pNorm: o.pNorm, pContrib: o.pContrib, lo: per(o.lo), hi: per(o.hi) };
}

describe('regularize (fused) vs the unfused float64 sequence', () => {
  it.each(CASES)('%s %j', async (_name, shape, o) => {
    const rt = await gpu();
    const xd = randomArray(size(shape), 1);
    const gd = randomArray(size(shape), 2, 3);
    const x = upload(rt, xd, shape, 'x');
    regularize(x, upload(rt, gd, shape, 'g'), o);
    const got = await x.read();
    const want = ref.regularize(shape, xd, gd, refOptions(o, shape[1]));
    expectClose(got, want, FORWARD_TOL, shape, 'regularized x');
    // The clips did something (the test can fail): zeroed pixels are as many as the percentiles say.
    if (o.pNorm !== undefined && !o.lo) expect(got.filter((v) => v === 0).length).toBeGreaterThan(0);
  });

  it('works on channel views of x and g, leaving the host\'s other channels alone', async () => {
    const rt = await gpu();
    const shape: Shape = [2, 3, 8, 6];
    const x = hostedView(rt, shape, 3);
    const g = hostedView(rt, shape, 4, undefined, 'g');
    const xd = await x.view.read();
    const gd = await g.view.read();
    const o: RegularizeOptions = { decay: 0.05, blurSigma: 0.5, pNorm: 25, pContrib: 25, lo: LO, hi: HI };
    regularize(x.view, g.view, o);
    expectClose(await x.view.read(), ref.regularize(shape, xd, gd, refOptions(o, 3)), FORWARD_TOL, shape, 'view');
    const host = await x.host.read();
    const hw = 48;
    for (const n of [0, 1]) for (const c of [0, 4]) expectClose(host.slice((n * 5 + c) * hw, (n * 5 + c + 1) * hw), x.data.slice((n * 5 + c) * hw, (n * 5 + c + 1) * hw), EXACT, undefined, `host channel ${c}`);
  });

  it.each([
    [{ decay: 0.1, blurSigma: 0.5, pNorm: 30, pContrib: 40, lo: LO, hi: HI }, ['gaussian_blur', 'regularize', 'reduce', 'regularize', 'reduce', 'regularize']],
    [{ decay: 0.1, pContrib: 40, lo: LO, hi: HI }, ['regularize', 'reduce', 'regularize']],
    [{ decay: 0.1, pNorm: 40 }, ['regularize', 'reduce', 'regularize']],
    [{ decay: 0.1, blurSigma: 1, lo: LO, hi: HI }, ['gaussian_blur', 'regularize']],
    [{ decay: 0.1, lo: LO, hi: HI }, ['regularize']],
  ] as [RegularizeOptions, string[]][])('%j runs as the passes %j', async (o, families) => {
    const rt = await gpu();
    const shape: Shape = [1, 3, 6, 6];
    const x = upload(rt, randomArray(size(shape), 10), shape, 'x');
    const g = upload(rt, randomArray(size(shape), 11), shape, 'g');
    const p = await rt.profile(() => regularize(x, g, o));
    expect(p.records.map((r) => r.family)).toEqual(families);
  });

  it('refuses bad inputs with clear errors', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(75, 5), [1, 3, 5, 5], 'x');
    const g = upload(rt, randomArray(75, 6), [1, 3, 5, 5], 'g');
    expect(() => regularize(x, upload(rt, randomArray(60, 6), [1, 3, 4, 5], 'g2'), {})).toThrow(/regularize: g has shape \(1, 3, 4, 5\), expected \(1, 3, 5, 5\)/);
    expect(() => regularize(x, g, { pNorm: 120 })).toThrow(/pNorm must be a percentile in \[0, 100\], got 120/);
    expect(() => regularize(x, g, { decay: -1 })).toThrow(/decay must be in \[0, 1\], got -1/);
    expect(() => regularize(x, g, { lo: [0, 0], hi: 1 })).toThrow(/lo must be a number or 3 numbers/);
    expect(() => regularize(x, g, { lo: 0 })).toThrow(/lo and hi go together/);
    expect(() => regularize(x, x, {})).toThrow(/shares a buffer/);
    expect(() => regularize(upload(rt, randomArray(125, 7), [1, 5, 5, 5], 'x5'), upload(rt, randomArray(125, 7), [1, 5, 5, 5]), {})).toThrow(/x has 5 channels, at most 4/);
  });

  it('1,000 calls with scratch leave the pool flat', async () => {
    const rt = await gpu();
    const shape: Shape = [1, 3, 8, 8];
    const x = upload(rt, randomArray(size(shape), 8), shape, 'x');
    const g = upload(rt, randomArray(size(shape), 9), shape, 'g');
    const scratch = regularizeScratch(x);
    const o: RegularizeOptions = { decay: 1e-3, blurSigma: 0.5, pNorm: 10, pContrib: 10, lo: -1, hi: 1 };
    regularize(x, g, o, scratch);
    await rt.sync();
    const before = rt.pool.counters;
    for (let i = 0; i < 1000; i++) regularize(x, g, i % 4 === 0 ? o : { ...o, blurSigma: 0 }, scratch);
    await rt.sync();
    const after = rt.pool.counters;
    expect([after.bytesAllocated, after.bytesInUse]).toEqual([before.bytesAllocated, before.bytesInUse]);
    scratch.dispose();
  });
});
