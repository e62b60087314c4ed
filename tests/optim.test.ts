import { describe, expect, it } from 'vitest';
import { axpy } from '../engine/ops/elementwise';
import { fourierPlan, irfft2, irfft2Backward, LUCID_FFT, spectrumShape, toValidRgb, toValidRgbBackward } from '../engine/ops/fft';
import { adamState, adamStep, normalizedStep } from '../engine/ops/optim';
import { reduceSamples } from '../engine/ops/reduce';
import { Tensor } from '../engine/tensor';
import { expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { hostedView, type Shape } from './helpers/views';
import * as ref from './reference/optim';

describe('adamStep', () => {
  it.each([
    [[1, 3, 5, 7], false],
    [[2, 3, 17, 19], true],
  ] as const)('%j (maximize %s): 5 steps match the float64 reference, x, m and v', async (shape, maximize) => {
    const rt = await gpu();
    const s = shape as unknown as Shape;
    const x0 = randomArray(size(s), 1);
    const gs = Array.from({ length: 5 }, (_, k) => randomArray(size(s), 10 + k, 0.5));
    const x = upload(rt, x0, s, 'x');
    const state = adamState(x);
    for (const g of gs) adamStep(x, track(Tensor.fromData(rt, g, s, 'g')), state, { lr: 0.05, maximize });
    const want = ref.adam(x0, gs, 0.05, 0.9, 0.999, 1e-8, maximize ? 1 : -1);
    expect(state.step).toBe(5);
    expectClose(await x.read(), want.x, FORWARD_TOL, s, 'adam x');
    expectClose(await state.m.read(), want.m, FORWARD_TOL, s, 'adam m');
    expectClose(await state.v.read(), want.v, GRAD_TOL, s, 'adam v');
    state.dispose();
  });

  it('updates a channel view in place and leaves the host\'s other channels alone', async () => {
    const rt = await gpu();
    const shape: Shape = [2, 3, 4, 5];
    const x = hostedView(rt, shape, 3);
    const g = hostedView(rt, shape, 4, undefined, 'g');
    const x0 = await x.view.read();
    const state = adamState(x.view);
    adamStep(x.view, g.view, state, { lr: 0.1, beta1: 0.8, beta2: 0.99, eps: 1e-6 });
    expectClose(await x.view.read(), ref.adam(x0, [await g.view.read()], 0.1, 0.8, 0.99, 1e-6, -1).x, FORWARD_TOL, shape, 'adam view');
    const host = await x.host.read();
    const hw = 20;
    for (const n of [0, 1]) for (const c of [0, 4]) expectClose(host.slice((n * 5 + c) * hw, (n * 5 + c + 1) * hw), x.data.slice((n * 5 + c) * hw, (n * 5 + c + 1) * hw), { atol: 0, rtol: 0 }, undefined, `host channel ${c}`);
    state.dispose();
  });

  it('refuses bad shapes and hyperparameters with clear errors', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(24, 5), [1, 2, 3, 4], 'x');
    const state = adamState(x);
    expect(() => adamStep(x, upload(rt, randomArray(24, 6), [1, 2, 4, 3], 'g'), state, { lr: 1 })).toThrow(/adamStep: g has shape \(1, 2, 4, 3\), expected \(1, 2, 3, 4\)/);
    expect(() => adamStep(x, x, state, { lr: 1 })).toThrow(/adamStep: out 'x' shares a buffer with input 'x'/);
    const g = upload(rt, randomArray(24, 7), [1, 2, 3, 4], 'g');
    expect(() => adamStep(x, g, state, { lr: 1, beta1: 1 })).toThrow(/beta1 must be in \[0, 1\), got 1/);
    expect(state.step).toBe(0);
    state.dispose();
  });

  it('1,000 steps leave the pool flat', async () => {
    const WARM_STEPS = 64;
    const rt = await gpu();
    const x = upload(rt, randomArray(3 * 8 * 8, 8), [1, 3, 8, 8], 'x');
    const g = upload(rt, randomArray(3 * 8 * 8, 9), [1, 3, 8, 8], 'g');
    const state = adamState(x);
    // Warm-up past the bind-group cache's 16 uniform versions per entry (each step's bias
    // correction is new uniform data), so its one fallback uniform arena exists before counting.
    for (let i = 0; i < WARM_STEPS; i++) adamStep(x, g, state, { lr: 0.01 });
    await rt.sync();
    const before = rt.pool.counters;
    for (let i = 0; i < 1000; i++) adamStep(x, g, state, { lr: 0.01 });
    await rt.sync();
    const after = rt.pool.counters;
    expect([after.bytesAllocated, after.bytesInUse]).toEqual([before.bytesAllocated, before.bytesInUse]);
    expect(state.step).toBe(1000 + WARM_STEPS);
    state.dispose();
  });
});

describe('normalizedStep', () => {
  it('x += lr * g / mean|g| per sample matches the reference, with given scratch', async () => {
    const rt = await gpu();
    const shape: Shape = [3, 3, 9, 7];
    const xd = randomArray(size(shape), 11);
    const gd = randomArray(size(shape), 12, 3);
    const x = upload(rt, xd, shape);
    const meanAbs = track(Tensor.empty(rt, [3, 1, 1, 1], 'meanAbs'));
    normalizedStep(x, upload(rt, gd, shape, 'g'), 1.5, { meanAbs });
    expectClose(await x.read(), ref.normalizedStep(xd, gd, size(shape) / 3, 1.5, 1e-8), FORWARD_TOL, shape, 'normalized step');
  });
});

describe('Adam on the Fourier parameterization (the pieces compose with no read-back or allocation)', () => {
  it('fits sigmoid(decorrelate(irfft2(S X) / 4)) to a target image: the squared error falls at least a hundredfold in 100 steps', async () => {
    const rt = await gpu();
    const [h, w] = [12, 10];
    const shape: Shape = [1, 3, h, w];
    const plan = fourierPlan(rt, h, w);
    const target = upload(rt, Float32Array.from(randomArray(size(shape), 20), (v) => 0.5 + 0.3 * v), shape, 'target');
    const spectrum = upload(rt, randomArray(size(spectrumShape(1, 3, h, w)), 21, 0.01), spectrumShape(1, 3, h, w), 'spectrum');
    const t = track(Tensor.empty(rt, shape, 't'));
    const y = track(Tensor.empty(rt, shape, 'y'));
    const dy = track(Tensor.empty(rt, shape, 'dy'));
    const dt = track(Tensor.empty(rt, shape, 'dt'));
    const ds = track(Tensor.empty(rt, spectrum.shape, 'ds'));
    const loss = track(Tensor.empty(rt, [1, 1, 1, 1], 'loss'));
    const state = adamState(spectrum);
    const step = () => {
      toValidRgb(irfft2(spectrum, plan, LUCID_FFT, t), {}, y);
      axpy(2, y, -2, target, dy);
      reduceSamples(dy, 'sumSquares', loss);
      irfft2Backward(toValidRgbBackward(y, dy, {}, dt), plan, LUCID_FFT, ds);
      adamStep(spectrum, ds, state, { lr: 0.2 });
    };
    step();
    const first = (await loss.read())[0];
    const before = rt.pool.counters;
    for (let i = 0; i < 99; i++) step();
    const last = (await loss.read())[0];
    const after = rt.pool.counters;
    expect(after.bytesAllocated).toBe(before.bytesAllocated);
    expect(last).toBeLessThan(first / 100);
    state.dispose();
    plan.dispose();
  });
});
