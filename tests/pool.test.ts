import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  maxPool2d,
  maxPool2dBackward,
  pool2dOutputShape,
  type Pool2dParams,
} from '../engine/ops/pool';
import type { Shape4 } from '../engine/tensor';
import { EXACT, expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { distinctArray, randomArray, toF64 } from './helpers/random';
import { expectView, prefilled, sliceChannels } from './helpers/view_writes';
import * as ref from './reference/pool';

type S = [number, number, number, number];
const pool = (k: [number, number], s: [number, number], pad: [number, number, number, number], ceil: boolean, countIncludePad?: boolean): Pool2dParams => ({
  kernel: k,
  stride: s,
  pad,
  ceil,
  countIncludePad,
});

// Awkward grids: odd sizes, ceil vs floor, symmetric and asymmetric padding, stride > kernel,
// kernel == input, non-square kernels, N = 3.
const GRID: [string, S, Pool2dParams][] = [
  ['3x3 s1 floor', [1, 1, 5, 5], pool([3, 3], [1, 1], [0, 0, 0, 0], false)],
  ['3x3 s2 pad 1 ceil, N=2', [2, 3, 7, 9], pool([3, 3], [2, 2], [1, 1, 1, 1], true)],
  ['2x2 s2 asym pad floor, N=3', [3, 2, 8, 7], pool([2, 2], [2, 2], [0, 1, 1, 0], false)],
  ['3x3 s2 ceil (Caffe), odd', [1, 4, 11, 13], pool([3, 3], [2, 2], [0, 0, 0, 0], true)],
  ['2x2 s3 stride > kernel floor', [1, 3, 9, 10], pool([2, 2], [3, 3], [0, 0, 0, 0], false)],
  ['2x2 s3 stride > kernel ceil (last window dropped)', [2, 3, 9, 10], pool([2, 2], [3, 3], [0, 0, 0, 0], true)],
  ['kernel == input (global)', [2, 2, 6, 5], pool([6, 5], [1, 1], [0, 0, 0, 0], false)],
  ['3x2 s(1,2) asym pad ceil', [1, 5, 10, 12], pool([3, 2], [1, 2], [2, 1, 0, 1], true)],
  ['2x2 s2 pad 1 ceil (drop rule with pad)', [1, 2, 5, 5], pool([2, 2], [2, 2], [1, 1, 1, 1], true)],
  ['3x3 s2 pad 1 ceil, exclude pad', [3, 2, 7, 6], pool([3, 3], [2, 2], [1, 1, 1, 1], true, false)],
];

// The pooling layers of the real networks.
const REAL: [string, S, Pool2dParams][] = [
  ['GoogLeNet pool1 3x3 s2 ceil', [1, 64, 112, 112], pool([3, 3], [2, 2], [0, 0, 0, 0], true)],
  ['GoogLeNet inception pool 3x3 s1 pad 1', [1, 192, 28, 28], pool([3, 3], [1, 1], [1, 1, 1, 1], true)],
  ['SqueezeNet pool1 3x3 s2 ceil', [1, 64, 113, 113], pool([3, 3], [2, 2], [0, 0, 0, 0], true)],
  ['AlexNet (torchvision) pool 3x3 s2 floor', [1, 64, 55, 55], pool([3, 3], [2, 2], [0, 0, 0, 0], false)],
];

describe('pool2dOutputShape', () => {
  it.each([
    ['GoogLeNet pool1', [1, 64, 112, 112], pool([3, 3], [2, 2], [0, 0, 0, 0], true), 56],
    ['GoogLeNet pool2', [1, 192, 56, 56], pool([3, 3], [2, 2], [0, 0, 0, 0], true), 28],
    ['GoogLeNet pool4', [1, 832, 14, 14], pool([3, 3], [2, 2], [0, 0, 0, 0], true), 7],
    ['GoogLeNet pool5', [1, 1024, 7, 7], pool([7, 7], [1, 1], [0, 0, 0, 0], true), 1],
    ['SqueezeNet pool1', [1, 64, 113, 113], pool([3, 3], [2, 2], [0, 0, 0, 0], true), 56],
    ['SqueezeNet pool3', [1, 128, 56, 56], pool([3, 3], [2, 2], [0, 0, 0, 0], true), 28],
    ['AlexNet floor', [1, 64, 55, 55], pool([3, 3], [2, 2], [0, 0, 0, 0], false), 27],
    ['ceil without the drop', [1, 1, 6, 6], pool([3, 3], [2, 2], [1, 1, 1, 1], true), 4],
    ['ceil, last window dropped (PyTorch 2x2 s2 pad 1 on 5)', [1, 1, 5, 5], pool([2, 2], [2, 2], [1, 1, 1, 1], true), 3],
    ['ceil, stride > kernel dropped', [1, 1, 9, 9], pool([2, 2], [3, 3], [0, 0, 0, 0], true), 3],
  ] as const)('%s -> %i', (_name, shape, p, o) => {
    expect(pool2dOutputShape(shape as unknown as Shape4, p)).toEqual([shape[0], shape[1], o, o]);
  });
});

describe('max pool', () => {
  it.each([...GRID, ...REAL])('%s %j matches the reference (y and argmax exactly), forward and backward', async (_name, shape, p) => {
    const rt = await gpu();
    const x = distinctArray(size(shape), 3);
    const want = ref.maxPoolForward(x, shape, p);
    const { y, argmax } = maxPool2d(upload(rt, x, shape), p);
    track(y);
    track(argmax);
    expect(y.shape).toEqual(want.shape);
    expectClose(await y.read(), want.y, EXACT, want.shape, 'maxpool y');
    expectClose(await argmax.readU32(), want.argmax, EXACT, want.shape, 'maxpool argmax');
    const dy = randomArray(size(want.shape), 4);
    const dx = track(maxPool2dBackward(upload(rt, dy, want.shape, 'dy'), argmax, shape, p));
    expectClose(await dx.read(), ref.maxPoolBackward(dy, want.argmax, shape, want.shape), GRAD_TOL, shape, 'maxpool dx');
  });

  it('ties go to the first maximum in row-major window order', async () => {
    const rt = await gpu();
    const shape: S = [2, 3, 9, 8];
    const p = pool([3, 3], [2, 2], [1, 1, 1, 1], true);
    const x = randomArray(size(shape), 8).map((v) => Math.round(v * 2));
    const want = ref.maxPoolForward(x, shape, p);
    const { y, argmax } = maxPool2d(upload(rt, x, shape), p);
    track(y);
    track(argmax);
    expectClose(await argmax.readU32(), want.argmax, EXACT, want.shape, 'maxpool argmax with ties');
  });

  it('reads and writes channel views (inception slices), N = 2', async () => {
    const rt = await gpu();
    const bigShape: S = [2, 7, 9, 11];
    const p = pool([3, 3], [2, 2], [1, 1, 1, 1], true);
    const big = distinctArray(size(bigShape), 5);
    const xView = upload(rt, big, bigShape).channels(2, 4);
    const xDense = sliceChannels(big, bigShape, 2, 4);
    const want = ref.maxPoolForward(xDense, [2, 4, 9, 11], p);
    const [, , oh, ow] = want.shape;
    const yBig = prefilled(rt, [2, 6, oh, ow], 7, 'y big');
    const { y, argmax } = maxPool2d(xView, p, yBig.t.channels(1, 4));
    track(argmax);
    expectView(await yBig.t.read(), yBig.t.shape, 1, 4, want.y, yBig.init, EXACT, 'maxpool y view');
    expect(y.buffer).toBe(yBig.t.buffer);

    const dyBig = randomArray(2 * 5 * oh * ow, 6);
    const dyView = upload(rt, dyBig, [2, 5, oh, ow], 'dy big').channels(1, 4);
    const dxBig = prefilled(rt, [2, 6, 9, 11], 8, 'dx big');
    maxPool2dBackward(dyView, argmax, [2, 4, 9, 11], p, dxBig.t.channels(2, 4));
    const dyDense = sliceChannels(dyBig, [2, 5, oh, ow], 1, 4);
    const dxWant = ref.maxPoolBackward(dyDense, want.argmax, [2, 4, 9, 11], want.shape);
    expectView(await dxBig.t.read(), dxBig.t.shape, 2, 4, dxWant, dxBig.init, GRAD_TOL, 'maxpool dx view');
  });

  it.each(GRID.slice(0, 5))('reference backward matches finite differences: %s', (_name, shape, p) => {
    const x = toF64(distinctArray(size(shape), 9));
    const yShape = ref.poolOutShape(shape, p);
    const dy = toF64(randomArray(size(yShape), 10));
    const [idx, num] = numericGrad(lossFn((v) => ref.maxPoolForward(v, shape, p).y, dy), x);
    const { argmax } = ref.maxPoolForward(x, shape, p);
    expectClose(pick(ref.maxPoolBackward(dy, argmax, shape, yShape), idx), num, FD_TOL);
  });
});

describe('average pool', () => {
  it.each([...GRID, ...REAL.slice(0, 2)])('%s %j matches the reference, forward and backward', async (_name, shape, p) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 13);
    const yShape = ref.poolOutShape(shape, p);
    const y = track(avgPool2d(upload(rt, x, shape), p));
    expectClose(await y.read(), ref.avgPoolForward(x, shape, p), FORWARD_TOL, yShape, 'avgpool y');
    const dy = randomArray(size(yShape), 14);
    const dx = track(avgPool2dBackward(upload(rt, dy, yShape, 'dy'), shape, p));
    expectClose(await dx.read(), ref.avgPoolBackward(dy, shape, p), GRAD_TOL, shape, 'avgpool dx');
  });

  it('Caffe divides by the window clipped to the padded input, not the whole kernel', () => {
    // 3x3 s2 pad 1 ceil on 4x4 of ones: along each axis the windows are [-1, 2), [1, 4), [3, 5)
    // (the last clipped to the padded extent 4 + 1), holding 2, 3, 1 input cells. The corner
    // output sees one cell and divides by 2 * 2 = 4: not 9 (the kernel), not 1 (the cells).
    const y = ref.avgPoolForward(new Float64Array(16).fill(1), [1, 1, 4, 4], pool([3, 3], [2, 2], [1, 1, 1, 1], true));
    expect(Array.from(y)).toEqual([4 / 9, 6 / 9, 2 / 6, 6 / 9, 1, 3 / 6, 2 / 6, 3 / 6, 1 / 4]);
    const excl = ref.avgPoolForward(new Float64Array(16).fill(1), [1, 1, 4, 4], pool([3, 3], [2, 2], [1, 1, 1, 1], true, false));
    expect(Array.from(excl)).toEqual(new Array(9).fill(1));
  });

  it('reads and writes channel views, N = 2', async () => {
    const rt = await gpu();
    const bigShape: S = [2, 6, 8, 9];
    const p = pool([3, 3], [2, 2], [1, 0, 1, 0], true);
    const big = randomArray(size(bigShape), 15);
    const xView = upload(rt, big, bigShape).channels(1, 3);
    const want = ref.avgPoolForward(sliceChannels(big, bigShape, 1, 3), [2, 3, 8, 9], p);
    const yShape = ref.poolOutShape([2, 3, 8, 9], p);
    const yBig = prefilled(rt, [2, 5, yShape[2], yShape[3]], 19, 'y big');
    avgPool2d(xView, p, yBig.t.channels(2, 3));
    expectView(await yBig.t.read(), yBig.t.shape, 2, 3, want, yBig.init, FORWARD_TOL, 'avgpool y view');
    const dy = randomArray(size(yShape), 16);
    const dxBig = prefilled(rt, [2, 4, 8, 9], 20, 'dx big');
    avgPool2dBackward(upload(rt, dy, yShape, 'dy'), [2, 3, 8, 9], p, dxBig.t.channels(1, 3));
    expectView(await dxBig.t.read(), dxBig.t.shape, 1, 3, ref.avgPoolBackward(dy, [2, 3, 8, 9], p), dxBig.init, GRAD_TOL, 'avgpool dx view');
  });

  it.each(GRID.filter((_, i) => i === 1 || i === 2 || i === 7 || i === 9))('reference backward matches finite differences: %s', (_name, shape, p) => {
    const x = toF64(randomArray(size(shape), 17));
    const dy = toF64(randomArray(size(ref.poolOutShape(shape, p)), 18));
    const [idx, num] = numericGrad(lossFn((v) => ref.avgPoolForward(v, shape, p), dy), x);
    expectClose(pick(ref.avgPoolBackward(dy, shape, p), idx), num, FD_TOL);
  });

  it('GoogLeNet pool5: 7x7 average over (1, 1024, 7, 7)', async () => {
    const rt = await gpu();
    const shape: S = [1, 1024, 7, 7];
    const p = pool([7, 7], [1, 1], [0, 0, 0, 0], true);
    const x = randomArray(size(shape), 19);
    const y = track(avgPool2d(upload(rt, x, shape), p));
    expectClose(await y.read(), ref.avgPoolForward(x, shape, p), FORWARD_TOL, [1, 1024, 1, 1], 'pool5 y');
    const dy = randomArray(1024, 20);
    const dx = track(avgPool2dBackward(upload(rt, dy, [1, 1024, 1, 1], 'dy'), shape, p));
    expectClose(await dx.read(), ref.avgPoolBackward(dy, shape, p), GRAD_TOL, shape, 'pool5 dx');
  });
});

describe('global and adaptive average pool', () => {
  it.each([
    [[3, 5, 7, 6]],
    [[1, 1000, 13, 13]], // SqueezeNet pool10 (global average over conv10)
  ] as [S][])('global %j matches the reference, forward and backward', async (shape) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 21);
    const yShape: S = [shape[0], shape[1], 1, 1];
    const y = track(globalAvgPool(upload(rt, x, shape)));
    expect(y.shape).toEqual(yShape);
    expectClose(await y.read(), ref.adaptiveAvgPoolForward(x, shape, [1, 1]), FORWARD_TOL, yShape, 'global y');
    const dy = randomArray(size(yShape), 22);
    const dx = track(globalAvgPoolBackward(upload(rt, dy, yShape, 'dy'), shape));
    expectClose(await dx.read(), ref.adaptiveAvgPoolBackward(dy, shape, [1, 1]), GRAD_TOL, shape, 'global dx');
  });

  it.each([
    [[2, 3, 7, 9], [3, 4]],
    [[3, 2, 5, 5], [5, 5]],
    [[1, 2, 4, 3], [6, 5]], // output larger than input: windows repeat cells
    [[1, 256, 6, 6], [6, 6]], // AlexNet avgpool, identity at 224x224
    [[1, 256, 13, 13], [6, 6]], // AlexNet avgpool on a 13x13 map (overlapping windows)
  ] as [S, [number, number]][])('adaptive %j -> %j matches the reference, forward and backward', async (shape, out) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 23);
    const yShape: S = [shape[0], shape[1], out[0], out[1]];
    const y = track(adaptiveAvgPool2d(upload(rt, x, shape), out));
    expectClose(await y.read(), ref.adaptiveAvgPoolForward(x, shape, out), FORWARD_TOL, yShape, 'adaptive y');
    const dy = randomArray(size(yShape), 24);
    const dx = track(adaptiveAvgPool2dBackward(upload(rt, dy, yShape, 'dy'), shape));
    expectClose(await dx.read(), ref.adaptiveAvgPoolBackward(dy, shape, out), GRAD_TOL, shape, 'adaptive dx');
  });

  it('adaptive works on channel views', async () => {
    const rt = await gpu();
    const big = randomArray(2 * 5 * 7 * 7, 25);
    const y = track(adaptiveAvgPool2d(upload(rt, big, [2, 5, 7, 7]).channels(1, 3), [3, 3]));
    expectClose(await y.read(), ref.adaptiveAvgPoolForward(sliceChannels(big, [2, 5, 7, 7], 1, 3), [2, 3, 7, 7], [3, 3]), FORWARD_TOL, y.shape, 'adaptive y on view');
  });

  it.each([
    [[2, 3, 7, 9], [3, 4]],
    [[1, 2, 5, 4], [1, 1]],
    [[1, 1, 4, 3], [6, 5]],
  ] as [S, [number, number]][])('reference backward matches finite differences: %j -> %j', (shape, out) => {
    const x = toF64(randomArray(size(shape), 26));
    const dy = toF64(randomArray(shape[0] * shape[1] * out[0] * out[1], 27));
    const [idx, num] = numericGrad(lossFn((v) => ref.adaptiveAvgPoolForward(v, shape, out), dy), x);
    expectClose(pick(ref.adaptiveAvgPoolBackward(dy, shape, out), idx), num, FD_TOL);
  });
});

describe('pooling errors', () => {
  it('rejects bad kernels, strides and pads, naming the op and the value', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(2 * 3 * 6 * 6, 1), [2, 3, 6, 6]);
    expect(() => maxPool2d(x, pool([0, 3], [1, 1], [0, 0, 0, 0], false))).toThrow(/maxPool2d: kernel\[0\] must be a positive integer, got 0/);
    expect(() => avgPool2d(x, pool([3, 3], [1, 1.5], [0, 0, 0, 0], false))).toThrow(/avgPool2d: stride\[1\] must be a positive integer, got 1.5/);
    expect(() => maxPool2d(x, pool([3, 3], [1, 1], [0, -1, 0, 0], false))).toThrow(/maxPool2d: pad\[1\] must be a non-negative integer, got -1/);
    expect(() => maxPool2d(x, pool([2, 2], [1, 1], [0, 0, 2, 0], false))).toThrow(/maxPool2d: pad \(0, 0, 2, 0\) must be smaller than the kernel \(2, 2\)/);
    expect(() => adaptiveAvgPool2d(x, [0, 2])).toThrow(/adaptiveAvgPool2d: output\[0\] must be a positive integer, got 0/);
  });

  it('rejects a window larger than the padded input', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(2 * 3 * 6 * 6, 1), [2, 3, 6, 6]);
    expect(() => maxPool2d(x, pool([7, 7], [1, 1], [0, 0, 0, 0], true))).toThrow(/maxPool2d: window \(7, 7\) is larger than the padded input \(6, 6\) of input \(2, 3, 6, 6\)/);
    expect(() => avgPool2d(x, pool([8, 3], [1, 1], [1, 0, 0, 0], true))).toThrow(/avgPool2d: window \(8, 3\) is larger than the padded input \(7, 6\)/);
  });

  it('rejects gradients of the wrong shape, naming both shapes', async () => {
    const rt = await gpu();
    const p = pool([3, 3], [2, 2], [0, 0, 0, 0], true);
    const x = upload(rt, distinctArray(2 * 3 * 7 * 7, 2), [2, 3, 7, 7]);
    const { y, argmax } = maxPool2d(x, p);
    track(y);
    track(argmax);
    const bad = upload(rt, randomArray(2 * 3 * 4 * 4, 3), [2, 3, 4, 4], 'dy');
    expect(() => maxPool2dBackward(bad, argmax, [2, 3, 7, 7], p)).toThrow(/maxPool2dBackward: dy has shape \(2, 3, 4, 4\), expected \(2, 3, 3, 3\)/);
    expect(() => maxPool2dBackward(y, bad, [2, 3, 7, 7], p)).toThrow(/maxPool2dBackward: argmax has shape \(2, 3, 4, 4\), expected \(2, 3, 3, 3\)/);
    expect(() => avgPool2dBackward(bad, [2, 3, 7, 7], p)).toThrow(/avgPool2dBackward: dy has shape \(2, 3, 4, 4\), expected \(2, 3, 3, 3\)/);
    expect(() => globalAvgPoolBackward(bad, [2, 3, 7, 7])).toThrow(/globalAvgPoolBackward: dy has shape \(2, 3, 4, 4\), expected \(2, 3, 1, 1\)/);
    expect(() => adaptiveAvgPool2dBackward(bad, [2, 4, 7, 7])).toThrow(/adaptiveAvgPool2dBackward: dy has shape \(2, 3, 4, 4\), expected \(2, 4, 4, 4\)/);
  });
});
