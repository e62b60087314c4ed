import { afterAll, describe, expect, it } from 'vitest';
import { GEMV_MAX_BATCH, linearVariant } from '../engine/kernels/linear';
import { linear, LINEAR_VARIANTS, linearBackwardInput, linearBackwardWeights } from '../engine/ops/linear';
import { Runtime } from '../engine/runtime';
import { Tensor, type Shape4 } from '../engine/tensor';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import { expectView, prefilled } from './helpers/view_writes';
import * as ref from './reference/linear';

/**
 * x shape (N, C, H, W) and Out: In/Out not multiples of 4 or 64, batches 1/3/8, a conv output;
 * In multiples of 4 reach the vec4 entry points of the GPU kernels, and Out past a few dozen rows
 * splits the GPU backward to the input over several workgroups (summed by sum.wgsl).
 */
const GRID: [Shape4, number][] = [
  [[1, 1, 1, 1], 1],
  [[3, 3, 1, 1], 17],
  [[8, 17, 1, 1], 3],
  [[1, 257, 1, 1], 67],
  [[3, 1000, 1, 1], 5],
  [[8, 3, 5, 7], 66],
  [[2, 256, 6, 6], 5], // AlexNet pool5 output (9216 features), small Out
  [[17, 13, 1, 1], 9], // N past the 16-sample tile
  [[2, 130, 1, 1], 200], // scalar split-K, 4 splits of 50 rows
  [[12, 64, 1, 1], 100], // vec4 split-K, two sample blocks of 8 (the second part-filled)
  [[1, 12, 1, 1], 6], // batch 1, In 12: an odd number of vec4 steps (the register kernel's tail step)
];

/** The variant an adapter of this kind runs by default at batch n. */
function nativeVariant(rt: Runtime, n: number): string {
  const plain = Object.assign(Object.create(Runtime.prototype) as Runtime, { gpu: rt.gpu, variants: {} });
  return linearVariant(plain, n);
}

const runtimes = new Map<string, Promise<Runtime>>();
/** A runtime that forces one linear variant. */
function variantRt(variant: string): Promise<Runtime> {
  let rt = runtimes.get(variant);
  if (!rt) runtimes.set(variant, (rt = Runtime.create({ variants: { linear: variant } })));
  return rt;
}
afterAll(async () => {
  for (const rt of runtimes.values()) (await rt).destroy();
});

/** Weights scaled by 1/sqrt(In) so outputs stay O(1) for every In. */
function weights(outF: number, inF: number, seed: number): Float32Array {
  return randomArray(outF * inF, seed, 1 / Math.sqrt(inF));
}

describe.each(LINEAR_VARIANTS)('linear forward, variant %s', (variant) => {
  it.each(GRID)('x %j -> Out %i, bias, with and without fused relu', async (xShape, outF) => {
    const rt = await variantRt(variant);
    const [n] = xShape;
    const inF = size(xShape) / n;
    const x = randomArray(size(xShape), 1);
    const w = weights(outF, inF, 2);
    const b = randomArray(outF, 3);
    const xt = upload(rt, x, xShape);
    const wt = upload(rt, w, [outF, inF, 1, 1], 'w');
    const bt = upload(rt, b, [1, outF, 1, 1], 'b');
    for (const relu of [false, true]) {
      const y = track(linear(xt, wt, bt, { relu }));
      expect(y.shape).toEqual([n, outF, 1, 1]);
      expectClose(await y.read(), ref.linearForward(x, w, b, n, inF, outF, relu), FORWARD_TOL, y.shape, `linear y relu=${relu}`);
    }
    const y = track(linear(xt, wt, null));
    expectClose(await y.read(), ref.linearForward(x, w, null, n, inF, outF), FORWARD_TOL, y.shape, 'linear y, no bias');
  });

  it.each([
    [37, 15, 3, 2, 3], // odd weight offset, x view at element 6 of 30 per sample: scalar paths
    [40, 16, 4, 4, 3], // aligned weight offset, In 20, x view at element 16 of 64 per sample: vec4 paths
    [40, 16, 4, 4, 1], // the same at batch 1 (the register kernel's vec4 GEMV)
  ])('reads x as a channel view and weight and bias at arena offset %i, and writes into a view (x channels %i from %i, %i pixels, N = %i)', async (wAt, xc, c0, hw, n) => {
    const rt = await variantRt(variant);
    const outF = 7;
    const inF = 5 * hw;
    const big = randomArray(n * xc * hw, 4);
    const xt = upload(rt, big, [n, xc, 1, hw]).channels(c0, 5);
    const x = new Float32Array(n * inF);
    for (let s = 0; s < n; s++) x.set(big.subarray(s * xc * hw + c0 * hw, s * xc * hw + c0 * hw + inF), s * inF);
    const w = weights(outF, inF, 5);
    const b = randomArray(outF, 6);
    const arena = new Float32Array(wAt + w.length + 3 + b.length);
    arena.set(w, wAt);
    arena.set(b, wAt + w.length + 3);
    const at = upload(rt, arena, [1, arena.length, 1, 1], 'arena');
    const wt = Tensor.view(rt, at.buffer, [outF, inF, 1, 1], 'w view', wAt);
    const bt = Tensor.view(rt, at.buffer, [1, outF, 1, 1], 'b view', wAt + w.length + 3);
    const yBig = prefilled(rt, [n, outF + 4, 1, 1], 7, 'y big');
    linear(xt, wt, bt, { relu: true }, yBig.t.channels(2, outF));
    expectView(await yBig.t.read(), yBig.t.shape, 2, outF, ref.linearForward(x, w, b, n, inF, outF, true), yBig.init, FORWARD_TOL, 'linear into a view');

    // Backward to the input from the same weight view, into a channel view of a larger gradient.
    const dy = randomArray(n * outF, 8);
    const dxBig = prefilled(rt, [n, xc, 1, hw], 9, 'dx big');
    linearBackwardInput(upload(rt, dy, [n, outF, 1, 1], 'dy'), wt, [n, 5, 1, hw], dxBig.t.channels(c0, 5));
    expectView(await dxBig.t.read(), dxBig.t.shape, c0, 5, ref.linearBackwardInput(dy, w, n, inF, outF), dxBig.init, GRAD_TOL, 'linear dx into a view');

    // Backward to the weights from the channel view of x.
    const { dw } = linearBackwardWeights(xt, upload(rt, dy, [n, outF, 1, 1], 'dy'), false);
    track(dw);
    expectClose(await dw.read(), ref.linearBackwardWeights(x, dy, n, inF, outF).dw, GRAD_TOL, dw.shape, 'linear dw from a view');
  });

  it('with 8 output rows per workgroup (gemv at N > 2 and Out >= 4096), the last one part-filled', async () => {
    const rt = await variantRt(variant);
    const [n, inF, outF] = [3, 20, 4099];
    const x = randomArray(n * inF, 11);
    const w = weights(outF, inF, 12);
    const b = randomArray(outF, 13);
    const y = track(linear(upload(rt, x, [n, inF, 1, 1]), upload(rt, w, [outF, inF, 1, 1], 'w'), upload(rt, b, [1, outF, 1, 1], 'b'), { relu: true }));
    expectClose(await y.read(), ref.linearForward(x, w, b, n, inF, outF, true), FORWARD_TOL, y.shape, `fc ${inF}->${outF}`);
  });

  it.each([
    [9216, 4096],
    [4096, 1000],
  ])('AlexNet FC %i -> %i at N = 1 (full shape for the adapter\'s own variant)', async (inF, fullOut) => {
    const rt = await variantRt(variant);
    // A variant meant for the other kind of adapter is slow here (the tiled GEMM's barriers on
    // SwiftShader take ~13 s for 9216 -> 4096): it keeps the full In but at most 512 outputs.
    const native = variant === nativeVariant(rt, 1);
    const outF = native ? fullOut : Math.min(fullOut, 512);
    const x = randomArray(inF, 8);
    const w = weights(outF, inF, 9);
    const b = randomArray(outF, 10);
    const y = track(linear(upload(rt, x, [1, inF, 1, 1]), upload(rt, w, [outF, inF, 1, 1], 'w'), upload(rt, b, [1, outF, 1, 1], 'b'), { relu: true }));
    expectClose(await y.read(), ref.linearForward(x, w, b, 1, inF, outF, true), FORWARD_TOL, y.shape, `fc ${inF}->${outF}`);
  });
});

describe.each(LINEAR_VARIANTS)('linear backward, variant %s', (variant) => {
  it.each(GRID)('dx for x %j, Out %i matches the reference', async (xShape, outF) => {
    const rt = await variantRt(variant);
    const [n] = xShape;
    const inF = size(xShape) / n;
    const w = weights(outF, inF, 11);
    const dy = randomArray(n * outF, 12);
    const dx = track(linearBackwardInput(upload(rt, dy, [n, outF, 1, 1], 'dy'), upload(rt, w, [outF, inF, 1, 1], 'w'), xShape));
    expect(dx.shape).toEqual(xShape);
    expectClose(await dx.read(), ref.linearBackwardInput(dy, w, n, inF, outF), GRAD_TOL, xShape, 'linear dx');
  });

  it.each(GRID)('dw, db for x %j, Out %i match the reference', async (xShape, outF) => {
    const rt = await variantRt(variant);
    const [n] = xShape;
    const inF = size(xShape) / n;
    const x = randomArray(size(xShape), 13);
    const dy = randomArray(n * outF, 14);
    const { dw, db } = linearBackwardWeights(upload(rt, x, xShape), upload(rt, dy, [n, outF, 1, 1], 'dy'), true);
    track(dw);
    track(db!);
    const want = ref.linearBackwardWeights(x, dy, n, inF, outF);
    expectClose(await dw.read(), want.dw, GRAD_TOL, dw.shape, 'linear dw');
    expectClose(await db!.read(), want.db, GRAD_TOL, db!.shape, 'linear db');
    const noBias = linearBackwardWeights(upload(rt, x, xShape), upload(rt, dy, [n, outF, 1, 1], 'dy'), false);
    track(noBias.dw);
    expect(noBias.db).toBeNull();
  });

  it('dx into a channel view; dw from a channel view of x and a view of dy', async () => {
    const rt = await variantRt(variant);
    const [n, inF, outF] = [3, 12, 5];
    const w = weights(outF, inF, 15);
    const dyBig = randomArray(n * (outF + 2), 16);
    const dy = new Float32Array(n * outF);
    for (let s = 0; s < n; s++) dy.set(dyBig.subarray(s * (outF + 2) + 1, s * (outF + 2) + 1 + outF), s * outF);
    const dyView = upload(rt, dyBig, [n, outF + 2, 1, 1], 'dy big').channels(1, outF);
    const dxBig = prefilled(rt, [n, 5, 2, 3], 17, 'dx big');
    linearBackwardInput(dyView, upload(rt, w, [outF, inF, 1, 1], 'w'), [n, 2, 2, 3], dxBig.t.channels(2, 2));
    expectView(await dxBig.t.read(), dxBig.t.shape, 2, 2, ref.linearBackwardInput(dy, w, n, inF, outF), dxBig.init, GRAD_TOL, 'linear dx into a view');

    const xBig = randomArray(n * 5 * 6, 18);
    const x = new Float32Array(n * inF);
    for (let s = 0; s < n; s++) x.set(xBig.subarray(s * 30 + 6, s * 30 + 6 + inF), s * inF);
    const { dw, db } = linearBackwardWeights(upload(rt, xBig, [n, 5, 2, 3]).channels(1, 2), dyView, true);
    track(dw);
    track(db!);
    const wantW = ref.linearBackwardWeights(x, dy, n, inF, outF);
    expectClose(await dw.read(), wantW.dw, GRAD_TOL, dw.shape, 'linear dw from views');
    expectClose(await db!.read(), wantW.db, GRAD_TOL, db!.shape, 'linear db from views');
  });

  it.each([
    [9216, 4096],
    [4096, 1000],
  ])('AlexNet FC %i -> %i at N = 2 (Out capped at 1000): dx, and dw and db for 512 outputs', async (inF, fullOut) => {
    const rt = await variantRt(variant);
    const n = 2;
    const outF = Math.min(fullOut, 1000);
    const w = weights(outF, inF, 25);
    const dy = randomArray(n * outF, 26);
    const dx = track(linearBackwardInput(upload(rt, dy, [n, outF, 1, 1], 'dy'), upload(rt, w, [outF, inF, 1, 1], 'w'), [n, inF, 1, 1]));
    expectClose(await dx.read(), ref.linearBackwardInput(dy, w, n, inF, outF), GRAD_TOL, dx.shape, `fc ${inF}->${outF} dx`);
    const dwOut = Math.min(outF, 512);
    const x = randomArray(n * inF, 27);
    const dySmall = randomArray(n * dwOut, 28);
    const { dw, db } = linearBackwardWeights(upload(rt, x, [n, inF, 1, 1]), upload(rt, dySmall, [n, dwOut, 1, 1], 'dy'), true);
    track(dw);
    track(db!);
    const want = ref.linearBackwardWeights(x, dySmall, n, inF, dwOut);
    expectClose(await dw.read(), want.dw, GRAD_TOL, dw.shape, `fc ${inF}->${dwOut} dw`);
    expectClose(await db!.read(), want.db, GRAD_TOL, db!.shape, `fc ${inF}->${dwOut} db`);
  });
});

describe('linear variant choice', () => {
  it(`runs 'register' on CPU adapters; on GPUs 'gemv' up to N = ${GEMV_MAX_BATCH}, 'tiled' above; a forced variant wins`, () => {
    const fake = (kind: 'cpu' | 'gpu', variants: Record<string, string> = {}): Runtime =>
      Object.assign(Object.create(Runtime.prototype) as Runtime, { gpu: { kind }, variants });
    expect([1, 8, 9, 64].map((n) => linearVariant(fake('cpu'), n))).toEqual(['register', 'register', 'register', 'register']);
    expect([1, GEMV_MAX_BATCH, GEMV_MAX_BATCH + 1, 64].map((n) => linearVariant(fake('gpu'), n))).toEqual(['gemv', 'gemv', 'tiled', 'tiled']);
    expect(linearVariant(fake('gpu', { linear: 'register' }), 1)).toBe('register');
    expect(() => linearVariant(fake('cpu', { linear: 'nope' }), 1)).toThrow(/linear: unknown variant 'nope'/);
  });
});

describe('linear backward', () => {
  describe('reference backward vs finite differences', () => {
    const [n, inF, outF] = [3, 7, 5];
    const x = toF64(randomArray(n * inF, 21));
    const w = toF64(randomArray(outF * inF, 22));
    const b = toF64(randomArray(outF, 23));
    const dy = toF64(randomArray(n * outF, 24));
    it('dx', () => {
      const [idx, num] = numericGrad(lossFn((v) => ref.linearForward(v, w, b, n, inF, outF), dy), x);
      expectClose(pick(ref.linearBackwardInput(dy, w, n, inF, outF), idx), num, FD_TOL);
    });
    it('dw', () => {
      const [idx, num] = numericGrad(lossFn((v) => ref.linearForward(x, v, b, n, inF, outF), dy), w);
      expectClose(pick(ref.linearBackwardWeights(x, dy, n, inF, outF).dw, idx), num, FD_TOL);
    });
    it('db', () => {
      const [idx, num] = numericGrad(lossFn((v) => ref.linearForward(x, w, v, n, inF, outF), dy), b);
      expectClose(pick(ref.linearBackwardWeights(x, dy, n, inF, outF).db, idx), num, FD_TOL);
    });
  });
});

describe('linear validation', () => {
  it('names the op, the tensor and both shapes', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(2 * 12, 1), [2, 3, 2, 2]);
    const w = upload(rt, randomArray(5 * 11, 2), [5, 11, 1, 1], 'w');
    expect(() => linear(x, w, null)).toThrow(/linear: weight has shape \(5, 11, 1, 1\), expected \(5, 12, 1, 1\): In = 12 from x \(2, 3, 2, 2\)/);
    const w12 = upload(rt, randomArray(5 * 12, 2), [5, 12, 1, 1], 'w');
    const b = upload(rt, randomArray(4, 3), [1, 4, 1, 1], 'b');
    expect(() => linear(x, w12, b)).toThrow(/linear: bias has shape \(1, 4, 1, 1\), expected \(1, 5, 1, 1\)/);
    const out = upload(rt, randomArray(10, 4), [1, 10, 1, 1], 'out');
    expect(() => linear(x, w12, null, {}, out)).toThrow(/linear: out has shape \(1, 10, 1, 1\), expected \(2, 5, 1, 1\)/);
    const dy = upload(rt, randomArray(2 * 4, 5), [2, 4, 1, 1], 'dy');
    expect(() => linearBackwardInput(dy, w12, [2, 3, 2, 2])).toThrow(/linearBackwardInput: dy has shape \(2, 4, 1, 1\), expected \(2, 5, 1, 1\)/);
    expect(() => linearBackwardInput(dy, w12, [2, 3, 2, 3])).toThrow(/linearBackwardInput: weight has shape \(5, 12, 1, 1\), expected \(5, 18, 1, 1\)/);
    expect(() => linearBackwardWeights(x, upload(rt, randomArray(12, 6), [3, 4, 1, 1], 'dy'), true)).toThrow(
      /linearBackwardWeights: dy has shape \(3, 4, 1, 1\), expected \(2, Out, 1, 1\)/,
    );
  });
});
