import { describe, expect, it } from 'vitest';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from '../engine/ops/softmax';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import { expectView, prefilled, sliceChannels } from './helpers/view_writes';
import * as ref from './reference/softmax';

type S = [number, number, number, number];

const SHAPES: [S, number][] = [
  [[1, 1, 1, 1], 3],
  [[1, 10, 1, 1], 3], // TinyVGG
  [[3, 7, 5, 3], 4], // spatial softmax over channels, N = 3
  [[2, 1000, 1, 1], 8], // ImageNet classes, N = 2
  [[1, 1000, 1, 1], 1000], // logits of magnitude up to 1000: exp overflows without the max shift
  [[2, 5, 17, 19], 50], // more pixels than one workgroup
];

describe.each([
  ['softmax', false, softmax, softmaxBackward],
  ['logSoftmax', true, logSoftmax, logSoftmaxBackward],
] as const)('%s', (name, log, forward, backward) => {
  it.each(SHAPES)(`${name} %j (logit scale %i) matches the reference, forward and backward`, async (shape, scale) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 41, scale);
    const dy = randomArray(size(shape), 42);
    const y = track(forward(upload(rt, x, shape)));
    const yGot = await y.read();
    expect(yGot.every(Number.isFinite)).toBe(true);
    const yRef = ref.softmaxForward(x, shape, log);
    // Log-softmax values grow with the logits: float32 keeps ~7 digits of |y| ~ scale.
    const tol = log ? { atol: FORWARD_TOL.atol * Math.max(1, scale), rtol: FORWARD_TOL.rtol } : FORWARD_TOL;
    expectClose(yGot, yRef, tol, shape, `${name} y`);
    // The backward runs from the GPU's y; the reference from the same float32 values.
    const dx = track(backward(y, upload(rt, dy, shape, 'dy')));
    expectClose(await dx.read(), ref.softmaxBackward(yGot, dy, shape, log), GRAD_TOL, shape, `${name} dx`);
  });

  it(`${name} reads and writes channel views, N = 2`, async () => {
    const rt = await gpu();
    const big = randomArray(2 * 9 * 3 * 4, 43, 5);
    const shape: S = [2, 6, 3, 4];
    const x = sliceChannels(big, [2, 9, 3, 4], 3, 6);
    const yBig = prefilled(rt, [2, 8, 3, 4], 47, 'y big');
    const y = forward(upload(rt, big, [2, 9, 3, 4]).channels(3, 6), yBig.t.channels(2, 6));
    const yAll = await yBig.t.read();
    expectView(yAll, yBig.t.shape, 2, 6, ref.softmaxForward(x, shape, log), yBig.init, FORWARD_TOL, `${name} y view`);
    const dyBig = randomArray(2 * 7 * 12, 44);
    const dxBig = prefilled(rt, [2, 7, 3, 4], 48, 'dx big');
    backward(y, upload(rt, dyBig, [2, 7, 3, 4], 'dy big').channels(1, 6), dxBig.t.channels(1, 6));
    const dy = sliceChannels(dyBig, [2, 7, 3, 4], 1, 6);
    const dxWant = ref.softmaxBackward(sliceChannels(yAll, yBig.t.shape, 2, 6), dy, shape, log);
    expectView(await dxBig.t.read(), dxBig.t.shape, 1, 6, dxWant, dxBig.init, GRAD_TOL, `${name} dx view`);
  });

  it.each([[[1, 6, 1, 1]], [[2, 5, 2, 3]]] as [S][])(`${name} reference backward matches finite differences %j`, (shape) => {
    const x = toF64(randomArray(size(shape), 45, 3));
    const dy = toF64(randomArray(size(shape), 46));
    const [idx, num] = numericGrad(lossFn((v) => ref.softmaxForward(v, shape, log), dy), x);
    expectClose(pick(ref.softmaxBackward(ref.softmaxForward(x, shape, log), dy, shape, log), idx), num, FD_TOL);
  });
});

describe('softmax properties and errors', () => {
  it('sums to 1 over channels, and exp(logSoftmax) equals softmax', async () => {
    const rt = await gpu();
    const shape: S = [2, 1000, 1, 1];
    const x = upload(rt, randomArray(size(shape), 47, 30), shape);
    const p = await track(softmax(x)).read();
    const lp = await track(logSoftmax(x)).read();
    for (let n = 0; n < 2; n++) {
      const sum = p.subarray(n * 1000, (n + 1) * 1000).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
    expectClose(Float64Array.from(lp, Math.exp), p, FORWARD_TOL, shape, 'exp(logSoftmax) vs softmax');
  });

  it('rejects dy or out of the wrong shape', async () => {
    const rt = await gpu();
    const y = upload(rt, randomArray(20, 1), [2, 10, 1, 1]);
    const bad = upload(rt, randomArray(22, 2), [2, 11, 1, 1], 'dy');
    expect(() => softmaxBackward(y, bad)).toThrow(/softmaxBackward: dy has shape \(2, 11, 1, 1\), expected \(2, 10, 1, 1\)/);
    expect(() => logSoftmaxBackward(y, bad)).toThrow(/logSoftmaxBackward: dy has shape \(2, 11, 1, 1\), expected \(2, 10, 1, 1\)/);
    expect(() => softmax(y, bad)).toThrow(/softmax: out has shape \(2, 11, 1, 1\), expected \(2, 10, 1, 1\)/);
  });
});
