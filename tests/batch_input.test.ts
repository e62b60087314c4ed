import { describe, expect, it } from 'vitest';
import { broadcastSamples, maskBlend, occludeBatch } from '../engine/ops/batch_input';
import { EXACT, expectClose, FORWARD_TOL, type Tolerance } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { distinctArray, randomArray } from './helpers/random';
import { expectedHost, hostedView, type Shape } from './helpers/views';
import * as ref from './reference/batch_input';

/**
 * GPU noise (float32 log / cos) vs the float64 Box-Muller of the same hash. log's absolute error
 * near u1 = 1 is amplified by the sqrt, so noise values near 0 carry an absolute error of ~1e-3.
 */
const NOISE_TOL: Tolerance = { atol: 2e-3, rtol: 1e-4 };

const IMAGES: Shape[] = [
  [1, 1, 1, 1],
  [1, 3, 7, 5],
  [1, 3, 23, 19],
  [1, 5, 13, 11],
];

describe('broadcastSamples', () => {
  it.each(IMAGES)('(%i, %i, %i, %i) integrated-gradients path base + a_k (x - base), into a view', async (...shape) => {
    const rt = await gpu();
    const n = 5;
    const xd = randomArray(size(shape), 31);
    const bd = randomArray(size(shape), 32);
    const alphas = Float32Array.from({ length: n }, (_, k) => (k + 0.5) / n);
    const oshape: Shape = [n, shape[1], shape[2], shape[3]];
    const out = hostedView(rt, oshape, 33);
    broadcastSamples(upload(rt, xd, shape), n, { scaleX: alphas, base: upload(rt, bd, shape, 'base'), out: out.view });
    const want = ref.broadcast(xd, bd, alphas, alphas.map((a) => 1 - a), new Float64Array(n), 0);
    expectClose(await out.host.read(), expectedHost(out, oshape, want), FORWARD_TOL, [n, out.hostC, shape[2], shape[3]], 'ig path');
  });

  it('SmoothGrad noise matches the float64 hash and is N(0, sigma^2)', async () => {
    const rt = await gpu();
    const shape: Shape = [1, 3, 64, 64];
    const sigma = [0.5, 1, 2, 0.25];
    const xd = randomArray(size(shape), 34);
    const y = track(broadcastSamples(upload(rt, xd, shape), 4, { noiseSigma: sigma, seed: 1234 }));
    const got = await y.read();
    expectClose(got, ref.broadcast(xd, null, [1, 1, 1, 1], [0, 0, 0, 0], sigma, 1234), NOISE_TOL, y.shape, 'noise');
    const per = size(shape);
    const z = Float64Array.from(got, (v, i) => (v - xd[i % per]) / sigma[Math.floor(i / per)]);
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const std = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
    // 49,152 draws: the mean's standard error is 0.0045, the std's 0.0032.
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.015);
    const tail = z.filter((v) => Math.abs(v) > 1.96).length / z.length;
    expect(Math.abs(tail - 0.05)).toBeLessThan(0.006);
  });

  it('equal seeds give bit-identical batches, different seeds and samples differ', async () => {
    const rt = await gpu();
    const shape: Shape = [1, 3, 16, 16];
    const x = upload(rt, randomArray(size(shape), 35), shape);
    const draw = async (seed: number) => new Uint32Array((await track(broadcastSamples(x, 2, { noiseSigma: 0.3, seed })).read()).buffer);
    const [a, b, c] = [await draw(7), await draw(7), await draw(8)];
    expectClose(b, a, EXACT, undefined, 'same seed');
    expect(c.filter((v, i) => v !== a[i]).length).toBeGreaterThan(0.99 * a.length);
    const per = size(shape);
    expect(a.subarray(per).filter((v, i) => v !== a[i]).length).toBeGreaterThan(0.99 * per);
  });

  it('rejects bad shapes and per-sample arrays', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(24, 1), [1, 2, 3, 4]);
    const two = upload(rt, randomArray(48, 2), [2, 2, 3, 4], 'two');
    expect(() => broadcastSamples(two, 3)).toThrow(/broadcastSamples: x has shape \(2, 2, 3, 4\), expected \(1, 2, 3, 4\)/);
    expect(() => broadcastSamples(x, 3, { scaleX: [1, 2] })).toThrow(/broadcastSamples: scaleX has 2 values, expected one per sample \(3\)/);
    expect(() => broadcastSamples(x, 2, { noiseSigma: -1 })).toThrow(/broadcastSamples: noiseSigma must be >= 0/);
    expect(() => broadcastSamples(x, 2, { scaleBase: [1, 1] })).toThrow(/broadcastSamples: scaleBase was given without a base/);
    expect(() => broadcastSamples(x, 2, { out: two.channels(0, 1) })).toThrow(/broadcastSamples: out has shape \(2, 1, 3, 4\), expected \(2, 2, 3, 4\)/);
  });
});

describe('occludeBatch', () => {
  it.each(IMAGES)('(%i, %i, %i, %i) fills each window, clipped at the borders, into a view', async (...shape) => {
    const rt = await gpu();
    const [, c, h, w] = shape;
    const windows = [
      { y: 0, x: 0, size: 2 },
      { y: -1, x: w - 1, size: 3 }, // hangs over the top and the right
      { y: Math.floor(h / 2), x: Math.floor(w / 3), size: 4 },
      { y: h - 1, x: -2, size: 5 },
      { y: h + 3, x: 0, size: 2 }, // entirely outside: a plain copy
    ];
    const fill = Array.from({ length: c }, (_, i) => 0.5 - i);
    const xd = randomArray(size(shape), 36);
    const oshape: Shape = [windows.length, c, h, w];
    const out = hostedView(rt, oshape, 37);
    occludeBatch(upload(rt, xd, shape), windows, fill, out.view);
    const want = ref.occlude([c, h, w], xd, windows, fill);
    expectClose(await out.host.read(), expectedHost(out, oshape, want), EXACT, [windows.length, out.hostC, h, w], 'occlusion');
  });

  it('rejects fractional windows and a fill of the wrong length', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(3 * 16, 1), [1, 3, 4, 4]);
    expect(() => occludeBatch(x, [{ y: 0.5, x: 0, size: 2 }], 0)).toThrow(/occludeBatch: window 0 must have integer y, x and a positive integer size, got \{ y: 0.5, x: 0, size: 2 \}/);
    expect(() => occludeBatch(x, [{ y: 0, x: 0, size: 2 }], [1, 2])).toThrow(/occludeBatch: fill has 2 values, expected one per channel \(3\)/);
    expect(() => occludeBatch(x, [], 0)).toThrow(/occludeBatch: windows is empty/);
  });
});

describe('maskBlend (deletion / insertion)', () => {
  /** A random permutation of 0 .. n-1 (distinctArray is a permuted grid of n values in (-1, 1)). */
  const permutation = (n: number, seed: number) => Array.from(distinctArray(n, seed), (v) => Math.round(((v + 1) * n) / 2 - 0.5));


  it.each(IMAGES.flatMap((s) => (['deletion', 'insertion'] as const).flatMap((m) => (['f32', 'u32'] as const).map((f) => [m, f, s] as const))))('%s with %s ranks %j matches the reference exactly', async (mode, format, shape) => {
    const rt = await gpu();
    const [, c, h, w] = shape;
    const hw = h * w;
    const ranks = permutation(hw, 38);
    const rankData = format === 'f32' ? Float32Array.from(ranks) : new Float32Array(Uint32Array.from(ranks).buffer);
    const t = [0, 1, Math.floor(hw / 3), hw / 2 + 0.5, hw];
    const xd = randomArray(size(shape), 39);
    const bd = randomArray(size(shape), 40);
    const oshape: Shape = [t.length, c, h, w];
    const out = hostedView(rt, oshape, 41);
    maskBlend(upload(rt, xd, shape), upload(rt, bd, shape, 'base'), upload(rt, rankData, [1, 1, h, w], 'rank'), t, { mode, rankFormat: format, out: out.view });
    const want = ref.maskBlend(xd, bd, ranks, t, mode === 'insertion');
    expectClose(await out.host.read(), expectedHost(out, oshape, want), EXACT, [t.length, out.hostC, h, w], `${mode} ${format}`);
  });

  it('rejects a rank map of the wrong shape, unknown modes and aliased outputs', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(3 * 16, 1), [1, 3, 4, 4]);
    const base = upload(rt, randomArray(3 * 16, 2), [1, 3, 4, 4], 'base');
    const rank = upload(rt, randomArray(16, 3), [1, 1, 4, 4], 'rank');
    expect(() => maskBlend(x, base, x, [1])).toThrow(/maskBlend: rank has shape \(1, 3, 4, 4\), expected \(1, 1, 4, 4\)/);
    expect(() => maskBlend(x, base, rank, [1], { mode: 'erase' as 'deletion' })).toThrow(/maskBlend: unknown mode 'erase' \(deletion, insertion\)/);
    const other = upload(rt, randomArray(3 * 16, 4), [1, 3, 4, 4], 'other');
    expect(() => maskBlend(x, base, rank, [1, 2], { out: other })).toThrow(/maskBlend: out has shape \(1, 3, 4, 4\), expected \(2, 3, 4, 4\)/);
    const host = upload(rt, randomArray(6 * 16, 5), [1, 6, 4, 4], 'host');
    expect(() => maskBlend(host.channels(0, 3), base, rank, [1], { out: host.channels(3, 3, 'host[3:6]') })).toThrow(/maskBlend: out 'host\[3:6\]' shares a buffer with input 'host\[c0:3\]'; give it separate memory/);
  });
});
