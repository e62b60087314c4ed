import { describe, expect, it } from 'vitest';
import { addScaled, axpy, clamp, fill, mul, scale } from '../engine/ops/elementwise';
import { reduceSamples } from '../engine/ops/reduce';
import { EXACT, expectClose, FORWARD_TOL } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { expectedHost, hostedView, type Shape } from './helpers/views';
import * as ref from './reference/elementwise';

const SHAPES: Shape[] = [
  [1, 1, 1, 1],
  [2, 3, 7, 5],
  [3, 5, 13, 11],
  [2, 16, 17, 17], // 4,624 per sample: more than one row of workgroups
];

const full = (n: number, v: number) => new Float64Array(n).fill(v);

describe('axpy', () => {
  it.each(SHAPES)('(%i, %i, %i, %i) out = a x + b y matches the reference', async (...shape) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 1);
    const y = randomArray(size(shape), 2);
    const out = track(axpy(0.7, upload(rt, x, shape), -1.3, upload(rt, y, shape, 'y')));
    expectClose(await out.read(), ref.axpy(shape, full(shape[0], 0.7), x, full(shape[0], -1.3), y), FORWARD_TOL, shape, 'axpy');
  });

  it.each(SHAPES)('(%i, %i, %i, %i) reads and writes channel views, other channels untouched', async (...shape) => {
    const rt = await gpu();
    const x = hostedView(rt, shape, 3);
    const y = hostedView(rt, shape, 4);
    const out = hostedView(rt, shape, 5);
    axpy(2.5, x.view, 0.25, y.view, out.view);
    const want = ref.axpy(shape, full(shape[0], 2.5), await x.view.read(), full(shape[0], 0.25), await y.view.read());
    expectClose(await out.host.read(), expectedHost(out, shape, want), FORWARD_TOL, [shape[0], out.hostC, shape[2], shape[3]], 'axpy into view');
    expectClose(await x.host.read(), x.data, EXACT, undefined, 'x host unchanged');
  });

  it('runs in place when out is y or x', async () => {
    const rt = await gpu();
    const shape: Shape = [2, 3, 7, 5];
    const xd = randomArray(size(shape), 6);
    const yd = randomArray(size(shape), 7);
    const x = upload(rt, xd, shape);
    const y = upload(rt, yd, shape, 'y');
    axpy(0.5, x, 3, y, y);
    const y1 = ref.axpy(shape, full(2, 0.5), xd, full(2, 3), yd);
    expectClose(await y.read(), y1, FORWARD_TOL, shape, 'axpy out = y');
    axpy(-2, x, 1, y, x);
    expectClose(await x.read(), ref.axpy(shape, full(2, -2), xd, full(2, 1), y1), FORWARD_TOL, shape, 'axpy out = x');
  });

  it('normalized step x += lr * g / mean|g| per sample in two dispatches, nothing read back', async () => {
    const rt = await gpu();
    const shape: Shape = [3, 3, 9, 7];
    const xd = randomArray(size(shape), 8);
    const gd = randomArray(size(shape), 9, 4);
    const x = upload(rt, xd, shape);
    const g = upload(rt, gd, shape, 'g');
    const m = track(reduceSamples(g, 'meanAbs'));
    addScaled(x, { tensor: m, perSample: true, scale: 0.1, reciprocal: true, eps: 1e-8 }, g);
    const per = size(shape) / 3;
    const lr = Float64Array.from({ length: 3 }, (_, n) => 0.1 / (gd.slice(n * per, (n + 1) * per).reduce((a, v) => a + Math.abs(v), 0) / per + 1e-8));
    expectClose(await x.read(), ref.axpy(shape, lr, gd, full(3, 1), xd), FORWARD_TOL, shape, 'normalized step');
  });

  it('takes b from a GPU scalar shared by all samples (dense index into a small tensor)', async () => {
    const rt = await gpu();
    const shape: Shape = [2, 2, 3, 3];
    const xd = randomArray(size(shape), 10);
    const yd = randomArray(size(shape), 11);
    const s = upload(rt, Float32Array.from([5, 6, 7, -0.75, 9, 10]), [2, 3, 1, 1], 'scalars');
    const out = track(axpy(1, upload(rt, xd, shape), { tensor: s.channels(1, 2), index: 3, scale: 2 }, upload(rt, yd, shape, 'y')));
    // s.channels(1, 2) is (2, 2, 1, 1) = [[6, 7], [9, 10]]: dense index 3 is 10.
    expectClose(await out.read(), ref.axpy(shape, full(2, 1), xd, full(2, 20), yd), FORWARD_TOL, shape, 'axpy gpu b');
  });
});

describe('scale, fill, mul, clamp', () => {
  it.each(SHAPES)('(%i, %i, %i, %i) scale and mul match the reference, out of place and in place', async (...shape) => {
    const rt = await gpu();
    const xd = randomArray(size(shape), 12);
    const yd = randomArray(size(shape), 13);
    const x = upload(rt, xd, shape);
    const y = upload(rt, yd, shape, 'y');
    const n = shape[0];
    expectClose(await track(scale(x, -3.5)).read(), ref.axpy(shape, full(n, -3.5), xd, full(n, 0), yd), FORWARD_TOL, shape, 'scale');
    expectClose(await track(mul(x, y)).read(), ref.mul(shape, full(n, 1), xd, yd), FORWARD_TOL, shape, 'mul');
    mul(x, y, y);
    const xy = ref.mul(shape, full(n, 1), xd, yd);
    expectClose(await y.read(), xy, FORWARD_TOL, shape, 'mul in place');
    scale(y, 2, y);
    expectClose(await y.read(), xy.map((v) => 2 * v), FORWARD_TOL, shape, 'scale in place');
  });

  it('fill writes a number into a view, or a per-sample GPU scalar, and nothing else', async () => {
    const rt = await gpu();
    const shape: Shape = [3, 4, 5, 6];
    const t = hostedView(rt, shape, 14);
    fill(t.view, 0.375);
    expectClose(await t.host.read(), expectedHost(t, shape, full(size(shape), 0.375)), EXACT, undefined, 'fill view');
    const s = upload(rt, Float32Array.from([1.5, -2, 4]), [3, 1, 1, 1], 'per-sample values');
    fill(t.view, { tensor: s, perSample: true });
    const per = size(shape) / 3;
    const want = Float64Array.from({ length: size(shape) }, (_, i) => [1.5, -2, 4][Math.floor(i / per)]);
    expectClose(await t.host.read(), expectedHost(t, shape, want), EXACT, undefined, 'fill per sample');
  });

  it.each([
    [[2, 3, 7, 5], [-0.5, -0.2, 0], [0.5, 0.3, 0.1]],
    [[1, 5, 4, 3], -0.25, 0.5],
    [[2, 1, 9, 9], [-0.1], 0.2],
  ] as const)('clamp %j to lo %j, hi %j matches the reference exactly (also in place on a view)', async (shape, lo, hi) => {
    const rt = await gpu();
    const s = shape as unknown as Shape;
    const c = s[1];
    const los = typeof lo === 'number' ? Array(c).fill(lo) : [...lo];
    const his = typeof hi === 'number' ? Array(c).fill(hi) : [...hi];
    const xd = randomArray(size(s), 15);
    const want = ref.clamp(s, xd, los, his);
    expectClose(await track(clamp(upload(rt, xd, s), lo, hi)).read(), want, EXACT, s, 'clamp');
    const v = hostedView(rt, s, 16, xd);
    clamp(v.view, lo, hi, v.view);
    expectClose(await v.host.read(), expectedHost(v, s, want), EXACT, undefined, 'clamp in place on view');
  });

  it('rejects bad shapes, aliasing, scalars and bounds with clear errors', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(24, 1), [1, 2, 3, 4]);
    const y = upload(rt, randomArray(24, 2), [1, 2, 4, 3], 'y');
    expect(() => axpy(1, x, 1, y)).toThrow(/axpy: y has shape \(1, 2, 4, 3\), expected \(1, 2, 3, 4\)/);
    const host = upload(rt, randomArray(48, 3), [1, 4, 3, 4], 'host');
    expect(() => scale(host.channels(0, 2), 2, host.channels(1, 2))).toThrow(/scale: out .* is another view of x's buffer/);
    expect(() => scale(x, Number.NaN)).toThrow(/scale: a must be a finite number, got NaN/);
    const s = upload(rt, Float32Array.from([1, 2]), [2, 1, 1, 1], 's');
    expect(() => scale(x, { tensor: s, index: 2 })).toThrow(/scale: a.index 2 is outside a.tensor \(2, 1, 1, 1\) \(2 values\)/);
    expect(() => scale(s, { tensor: s, index: 1 }, s)).toThrow(/scale: out 's' shares a buffer with input 's'/);
    expect(() => scale(x, { tensor: s, perSample: true })).toThrow(/scale: a.tensor \(2, 1, 1, 1\) has 2 samples, perSample needs 1/);
    expect(() => clamp(x, [0, 0, 0], 1)).toThrow(/clamp: lo must be a number or one value per channel \(2\), got \[0, 0, 0\]/);
    expect(() => clamp(x, 1, 0)).toThrow(/clamp: lo 1 > hi 0 for channel 0/);
  });
});
