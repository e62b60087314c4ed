import { describe, expect, it, vi } from 'vitest';
import { concat, split } from '../engine/ops/concat';
import { dropout } from '../engine/ops/dropout';
import { relu } from '../engine/ops/relu';
import { Tensor } from '../engine/tensor';
import { EXACT, expectClose } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { expectView, prefilled, sliceChannels } from './helpers/view_writes';
import * as ref from './reference/concat';

type S = [number, number, number, number];

describe('concat', () => {
  it.each([
    ['one input', [[2, 3, 5, 7]]],
    ['N = 3, odd planes', [[3, 1, 5, 3], [3, 4, 5, 3], [3, 2, 5, 3]]],
    ['GoogLeNet inception_3a (64 + 128 + 32 + 32 at 28x28)', [[1, 64, 28, 28], [1, 128, 28, 28], [1, 32, 28, 28], [1, 32, 28, 28]]],
    ['SqueezeNet fire2 expand (64 + 64 at 55x55), N = 2', [[2, 64, 55, 55], [2, 64, 55, 55]]],
  ] as [string, S[]][])('copies separate inputs: %s', async (_name, shapes) => {
    const rt = await gpu();
    const data = shapes.map((s, i) => randomArray(size(s), 50 + i));
    const y = track(concat(shapes.map((s, i) => upload(rt, data[i], s, `in${i}`))));
    const channels = shapes.reduce((a, s) => a + s[1], 0);
    expect(y.shape).toEqual([shapes[0][0], channels, shapes[0][2], shapes[0][3]]);
    expectClose(await y.read(), ref.concatForward(shapes.map((s, i) => ({ data: data[i], shape: s }))), EXACT, y.shape, 'concat y');
  });

  it('copies nothing when every input already is its slice of out (branches wrote in place)', async () => {
    const rt = await gpu();
    const shape: S = [2, 9, 4, 5];
    const out = track(Tensor.empty(rt, shape, 'inception out'));
    const srcs = [2, 3, 4].map((c, i) => upload(rt, randomArray(2 * c * 20, 60 + i), [2, c, 4, 5], `branch${i}`));
    const [a, b, c] = split(out, [2, 3, 4]);
    [a, b, c].forEach((view, i) => relu(srcs[i], view));
    const spy = vi.spyOn(rt, 'dispatch');
    const y = concat([a, b, c], out);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expect(y).toBe(out);
    const want = ref.concatForward(await Promise.all(srcs.map(async (t) => ({ data: Array.from(await t.read(), (v) => Math.max(v, 0)), shape: t.shape }))));
    expectClose(await y.read(), want, EXACT, shape, 'concat of views');
  });

  it('mixes views (no copy) and copies, including a copy from a channel view of another tensor', async () => {
    const rt = await gpu();
    const out = prefilled(rt, [3, 8, 3, 5], 69, 'out').t;
    const inPlace = out.channels(0, 3);
    const first = randomArray(3 * 3 * 15, 70);
    inPlace.write(first);
    const otherBig = randomArray(3 * 6 * 15, 71);
    const fromView = upload(rt, otherBig, [3, 6, 3, 5], 'other').channels(1, 4);
    const last = randomArray(3 * 15, 72);
    const spy = vi.spyOn(rt, 'dispatch');
    concat([inPlace, fromView, upload(rt, last, [3, 1, 3, 5], 'last')], out);
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
    const want = ref.concatForward([
      { data: first, shape: [3, 3, 3, 5] },
      { data: sliceChannels(otherBig, [3, 6, 3, 5], 1, 4), shape: [3, 4, 3, 5] },
      { data: last, shape: [3, 1, 3, 5] },
    ]);
    expectClose(await out.read(), want, EXACT, out.shape, 'mixed concat');
  });

  it('writes into a channel view of a larger output', async () => {
    const rt = await gpu();
    const big = prefilled(rt, [2, 7, 2, 3], 75, 'big');
    const a = randomArray(2 * 2 * 6, 73);
    const b = randomArray(2 * 3 * 6, 74);
    concat([upload(rt, a, [2, 2, 2, 3]), upload(rt, b, [2, 3, 2, 3])], big.t.channels(1, 5));
    const want = ref.concatForward([{ data: a, shape: [2, 2, 2, 3] }, { data: b, shape: [2, 3, 2, 3] }]);
    expectView(await big.t.read(), big.t.shape, 1, 5, want, big.init, EXACT, 'concat into a view');
  });

  it('rejects mismatched inputs, naming the input and both shapes', async () => {
    const rt = await gpu();
    const a = upload(rt, randomArray(2 * 2 * 16, 1), [2, 2, 4, 4], 'a');
    const b = upload(rt, randomArray(2 * 3 * 20, 2), [2, 3, 4, 5], 'b');
    const c = upload(rt, randomArray(3 * 16, 3), [3, 1, 4, 4], 'c');
    expect(() => concat([a, a, b])).toThrow(/concat: inputs\[2\] has shape \(2, 3, 4, 5\), expected \(2, C, 4, 4\) to match inputs\[0\] \(2, 2, 4, 4\)/);
    expect(() => concat([a, c])).toThrow(/concat: inputs\[1\] has shape \(3, 1, 4, 4\), expected \(2, C, 4, 4\)/);
    expect(() => concat([])).toThrow(/concat: needs at least one input/);
    const out = track(Tensor.empty(rt, [2, 5, 4, 4], 'out'));
    expect(() => concat([a, a], out)).toThrow(/concat: out has shape \(2, 5, 4, 4\), expected \(2, 4, 4, 4\)/);
    const [, wrongPlace] = split(out, [3, 2]);
    expect(() => concat([wrongPlace, a, a.channels(0, 1)], out)).toThrow(/concat: inputs\[0\] shares the output's buffer but is not its channel slice \[0, 2\)/);
  });
});

describe('split', () => {
  it('returns zero-copy channel views that concat reassembles without copying', async () => {
    const rt = await gpu();
    const data = randomArray(2 * 10 * 3 * 3, 80);
    const t = upload(rt, data, [2, 10, 3, 3]);
    const parts = split(t, [1, 6, 3]);
    expect(parts.map((p) => p.shape)).toEqual([[2, 1, 3, 3], [2, 6, 3, 3], [2, 3, 3, 3]]);
    parts.forEach((p) => expect(p.buffer).toBe(t.buffer));
    expect(parts.map((p) => p.base)).toEqual([0, 9, 63]);
    expectClose(await parts[1].read(), sliceChannels(data, t.shape, 1, 6), EXACT, parts[1].shape, 'split middle');
    const spy = vi.spyOn(rt, 'dispatch');
    expect(concat(parts, t)).toBe(t);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('splits a channel view (a gradient slice of an inception output)', async () => {
    const rt = await gpu();
    const data = randomArray(2 * 9 * 4, 81);
    const view = upload(rt, data, [2, 9, 2, 2]).channels(2, 5);
    const [a, b] = split(view, [2, 3]);
    expectClose(await b.read(), sliceChannels(data, [2, 9, 2, 2], 4, 3), EXACT, b.shape, 'split of a view');
    expect(a.batchStride).toBe(36);
  });

  it('rejects channel counts that do not sum to C', async () => {
    const rt = await gpu();
    const t = upload(rt, randomArray(8 * 4, 1), [1, 8, 2, 2], 'fire9');
    expect(() => split(t, [3, 4])).toThrow(/split: channel counts \(3, 4\) sum to 7, expected 8 for fire9 \(1, 8, 2, 2\)/);
    expect(() => split(t, [8, 0])).toThrow(/split: channels\[1\] must be a positive integer, got 0/);
  });
});

describe('dropout', () => {
  it('is the identity at inference: returns its input itself', async () => {
    const rt = await gpu();
    const t = upload(rt, randomArray(12, 1), [1, 3, 2, 2]);
    expect(dropout(t)).toBe(t);
    t.dispose();
    expect(() => dropout(t)).toThrow(/tensor used after dispose/);
  });
});
