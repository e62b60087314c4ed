import { describe, expect, it } from 'vitest';
import { relu } from '../engine/ops/relu';
import { Runtime } from '../engine/runtime';
import { Tensor } from '../engine/tensor';
import { randomArray } from './helpers/random';

describe('runtime errors', () => {
  it('reports a lost device instead of hanging', async () => {
    const rt = await Runtime.create();
    const x = Tensor.fromData(rt, randomArray(16, 1), [1, 1, 4, 4], 'x');
    expect(Array.from(await relu(x).read()).length).toBe(16);
    rt.device.destroy();
    await rt.gpu.lost;
    expect(rt.gpu.lostReason).toMatch(/destroyed/);
    expect(() => relu(x)).toThrow(/WebGPU device lost \(destroyed/);
    await expect(x.read()).rejects.toThrow(/WebGPU device lost/);
  });

  it('surfaces a WebGPU validation error at the next read, naming the problem', async () => {
    const rt = await Runtime.create();
    try {
      const x = Tensor.fromData(rt, randomArray(16, 1), [1, 1, 4, 4], 'victim');
      x.buffer.destroy(); // a bug in a caller: the kernel now reads a destroyed buffer
      const y = relu(x);
      await expect(y.read()).rejects.toThrow(/WebGPU error: .*victim/);
    } finally {
      rt.destroy();
    }
  });

  it('rejects a buffer over the device limit before allocating it', async () => {
    const rt = await Runtime.create();
    try {
      const limit = rt.device.limits.maxBufferSize;
      const side = Math.ceil(Math.sqrt(limit / 4 + 1));
      expect(() => Tensor.empty(rt, [1, 1, side, side + 1], 'huge')).toThrow(/huge: buffer of \d+ bytes exceeds the device's maxBufferSize/);
    } finally {
      rt.destroy();
    }
  });
});
