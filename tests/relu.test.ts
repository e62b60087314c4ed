import { describe, expect, it } from 'vitest';
import { relu, reluBackward } from '../engine/ops/relu';
import { Tensor } from '../engine/tensor';
import { EXACT, expectClose, FD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import { expectView, sliceChannels } from './helpers/view_writes';
import * as ref from './reference/relu';

const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [1, 3, 7, 5],
  [2, 5, 13, 11],
  [3, 64, 17, 17],
  [1, 96, 55, 55], // AlexNet (Caffe) conv1 output
  [2, 16, 56, 56], // SqueezeNet fire2/squeeze1x1 output, N = 2
];

describe('relu forward', () => {
  it.each(SHAPES)('(%i, %i, %i, %i) matches the reference exactly', async (...shape) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 11);
    const y = track(relu(upload(rt, x, shape)));
    expectClose(await y.read(), ref.reluForward(x), EXACT, shape, 'relu y');
  });

  it('runs in place and on channel views (concat slices)', async () => {
    const rt = await gpu();
    const shape = [2, 6, 5, 3];
    const x = randomArray(size(shape), 3);
    const t = upload(rt, x, shape);
    const view = t.channels(2, 3);
    relu(view, view);
    expectView(await t.read(), shape, 2, 3, ref.reluForward(sliceChannels(x, shape, 2, 3)), x, EXACT, 'relu in place on view');
  });
});

describe('relu backward', () => {
  const rules: ref.ReluRule[] = ['vanilla', 'guided', 'deconvnet'];
  it.each(SHAPES.flatMap((s) => rules.map((r) => [r, s] as const)))('%s %j matches the reference exactly', async (rule, shape) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 5);
    const dy = randomArray(size(shape), 6);
    const dx = track(reluBackward(upload(rt, x, shape), upload(rt, dy, shape, 'dy'), rule));
    expectClose(await dx.read(), ref.reluBackward(x, dy, rule), EXACT, shape, `relu ${rule} dx`);
  });

  it('vanilla reference matches finite differences', () => {
    const x = toF64(randomArray(200, 9));
    const dy = toF64(randomArray(200, 10));
    const [idx, num] = numericGrad(lossFn(ref.reluForward, dy), x);
    expectClose(pick(ref.reluBackward(x, dy, 'vanilla'), idx), num, FD_TOL);
  });

  it('rejects a dy of the wrong shape, naming both shapes', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(24, 1), [1, 2, 3, 4]);
    const dy = upload(rt, randomArray(24, 2), [1, 2, 4, 3]);
    expect(() => reluBackward(x, dy)).toThrow(/reluBackward: dy has shape \(1, 2, 4, 3\), expected \(1, 2, 3, 4\)/);
  });
});

describe('buffer pool', () => {
  it('does not grow when a layer runs 1,000 times', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(4 * 8 * 8, 1), [1, 4, 8, 8]);
    const run = () => {
      const y = relu(x);
      const dx = reluBackward(x, y, 'guided');
      y.dispose();
      dx.dispose();
    };
    for (let i = 0; i < 10; i++) run();
    await rt.sync();
    const before = rt.pool.counters;
    for (let i = 0; i < 1000; i++) run();
    await rt.sync();
    const after = rt.pool.counters;
    expect(after.bytesAllocated).toBe(before.bytesAllocated);
    expect(after.bytesInUse).toBe(before.bytesInUse);
  });

  it('refuses to use a disposed tensor', async () => {
    const rt = await gpu();
    const t = Tensor.fromData(rt, randomArray(4, 1), [1, 1, 2, 2], 'gone');
    t.dispose();
    expect(() => relu(t)).toThrow(/gone: tensor used after dispose/);
  });
});
