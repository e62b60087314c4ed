// Dispatch folding for every kernel family. Real sizes whose naive grid passes 65,535 workgroups
// per axis (a 64-channel 1024 x 1024 map) take minutes on SwiftShader, so these runtimes fold at
// FOLD = 17 workgroups per axis (RuntimeOptions.maxWorkgroupsPerDimension) and refuse any unfolded
// axis above it: every family runs at a size whose naive grid exceeds FOLD on some axis, through
// the same folding code (sampleGrid into y, foldGrid's linear layout), against float64 references.

import { afterAll, describe, expect, it } from 'vitest';
import { forceConv2dTiling } from '../engine/kernels/conv2d';
import { concat } from '../engine/ops/concat';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeights } from '../engine/ops/conv2d';
import { gaussianBlur, imageToTensor, tensorToImage } from '../engine/ops/image';
import { linear, linearBackwardInput, linearBackwardWeights } from '../engine/ops/linear';
import { lrn, lrnBackward } from '../engine/ops/lrn';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from '../engine/ops/pool';
import { relu, reluBackward } from '../engine/ops/relu';
import { softmax, softmaxBackward } from '../engine/ops/softmax';
import { sumStack } from '../engine/ops/sum';
import { Runtime } from '../engine/runtime';
import { Tensor, type Shape4 } from '../engine/tensor';
import { EXACT, expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { size } from './helpers/gpu';
import { randomArray } from './helpers/random';
import * as conv from './reference/conv2d';
import { deprocess, gaussianBlur as refBlur, preprocess } from './reference/image';
import * as lin from './reference/linear';
import { lrnBackward as refLrnDx, lrnForward } from './reference/lrn';
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward } from './reference/pool';
import { reluBackward as refReluDx, reluForward } from './reference/relu';
import { softmaxBackward as refSoftmaxDx, softmaxForward } from './reference/softmax';

const FOLD = 17;
const runtimes = new Map<string, Promise<Runtime>>();
/** A runtime folding at FOLD groups per axis, with forced variants. */
function folding(variants: Record<string, string> = {}): Promise<Runtime> {
  const key = JSON.stringify(variants);
  if (!runtimes.has(key)) runtimes.set(key, Runtime.create({ maxWorkgroupsPerDimension: FOLD, variants }));
  return runtimes.get(key)!;
}
afterAll(async () => {
  for (const rt of runtimes.values()) (await rt).destroy();
});

const live: Tensor[] = [];
const up = (rt: Runtime, data: Float32Array, shape: readonly number[]) => keep(Tensor.fromData(rt, data, shape, 'input'));
const keep = <T extends Tensor>(t: T): T => (live.push(t), t);
afterAll(() => live.splice(0).forEach((t) => t.dispose()));

describe(`dispatch folding (every family, runtimes folding at ${FOLD} workgroups per axis)`, () => {
  it('an unfolded grid over the limit is refused, naming the kernel', async () => {
    const rt = await folding();
    const x = up(rt, randomArray(64, 1), [1, 1, 8, 8]);
    const program = rt.program({ name: 'relu', code: (await import('../shaders/relu.wgsl?raw')).default, entryPoint: 'relu_forward', constants: { WG: 1 } });
    expect(() => rt.dispatch(program, { params: { per_sample: 64, ...x.layout('x'), ...x.layout('y') }, x, y: x }, [64, 1, 1])).toThrow(/relu:relu_forward:WG=1: dispatch \(64, 1, 1\) exceeds 17 workgroups per dimension/);
  });

  it('relu, relu backward, concat copy, sum stack (C*H*W / 256 = 20 groups)', async () => {
    const rt = await folding();
    const shape: Shape4 = [2, 3, 40, 41];
    const [xd, dyd] = [randomArray(size(shape), 2), randomArray(size(shape), 3)];
    const [x, dy] = [up(rt, xd, shape), up(rt, dyd, shape)];
    expectClose(await keep(relu(x)).read(), reluForward(xd), EXACT, shape, 'relu');
    expectClose(await keep(reluBackward(x, dy, 'guided')).read(), refReluDx(xd, dyd, 'guided'), EXACT, shape, 'relu backward');
    const y = await keep(concat([x, x])).read();
    expectClose(y.subarray(4920, 9840), xd.subarray(0, 4920), EXACT, undefined, 'concat: sample 0, second slice');
    const stack = up(rt, Float32Array.from([...xd, ...dyd]), [4, 3, 40, 41]);
    expectClose(await keep(sumStack(stack, 2, shape)).read(), xd.map((v, i) => v + dyd[i]), FORWARD_TOL, shape, 'sum stack');
  });

  it('max / average pooling and their backward, LRN and its backward', async () => {
    const rt = await folding();
    const shape: Shape4 = [2, 3, 40, 82];
    const p = { kernel: [1, 2] as [number, number], stride: [1, 2] as [number, number], pad: [0, 0, 0, 0] as [number, number, number, number], ceil: false };
    const xd = randomArray(size(shape), 4);
    const x = up(rt, xd, shape);
    const ref = maxPoolForward(xd, shape, p);
    const { y, argmax } = maxPool2d(x, p);
    keep(y); keep(argmax);
    expectClose(await y.read(), ref.y, EXACT, ref.shape, 'maxpool');
    const dyd = randomArray(size(ref.shape), 5);
    const dy = up(rt, dyd, ref.shape);
    expectClose(await keep(maxPool2dBackward(dy, argmax, shape, p)).read(), maxPoolBackward(dyd, ref.argmax, shape, ref.shape), EXACT, shape, 'maxpool backward');
    expectClose(await keep(avgPool2d(x, p)).read(), avgPoolForward(xd, shape, p), FORWARD_TOL, ref.shape, 'avgpool');
    expectClose(await keep(avgPool2dBackward(dy, shape, p)).read(), avgPoolBackward(dyd, shape, p), FORWARD_TOL, shape, 'avgpool backward');
    const lp = { size: 5, alpha: 1e-4, beta: 0.75, k: 1 };
    const ly = keep(lrn(x, lp));
    expectClose(await ly.read(), lrnForward(xd, shape, lp), FORWARD_TOL, shape, 'lrn');
    const ldy = randomArray(size(shape), 6);
    expectClose(await keep(lrnBackward(x, ly, up(rt, ldy, shape), lp)).read(), refLrnDx(xd, ldy, shape, lp), GRAD_TOL, shape, 'lrn backward');
  });

  it('softmax and its backward (H*W / 64 = 19 groups), gaussian blur, image <-> tensor', async () => {
    const rt = await folding();
    const shape: Shape4 = [2, 3, 34, 35];
    const [xd, dyd] = [randomArray(size(shape), 7), randomArray(size(shape), 8)];
    const y = keep(softmax(up(rt, xd, shape)));
    const yd = await y.read();
    expectClose(yd, softmaxForward(xd, shape), FORWARD_TOL, shape, 'softmax');
    expectClose(await keep(softmaxBackward(y, up(rt, dyd, shape))).read(), refSoftmaxDx(yd, dyd, shape), GRAD_TOL, shape, 'softmax backward');
    const bshape: Shape4 = [2, 2, 24, 25];
    const bd = randomArray(size(bshape), 9);
    expectClose(await keep(gaussianBlur(up(rt, bd, bshape), 1.2)).read(), refBlur(bd, 4, 24, 25, 1.2), FORWARD_TOL, bshape, 'blur');
    // 300 x 20 pixels: ceil(300 / 16) = 19 workgroups on x.
    const [width, height] = [300, 20];
    const rgba = Uint8Array.from({ length: 4 * width * height }, (_, i) => (i * 37) % 256);
    const norm = { channelOrder: 'rgb' as const, scale: 1 / 255, mean: [0.5, 0.4, 0.3] as [number, number, number], std: [0.2, 0.3, 0.4] as [number, number, number] };
    const t = keep(imageToTensor(rt, rgba, width, height, { ...norm, outHeight: height, outWidth: width }));
    const td = await t.read();
    expectClose(td, preprocess(rgba, width, [0, 0, width, height], height, width, norm), FORWARD_TOL, t.shape, 'image to tensor');
    expectClose(await tensorToImage(t, norm), deprocess(td, height, width, norm), { atol: 1, rtol: 0 }, undefined, 'tensor to image');
  });

  it.each([
    ['direct', {}],
    ['tiled', { conv2d: 'tiled' }],
  ] as const)('conv2d (%s): forward, backward to the input (stride 1 and 2), to the weights and bias', async (_name, variants) => {
    const rt = await folding(variants);
    if ('conv2d' in variants) forceConv2dTiling(rt, { tm: 32, tn: 32, splits: 2 });
    // direct: ceil(72 * 8 / 32) = 18 groups on x; 1x1: ceil(600 / 32) = 19; stride-2 dx:
    // ceil(72 * 2 * 8 / 64) = 18; dw: 18 channel blocks on y; tiled: ceil(576 / 32) = 18 tiles on x.
    const cases: conv.ConvGeom[] = [
      { n: 2, cin: 16, h: 24, w: 24, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, pad: [1, 1, 1, 1], groups: 1 },
      { n: 1, cin: 3, h: 72, w: 64, cout: 4, kh: 3, kw: 3, sh: 1, sw: 1, pad: [1, 1, 1, 1], groups: 1 },
      { n: 2, cin: 3, h: 48, w: 100, cout: 4, kh: 1, kw: 1, sh: 1, sw: 1, pad: [0, 0, 0, 0], groups: 1 },
      { n: 1, cin: 2, h: 72, w: 64, cout: 3, kh: 3, kw: 3, sh: 2, sw: 2, pad: [1, 1, 1, 1], groups: 1 },
      { n: 1, cin: 3, h: 6, w: 6, cout: 72, kh: 3, kw: 3, sh: 1, sw: 1, pad: [1, 1, 1, 1], groups: 1 },
    ];
    for (const g of cases) {
      const label = `conv ${g.cin}->${g.cout} ${g.h}x${g.w} k${g.kh} s${g.sh}`;
      const p = { stride: [g.sh, g.sw] as [number, number], pad: g.pad as [number, number, number, number], groups: 1 };
      const xd = randomArray(g.n * g.cin * g.h * g.w, 10);
      const wd = randomArray(g.cout * g.cin * g.kh * g.kw, 11);
      const bd = randomArray(g.cout, 12);
      const x = up(rt, xd, [g.n, g.cin, g.h, g.w]);
      const w = up(rt, wd, [g.cout, g.cin, g.kh, g.kw]);
      const y = keep(conv2d(x, w, up(rt, bd, [1, g.cout, 1, 1]), p));
      expectClose(await y.read(), conv.conv2dForward(xd, wd, bd, g), FORWARD_TOL, y.shape, `${label} forward`);
      const dyd = randomArray(y.size, 13);
      const dy = up(rt, dyd, y.shape);
      expectClose(await keep(conv2dBackwardInput(dy, w, x.shape, p)).read(), conv.conv2dBackwardInput(dyd, wd, g), GRAD_TOL, x.shape, `${label} dx`);
      const { dw, db } = conv2dBackwardWeights(x, dy, w.shape, p, true);
      keep(dw); keep(db!);
      expectClose(await dw.read(), conv.conv2dBackwardWeights(xd, dyd, g), GRAD_TOL, w.shape, `${label} dw`);
      expectClose(await db!.read(), conv.conv2dBackwardBias(dyd, g), GRAD_TOL, undefined, `${label} db`);
    }
  }, 60_000);

  it.each([
    ['register', {}],
    ['gemv', { linear: 'gemv' }],
    ['tiled', { linear: 'tiled' }],
  ] as const)('linear (%s): forward, backward to the input, to the weights and bias', async (_name, variants) => {
    const rt = await folding(variants);
    // n = 72: ceil(n / 4) = 18 sample groups (register); In = 4400: 18 column groups (dx, dw);
    // Out = 1040: 260 row groups (gemv), 17 (tiled forward, bias), 260 (dw).
    for (const [n, inF, outF] of [[72, 8, 12], [2, 4400, 40], [3, 16, 1040]]) {
      const label = `linear n${n} ${inF}->${outF}`;
      const [xd, wd, bd, dyd] = [randomArray(n * inF, 14), randomArray(outF * inF, 15), randomArray(outF, 16), randomArray(n * outF, 17)];
      const x = up(rt, xd, [n, inF, 1, 1]);
      const w = up(rt, wd, [outF, inF, 1, 1]);
      expectClose(await keep(linear(x, w, up(rt, bd, [1, outF, 1, 1]))).read(), lin.linearForward(xd, wd, bd, n, inF, outF), FORWARD_TOL, [n, outF], `${label} forward`);
      const dy = up(rt, dyd, [n, outF, 1, 1]);
      expectClose(await keep(linearBackwardInput(dy, w, x.shape)).read(), lin.linearBackwardInput(dyd, wd, n, inF, outF), GRAD_TOL, [n, inF], `${label} dx`);
      const { dw, db } = linearBackwardWeights(x, dy, true);
      keep(dw); keep(db!);
      const ref = lin.linearBackwardWeights(xd, dyd, n, inF, outF);
      expectClose(await dw.read(), ref.dw, GRAD_TOL, [outF, inF], `${label} dw`);
      expectClose(await db!.read(), ref.db, GRAD_TOL, [outF], `${label} db`);
    }
  }, 60_000);
});

// The issue's own case at full size, on the device's real limit (65,535 per axis): one map whose
// naive one-axis grid is over it, for the element-wise families the visualization loops run on
// large octaves (ReLU and its backward, the blur, axpy). Checked at strided samples.
describe('real sizes over 65,535 workgroups on one axis (device limits)', () => {
  const real = (() => {
    let p: Promise<Runtime> | null = null;
    return () => (p ??= Runtime.create());
  })();
  afterAll(async () => (await real()).destroy());
  const STRIDE = 9973;
  const sampled = (a: ArrayLike<number>) => Float64Array.from({ length: Math.ceil(a.length / STRIDE) }, (_, k) => a[k * STRIDE]);

  it('relu and relu backward on (1, 17, 1024, 1024): ceil(17.8M / 256) = 69,632 groups', async () => {
    const rt = await real();
    const shape: Shape4 = [1, 17, 1024, 1024];
    // A cheap hashed pattern (never zero) instead of 2 x 17.8M seeded randoms; dy = x.
    const xd = new Float32Array(size(shape));
    for (let i = 0; i < xd.length; i++) xd[i] = ((Math.imul(i, 2654435761) >>> 0) % 2001 - 1000.5) / 1000;
    const x = up(rt, xd, shape);
    const at = (k: number) => xd[k * STRIDE];
    const n = Math.ceil(xd.length / STRIDE);
    const want = Float64Array.from({ length: n }, (_, k) => Math.max(at(k), 0));
    expectClose(sampled(await keep(relu(x)).read()), want, EXACT, undefined, 'relu at 17x1024x1024');
    expectClose(sampled(await keep(reluBackward(x, x, 'guided')).read()), want, EXACT, undefined, 'guided relu backward (dy = x) at 17x1024x1024');
  });

  it('gaussian blur on (1, 1, 2048, 2048): ceil(4.2M / 64) = 65,536 groups per plane', async () => {
    const rt = await real();
    const shape: Shape4 = [1, 1, 2048, 2048];
    const xd = randomArray(size(shape), 13);
    const got = await keep(gaussianBlur(up(rt, xd, shape), 1)).read();
    expectClose(sampled(got), sampled(refBlur(xd, 1, 2048, 2048, 1)), FORWARD_TOL, undefined, 'blur at 2048x2048');
  });
});
