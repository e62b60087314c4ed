import { describe, expect, it } from 'vitest';
import { percentile, percentileRank, reduceBatch, reduceChannels, reduceSamples, type ChannelReduction, type SampleReduction } from '../engine/ops/reduce';
import { EXACT, expectClose, FORWARD_TOL, type Tolerance } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { expectedHost, hostedView, type Shape } from './helpers/views';
import * as ref from './reference/reduce';

/** Sums over up to ~10^4 float32 terms of magnitude <= 1 (partial sums in a fixed tree). */
const SUM_TOL: Tolerance = { atol: 1e-4, rtol: 1e-4 };

const SHAPES: Shape[] = [
  [1, 1, 1, 1],
  [2, 3, 7, 5],
  [3, 5, 13, 11],
  [2, 16, 17, 17], // 4,624 per sample: every thread of the workgroup loops
  [1, 3, 64, 61], // an image-sized sample, 11,712 values
];

const SAMPLE_KINDS: [SampleReduction, Tolerance][] = [
  ['sum', SUM_TOL], ['mean', FORWARD_TOL], ['meanAbs', FORWARD_TOL], ['sumSquares', SUM_TOL],
  ['l2', FORWARD_TOL], ['min', EXACT], ['max', EXACT], ['maxAbs', EXACT],
];

describe('per-sample reductions -> (N, 1, 1, 1)', () => {
  it.each(SHAPES.flatMap((s) => SAMPLE_KINDS.map(([k, tol]) => [k, s, tol] as const)))('%s %j matches the float64 reference', async (kind, shape, tol) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 21);
    const y = track(reduceSamples(upload(rt, x, shape), kind));
    expect(y.shape).toEqual([shape[0], 1, 1, 1]);
    expectClose(await y.read(), ref.reduceSamples(shape, x, kind), tol, y.shape, kind);
  });

  it('reads a channel view and writes into a channel view of a (N, 3, 1, 1) host', async () => {
    const rt = await gpu();
    const shape: Shape = [3, 4, 9, 7];
    const x = hostedView(rt, shape, 22);
    const out = hostedView(rt, [3, 1, 1, 1], 23);
    reduceSamples(x.view, 'l2', out.view);
    const want = ref.reduceSamples(shape, await x.view.read(), 'l2');
    expectClose(await out.host.read(), expectedHost(out, [3, 1, 1, 1], want), FORWARD_TOL, [3, 3, 1, 1], 'l2 into view');
  });

  it('is deterministic: equal inputs give bit-identical sums', async () => {
    const rt = await gpu();
    const shape: Shape = [2, 16, 17, 17];
    const x = upload(rt, randomArray(size(shape), 24, 100), shape);
    const a = new Uint32Array((await track(reduceSamples(x, 'sum')).read()).buffer);
    const b = new Uint32Array((await track(reduceSamples(x, 'sum')).read()).buffer);
    expectClose(b, a, EXACT, undefined, 'sum bits');
  });
});

describe('reductions over channels and over samples', () => {
  const KINDS: [ChannelReduction, Tolerance][] = [['maxAbs', EXACT], ['max', EXACT], ['sum', FORWARD_TOL], ['mean', FORWARD_TOL], ['meanAbs', FORWARD_TOL]];
  it.each(SHAPES.flatMap((s) => KINDS.map(([k, tol]) => [k, s, tol] as const)))('over channels %s %j -> (N, 1, H, W)', async (kind, shape, tol) => {
    const rt = await gpu();
    const x = hostedView(rt, shape, 25);
    const y = track(reduceChannels(x.view, kind));
    expect(y.shape).toEqual([shape[0], 1, shape[2], shape[3]]);
    expectClose(await y.read(), ref.reduceChannels(shape, await x.view.read(), kind), tol, y.shape, `channels ${kind}`);
  });

  it.each(SHAPES.flatMap((s) => (['mean', 'sum'] as const).map((k) => [k, s] as const)))('over samples %s %j -> (1, C, H, W), into a view', async (kind, shape) => {
    const rt = await gpu();
    const x = hostedView(rt, shape, 26);
    const oshape: Shape = [1, shape[1], shape[2], shape[3]];
    const out = hostedView(rt, oshape, 27);
    reduceBatch(x.view, kind, out.view);
    const want = ref.reduceBatch(shape, await x.view.read(), kind);
    expectClose(await out.host.read(), expectedHost(out, oshape, want), FORWARD_TOL, [1, out.hostC, shape[2], shape[3]], `batch ${kind}`);
  });
});

describe('percentile (exact radix select)', () => {
  it.each(SHAPES.flatMap((s) => [0, 10, 50, 90, 99.5, 100].map((p) => [p, s] as const)))('p = %d of |x| %j equals the exact CPU quantile', async (p, shape) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 28);
    const y = track(percentile(upload(rt, x, shape), p));
    expectClose(await y.read(), ref.percentile(shape, x, p, true), EXACT, y.shape, `p${p}`);
  });

  it.each([[0], [25], [50], [75], [100]])('p = %d of signed x with many ties, on a view', async (p) => {
    const rt = await gpu();
    const shape: Shape = [3, 5, 13, 11];
    // 9 distinct values, negatives included: ties straddle every quantile.
    const x = Float32Array.from(randomArray(size(shape), 29), (v) => Math.round(v * 4) / 4 - 0.125);
    const v = hostedView(rt, shape, 30, x);
    const y = track(percentile(v.view, p, { abs: false }));
    expectClose(await y.read(), ref.percentile(shape, x, p, false), EXACT, y.shape, `signed p${p}`);
  });

  it('the rank of a percentile is the inverted-CDF index, clamped', () => {
    expect([0, 10, 30, 50, 100].map((p) => percentileRank(10, p))).toEqual([0, 0, 2, 4, 9]);
    expect(percentileRank(1, 50)).toBe(0);
  });

  it('rejects unknown reductions and percentages outside [0, 100]', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(24, 1), [1, 2, 3, 4]);
    expect(() => reduceSamples(x, 'median' as SampleReduction)).toThrow(/reduceSamples: unknown reduction 'median' \(sum, meanAbs, sumSquares, l2, min, max, maxAbs, mean\)/);
    expect(() => percentile(x, 101)).toThrow(/percentile: p must be a percentage in \[0, 100\], got 101/);
    const bad = upload(rt, randomArray(4, 2), [1, 4, 1, 1], 'bad out');
    expect(() => reduceSamples(x, 'sum', bad)).toThrow(/reduceSamples: out has shape \(1, 4, 1, 1\), expected \(1, 1, 1, 1\)/);
    expect(() => reduceSamples(bad, 'sum', bad.channels(3, 1, 'bad[3]'))).toThrow(/reduceSamples: out 'bad\[3\]' shares a buffer with input 'bad out'/);
  });
});
