import { describe, expect, it } from 'vitest';
import { colorDecorrelation, COLOR_MEAN, fourierPlan, irfft2, irfft2Backward, LUCID_FFT, spectrumShape, toValidRgb, toValidRgbBackward, type IrfftOptions, type RgbOptions } from '../engine/ops/fft';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import type { Shape } from './helpers/views';
import * as ref from './reference/fft';

// Even and odd sizes on both axes (odd W has no Nyquist column), 1 x 1, and a 64 x 48 image.
const CASES: [Shape, IrfftOptions][] = [
  [[1, 1, 1, 1], {}],
  [[1, 3, 8, 8], {}],
  [[2, 3, 7, 9], LUCID_FFT],
  [[1, 3, 6, 5], { decayPower: 1.5, outScale: 2 }],
  [[1, 2, 16, 12], LUCID_FFT],
  [[1, 3, 64, 48], LUCID_FFT],
];

const refOpts = (o: IrfftOptions): [number | null, number] => [o.decayPower ?? null, o.outScale ?? 1];

describe('irfft2 and its adjoint', () => {
  it('follows numpy\'s irfft2: the DC bin is a constant 1/HW, bin (0, 1) a cosine of weight 2, the imaginary DC part is ignored', async () => {
    const rt = await gpu();
    const [h, w] = [4, 6];
    const plan = fourierPlan(rt, h, w);
    const spec = new Float32Array(size(spectrumShape(1, 2, h, w)));
    spec[0] = 1;                      // plane 0: Re X[0, 0]
    spec[1] = 5;                      // Im X[0, 0], dropped by the real inverse
    spec[h * 4 * 2 + 2] = 1;          // plane 1: Re X[0, 1]
    const x = await track(irfft2(upload(rt, spec, spectrumShape(1, 2, h, w), 'spectrum'), plan)).read();
    const want = Float64Array.from({ length: 2 * h * w }, (_, i) => (i < h * w ? 1 / (h * w) : (2 * Math.cos((2 * Math.PI * (i % w)) / w)) / (h * w)));
    expectClose(x, want, FORWARD_TOL, [1, 2, h, w], 'irfft2 of unit bins');
    plan.dispose();
  });

  it.each(CASES)('%j %j: forward and backward match the naive float64 DFT', async (shape, o) => {
    const rt = await gpu();
    const [n, c, h, w] = shape;
    const plan = fourierPlan(rt, h, w);
    const sshape = spectrumShape(n, c, h, w);
    const sd = randomArray(size(sshape), 1, 0.05);
    const x = track(irfft2(upload(rt, sd, sshape, 'spectrum'), plan, o));
    const [dp, os] = refOpts(o);
    const want = ref.irfft2(n * c, h, w, sd, dp, os);
    const peak = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expectClose(await x.read(), want, { atol: 1e-5 * peak, rtol: 1e-4 }, shape, 'irfft2');
    const dxd = randomArray(size(shape), 2);
    const ds = track(irfft2Backward(upload(rt, dxd, shape, 'dx'), plan, o));
    const wantDs = ref.irfft2Backward(n * c, h, w, dxd, dp, os);
    const peakDs = wantDs.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expectClose(await ds.read(), wantDs, { atol: 1e-5 * peakDs, rtol: GRAD_TOL.rtol }, sshape, 'irfft2 adjoint');
    plan.dispose();
  });

  it.each(CASES.slice(1, 5))('%j %j: the reference adjoint matches finite differences', (shape, o) => {
    const [n, c, h, w] = shape;
    const [dp, os] = refOpts(o);
    const spec = toF64(randomArray(size(spectrumShape(n, c, h, w)), 3, 0.05));
    const dx = randomArray(size(shape), 4);
    const [idx, num] = numericGrad(lossFn((v) => ref.irfft2(n * c, h, w, v, dp, os), dx), spec, 48);
    expectClose(pick(ref.irfft2Backward(n * c, h, w, dx, dp, os), idx), num, { atol: 1e-6, rtol: 1e-5 }, undefined, 'irfft2 fd');
  });
});

describe('toValidRgb (colour decorrelation + sigmoid)', () => {
  it.each([
    [{}, [2, 3, 5, 7]],
    [{ sigmoid: false }, [1, 3, 4, 4]],
    [{ decorrelate: false }, [1, 3, 3, 5]],
  ] as [RgbOptions, readonly number[]][])('%j %j: forward, backward and finite differences', async (o, shape) => {
    const rt = await gpu();
    const s = shape as unknown as Shape;
    const [n, , h, w] = s;
    const td = randomArray(size(s), 5, 2);
    const t = upload(rt, td, s, 't');
    const r = colorDecorrelation(o.decorrelate ?? true);
    const sig = o.sigmoid ?? true;
    const offset = (o.decorrelate ?? true) && !sig ? COLOR_MEAN : [0, 0, 0];
    const y = track(toValidRgb(t, o));
    const yRef = ref.toRgb(n, h * w, td, r, offset, sig);
    expectClose(await y.read(), yRef, FORWARD_TOL, s, 'rgb');
    const dyd = randomArray(size(s), 6);
    const dt = track(toValidRgbBackward(y, upload(rt, dyd, s, 'dy'), o));
    const dtRef = ref.toRgbBackward(n, h * w, yRef, dyd, r, sig);
    expectClose(await dt.read(), dtRef, GRAD_TOL, s, 'rgb backward');
    const [idx, num] = numericGrad(lossFn((v) => ref.toRgb(n, h * w, v, r, offset, sig), dyd), toF64(td));
    expectClose(pick(dtRef, idx), num, FD_TOL, undefined, 'rgb fd');
  });

  it('the decorrelation matrix has largest column norm 1', () => {
    const r = colorDecorrelation();
    const norms = [0, 1, 2].map((j) => Math.hypot(r[0][j], r[1][j], r[2][j]));
    expect(Math.max(...norms)).toBeCloseTo(1, 12);
  });
});

describe('the whole Fourier parameterization x = sigmoid(decorrelate(irfft2(S X) / 4))', () => {
  it('GPU backward (sigmoid, decorrelation, irfft2 adjoint) matches finite differences of the float64 forward', async () => {
    const rt = await gpu();
    const [n, h, w] = [1, 6, 7];
    const shape: Shape = [n, 3, h, w];
    const sshape = spectrumShape(n, 3, h, w);
    const plan = fourierPlan(rt, h, w);
    const sd = randomArray(size(sshape), 7, 0.05);
    const dyd = randomArray(size(shape), 8);
    const r = colorDecorrelation();
    const forward = (v: ArrayLike<number>) => ref.toRgb(n, h * w, ref.irfft2(3 * n, h, w, v, 1, 0.25), r, [0, 0, 0], true);
    const t = track(irfft2(upload(rt, sd, sshape, 'spectrum'), plan, LUCID_FFT));
    const y = track(toValidRgb(t));
    expectClose(await y.read(), forward(sd), FORWARD_TOL, shape, 'parameterized image');
    const dt = track(toValidRgbBackward(y, upload(rt, dyd, shape, 'dy')));
    const ds = await track(irfft2Backward(dt, plan, LUCID_FFT)).read();
    const [idx, num] = numericGrad(lossFn(forward, dyd), toF64(sd), 64, 1e-4);
    expectClose(pick(ds, idx), num, GRAD_TOL, undefined, 'd spectrum vs fd');
    plan.dispose();
  });

  it('refuses mismatched shapes with clear errors', async () => {
    const rt = await gpu();
    const plan = fourierPlan(rt, 4, 6);
    expect(() => irfft2(upload(rt, randomArray(48, 9), [1, 1, 4, 12], 's'), plan)).toThrow(/irfft2: spectrum has shape \(1, 1, 4, 12\), expected \(1, 1, 4, 8\)/);
    expect(() => irfft2Backward(upload(rt, randomArray(20, 9), [1, 1, 4, 5], 'dx'), plan)).toThrow(/dx \(1, 1, 4, 5\) does not match the plan's 4x6 images/);
    expect(() => toValidRgb(upload(rt, randomArray(8, 9), [1, 2, 2, 2], 't'))).toThrow(/toValidRgb: t must have 3 channels/);
    expect(() => fourierPlan(rt, 0, 4)).toThrow(/fourierPlan: h must be a positive integer, got 0/);
    plan.dispose();
  });
});
