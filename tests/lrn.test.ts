import { describe, expect, it } from 'vitest';
import { lrn, lrnBackward, type LrnParams } from '../engine/ops/lrn';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import { expectView, prefilled, sliceChannels } from './helpers/view_writes';
import * as ref from './reference/lrn';

type S = [number, number, number, number];

const CAFFE: LrnParams = { size: 5, alpha: 1e-4, beta: 0.75, k: 1 };
// Larger alpha than the real networks, so the normalization (and its gradient) is far from 1.
const STRONG: LrnParams = { size: 5, alpha: 2, beta: 0.75, k: 1.5 };

const GRID: [string, S, LrnParams][] = [
  ['size 5, C < size', [1, 3, 4, 5], STRONG],
  ['size 5, N = 3, odd plane', [3, 7, 5, 3], STRONG],
  ['size 3', [2, 6, 3, 3], { size: 3, alpha: 1.2, beta: 0.5, k: 2 }],
  ['even size 4 (window [c - 1, c + 2])', [1, 8, 2, 3], { size: 4, alpha: 1, beta: 0.9, k: 1 }],
  ['size 1', [2, 4, 3, 2], { size: 1, alpha: 3, beta: 0.75, k: 1 }],
  ['1x1 plane, wide channels', [2, 33, 1, 1], STRONG],
];

const REAL: [string, S, LrnParams][] = [
  ['AlexNet (Caffe) norm1', [1, 96, 55, 55], CAFFE],
  ['GoogLeNet pool1/norm1', [1, 64, 56, 56], CAFFE],
];

describe('lrn', () => {
  it.each([...GRID, ...REAL])('%s %j matches the reference, forward and backward', async (_name, shape, p) => {
    const rt = await gpu();
    // Real activations are large (pre-LRN values of tens to hundreds): scale the inputs so that
    // even alpha = 1e-4 normalizes visibly.
    const scale = p.alpha < 1e-2 ? 100 : 1;
    const x = randomArray(size(shape), 31, scale);
    const dy = randomArray(size(shape), 32);
    const xt = upload(rt, x, shape);
    const y = track(lrn(xt, p));
    const yRef = ref.lrnForward(x, shape, p);
    expectClose(await y.read(), yRef, FORWARD_TOL, shape, 'lrn y');
    const dx = track(lrnBackward(xt, y, upload(rt, dy, shape, 'dy'), p));
    expectClose(await dx.read(), ref.lrnBackward(x, dy, shape, p), GRAD_TOL, shape, 'lrn dx');
  });

  it('normalizes visibly at the real parameters (the test inputs exercise the denominator)', () => {
    const x = randomArray(96 * 4, 31, 100);
    const y = ref.lrnForward(x, [1, 96, 2, 2], CAFFE);
    const ratio = Math.min(...Array.from(y, (v, i) => v / x[i]));
    expect(ratio).toBeLessThan(0.85);
  });

  it('reads and writes channel views, N = 2', async () => {
    const rt = await gpu();
    const bigShape: S = [2, 9, 5, 4];
    const shape: S = [2, 6, 5, 4];
    const big = randomArray(size(bigShape), 33);
    const dyBig = randomArray(2 * 7 * 20, 34);
    const x = sliceChannels(big, bigShape, 2, 6);
    const dy = sliceChannels(dyBig, [2, 7, 5, 4], 1, 6);
    const xView = upload(rt, big, bigShape).channels(2, 6);
    const yBig = prefilled(rt, [2, 8, 5, 4], 37, 'y big');
    const y = lrn(xView, STRONG, yBig.t.channels(1, 6));
    expectView(await yBig.t.read(), yBig.t.shape, 1, 6, ref.lrnForward(x, shape, STRONG), yBig.init, FORWARD_TOL, 'lrn y view');
    const dxBig = prefilled(rt, [2, 7, 5, 4], 38, 'dx big');
    lrnBackward(xView, y, upload(rt, dyBig, [2, 7, 5, 4], 'dy big').channels(1, 6), STRONG, dxBig.t.channels(0, 6));
    expectView(await dxBig.t.read(), dxBig.t.shape, 0, 6, ref.lrnBackward(x, dy, shape, STRONG), dxBig.init, GRAD_TOL, 'lrn dx view');
  });

  it.each(GRID.slice(0, 5))('reference backward matches finite differences: %s', (_name, shape, p) => {
    const x = toF64(randomArray(size(shape), 35));
    const dy = toF64(randomArray(size(shape), 36));
    const [idx, num] = numericGrad(lossFn((v) => ref.lrnForward(v, shape, p), dy), x);
    expectClose(pick(ref.lrnBackward(x, dy, shape, p), idx), num, FD_TOL);
  });

  it('rejects bad parameters and mismatched shapes', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(2 * 3 * 4 * 4, 1), [2, 3, 4, 4]);
    expect(() => lrn(x, { ...CAFFE, size: 0 })).toThrow(/lrn: size must be a positive integer, got 0/);
    expect(() => lrn(x, { ...CAFFE, k: 0 })).toThrow(/lrn: k must be finite and > 0, got 0/);
    expect(() => lrn(x, { ...CAFFE, alpha: -1 })).toThrow(/lrn: alpha must be finite and >= 0, got -1/);
    const bad = upload(rt, randomArray(2 * 3 * 4 * 5, 2), [2, 3, 4, 5], 'dy');
    expect(() => lrnBackward(x, x, bad, CAFFE)).toThrow(/lrnBackward: dy has shape \(2, 3, 4, 5\), expected \(2, 3, 4, 4\)/);
    expect(() => lrnBackward(x, bad, x, CAFFE)).toThrow(/lrnBackward: y has shape \(2, 3, 4, 5\), expected \(2, 3, 4, 4\)/);
    expect(() => lrn(x, CAFFE, bad)).toThrow(/lrn: out has shape \(2, 3, 4, 5\), expected \(2, 3, 4, 4\)/);
  });
});
