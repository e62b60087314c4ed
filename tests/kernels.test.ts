import { describe, expect, it } from 'vitest';
import { sampleGrid } from '../engine/kernels/kernel';
import { KERNELS } from '../engine/kernels/registry';
import { sumStack } from '../engine/ops/sum';
import { EXACT, expectClose, FORWARD_TOL } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { expectView, prefilled } from './helpers/view_writes';
import * as ref from './reference/sum';

describe('kernel registry', () => {
  it('lists each family once', () => {
    const names = KERNELS.map((k) => k.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(KERNELS.flatMap((k) => k.entryPoints.map((e) => [k.name, e, k] as const)))('%s:%s compiles with reflected layouts', async (_n, entryPoint, k) => {
    const rt = await gpu();
    const spec = { name: k.name, code: k.code, entryPoint };
    expect(rt.pipelines.has(spec)).toBe(false); // built here, inside the error scopes
    rt.device.pushErrorScope('validation');
    rt.device.pushErrorScope('internal');
    const program = rt.program(spec);
    const internal = await rt.device.popErrorScope();
    const validation = await rt.device.popErrorScope();
    expect({ validation: validation?.message ?? null, internal: internal?.message ?? null }).toEqual({ validation: null, internal: null });
    expect(program.bindings.length).toBeGreaterThan(0);
  });

  it('the error scopes catch a pipeline that does not compile', async () => {
    const rt = await gpu();
    rt.device.pushErrorScope('validation');
    rt.pipelines.get({ name: 'broken', code: '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }', entryPoint: 'main' });
    const error = await rt.device.popErrorScope();
    expect(error?.message).toMatch(/broken/);
  });
});

describe('expectView (the channel-view check every op test uses)', () => {
  const shape = [2, 3, 1, 2];
  const init = Float32Array.from({ length: 12 }, (_, i) => i + 1);
  const want = [0.5, 0.25, 0.5, 0.25]; // channel 1 of both samples
  const written = () => {
    const got = Float32Array.from(init);
    got.set([0.5, 0.25], 2);
    got.set([0.5, 0.25], 8);
    return got;
  };
  it('passes when only the view changed, and names a stray write outside it, even of zero or -0', () => {
    expect(() => expectView(written(), shape, 1, 1, want, init, EXACT, 'ok')).not.toThrow();
    const stray = written();
    stray[11] = 0;
    expect(() => expectView(stray, shape, 1, 1, want, init, EXACT, 'y')).toThrow(/y \(channels outside 1..1 must be untouched\).*\n.*at \(1, 2, 0, 1\): got 0, expected 12/);
    const zeros = new Float32Array(12);
    const negZero = Float32Array.from(zeros);
    negZero[0] = -0;
    expect(() => expectView(negZero, shape, 1, 1, [0, 0, 0, 0], zeros, EXACT, 'z')).toThrow(/float32 bits/);
    const wrong = written();
    wrong[8] = 0.75;
    expect(() => expectView(wrong, shape, 1, 1, want, init, EXACT, 'v')).toThrow(/v \(channels 1..1\)/);
  });
});

describe('sampleGrid', () => {
  it('keeps every dispatch dimension <= 65535, folding x into y and running samples on z', () => {
    expect(sampleGrid(1000, 3, 256)).toEqual([4, 1, 3]);
    expect(sampleGrid(65535 * 256, 2, 256)).toEqual([65535, 1, 2]);
    expect(sampleGrid(65535 * 256 + 1, 2, 256)).toEqual([65535, 2, 2]);
    const [x, y] = sampleGrid(2 ** 26, 1, 256);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y * 256).toBeGreaterThanOrEqual(2 ** 26);
  });
});

describe('sumStack (gradient accumulation)', () => {
  it.each([
    [1, [1, 1, 1, 1]],
    [2, [1, 3, 7, 5]],
    [3, [2, 5, 13, 11]],
    [4, [3, 16, 9, 9]],
  ] as const)('k=%i %j matches the float64 sum', async (k, shape) => {
    const rt = await gpu();
    const per = size(shape);
    const data = randomArray(k * per, 3 + k);
    const stack = upload(rt, data, [k * shape[0], shape[1], shape[2], shape[3]], 'stack');
    const y = track(sumStack(stack, k, shape));
    expectClose(await y.read(), ref.sumStack(data, k), FORWARD_TOL, shape, 'sum');
  });

  it('writes into a channel view and leaves the other channels alone', async () => {
    const rt = await gpu();
    const shape = [2, 3, 4, 5] as const;
    const data = randomArray(2 * size(shape), 1);
    const stack = upload(rt, data, [4, 3, 4, 5], 'stack');
    const big = prefilled(rt, [2, 7, 4, 5], 2, 'big');
    sumStack(stack, 2, shape, big.t.channels(2, 3));
    expectView(await big.t.read(), big.t.shape, 2, 3, ref.sumStack(data, 2), big.init, FORWARD_TOL, 'sum into view');
  });

  it('rejects a stack whose size is not k times the shape', async () => {
    const rt = await gpu();
    const stack = upload(rt, randomArray(24, 1), [2, 3, 2, 2]);
    expect(() => sumStack(stack, 3, [1, 3, 2, 2])).toThrow(/sumStack: stack has shape \(2, 3, 2, 2\), expected \(3, 3, 2, 2\)/);
  });
});
