import { describe, expect, it } from 'vitest';
import { sampleGrid } from '../engine/kernels/kernel';
import { KERNELS } from '../engine/kernels/registry';
import { sumStack } from '../engine/ops/sum';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';

describe('kernel registry', () => {
  it('lists each family once', () => {
    const names = KERNELS.map((k) => k.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(KERNELS.flatMap((k) => k.entryPoints.map((e) => [k.name, e, k] as const)))('%s:%s compiles with reflected layouts', async (_n, entryPoint, k) => {
    const rt = await gpu();
    const program = rt.program({ name: k.name, code: k.code, entryPoint });
    expect(program.bindings.length).toBeGreaterThan(0);
    // A compile or validation error surfaces on the next check.
    await rt.sync();
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
    const want = new Float64Array(per);
    for (let s = 0; s < k; s++) for (let i = 0; i < per; i++) want[i] += data[s * per + i];
    expectClose(await y.read(), want, FORWARD_TOL, shape, 'sum');
  });

  it('writes into a channel view and leaves the other channels alone', async () => {
    const rt = await gpu();
    const shape = [2, 3, 4, 5] as const;
    const data = randomArray(2 * size(shape), 1);
    const stack = upload(rt, data, [4, 3, 4, 5], 'stack');
    const bigData = randomArray(2 * 7 * 20, 2);
    const big = upload(rt, bigData, [2, 7, 4, 5], 'big');
    sumStack(stack, 2, shape, big.channels(2, 3));
    const got = await big.read();
    const want = Float64Array.from(bigData);
    const per = size(shape);
    for (let n = 0; n < 2; n++) for (let i = 0; i < 60; i++) want[n * 140 + 40 + i] = data[n * 60 + i] + data[per + n * 60 + i];
    expectClose(got, want, FORWARD_TOL, [2, 7, 4, 5], 'sum into view');
  });

  it('rejects a stack whose size is not k times the shape', async () => {
    const rt = await gpu();
    const stack = upload(rt, randomArray(24, 1), [2, 3, 2, 2]);
    expect(() => sumStack(stack, 3, [1, 3, 2, 2])).toThrow(/sumStack: stack has shape \(2, 3, 2, 2\), expected \(3, 3, 2, 2\)/);
  });
});
