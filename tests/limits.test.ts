// Runtime limits and bindings: tensors are bound over exactly their extent (offset aligned down to
// 256 bytes, layout bases relative to it), so a device with the WebGPU spec default limits
// (maxStorageBufferBindingSize 128 MiB) runs AlexNet, whose weight arena (244 MB) and fc6 weights
// (151 MB) are both over that limit, and a binding over the limit fails before dispatch.

import { afterAll, describe, expect, it } from 'vitest';
import { alexnetTorchvisionSpec } from '../engine/models/alexnet';
import { loadModel } from '../engine/models/load';
import { linearBackwardWeights } from '../engine/ops/linear';
import { relu } from '../engine/ops/relu';
import { Runtime } from '../engine/runtime';
import { BIND_ALIGN, Tensor } from '../engine/tensor';
import { EXACT, expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { generatedWeights, weightsFile } from './helpers/generated_weights';
import { gpu, track } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { reluForward } from './reference/relu';

const SPEC_DEFAULT_BINDING = 128 * 1024 * 1024;
const MB = 1e6;

let small: Promise<Runtime> | null = null;
/** A second runtime with the spec default limits (none requested). */
function defaultLimits(): Promise<Runtime> {
  small ??= Runtime.create({ limits: 'default' });
  return small;
}
afterAll(async () => (await small)?.destroy());

describe('tensor bindings', () => {
  it("a view binds [base, end) from base aligned down to 256 bytes, and layout() is relative to it", async () => {
    const rt = await gpu();
    const big = track(Tensor.empty(rt, [1, 1, 1, 1000], 'big'));
    const v = big.channels(0, 1).reshape([1, 1, 1, 1000]);
    expect(v.binding()).toEqual({ buffer: big.buffer, offset: 0, size: 4000 });
    const x = Tensor.view(rt, big.buffer, [2, 3, 2, 2], 'x', 70, 100);
    // Elements [70, 70 + 100 + 12) = bytes [280, 728): offset 256, base 70 - 64 = 6.
    expect(x.binding()).toEqual({ buffer: big.buffer, offset: 256, size: 728 - 256 });
    expect(x.layout('x')).toEqual({ x_base: 6, x_stride: 100 });
    expect(x.bindOffset % BIND_ALIGN).toBe(0);
  });

  it('runs a kernel on a view more than 128 MiB into a 200 MB buffer, bound with offset and size', async () => {
    const rt = await defaultLimits();
    expect(rt.device.limits.maxStorageBufferBindingSize).toBe(SPEC_DEFAULT_BINDING);
    const arena = track(Tensor.empty(rt, [1, 1, 1, (200 * MB) / 4], 'arena'));
    const base = (140 * 1024 * 1024) / 4 + 13;
    const data = randomArray(4 * 9 * 11, 3);
    const x = Tensor.view(rt, arena.buffer, [1, 4, 9, 11], 'deep view', base);
    x.write(data);
    expect(x.binding().offset).toBe(Math.floor((base * 4) / 256) * 256);
    expect(x.binding().size).toBe(13 * 4 + data.length * 4);
    const y = track(relu(x));
    expectClose(await y.read(), reluForward(data), EXACT, x.shape, 'relu of a deep view');
  });

  it('a binding over maxStorageBufferBindingSize fails before dispatch, naming kernel, binding and sizes', async () => {
    const rt = await defaultLimits();
    const huge = track(Tensor.empty(rt, [1, 1, 1, (130 * 1024 * 1024) / 4], 'huge'));
    expect(() => relu(huge)).toThrow(/relu:relu_forward.*binding 'x' \(tensor 'huge'\) spans 136314880 bytes, over the device's maxStorageBufferBindingSize 134217728/);
  });
});

describe('linear weights over the binding limit run in row blocks', () => {
  it('backward to the weights writes a 136 MB dw on a 128 MiB-binding device', async () => {
    const rt = await defaultLimits();
    const [inF, outF] = [8320, 4096];
    expect(4 * inF * outF).toBeGreaterThan(SPEC_DEFAULT_BINDING);
    const xd = randomArray(inF, 20);
    const dyd = randomArray(outF, 21);
    const x = track(Tensor.fromData(rt, xd, [1, inF, 1, 1], 'x'));
    const dy = track(Tensor.fromData(rt, dyd, [1, outF, 1, 1], 'dy'));
    const { dw, db } = linearBackwardWeights(x, dy, true);
    track(dw);
    track(db!);
    const got = await dw.read();
    // Strided samples of dw = dy^T x (batch 1: dw[o, i] = dy[o] x[i]), through every row block.
    const at = Array.from({ length: 5000 }, (_, k) => Math.floor((k * (inF * outF - 1)) / 4999));
    expectClose(at.map((j) => got[j]), at.map((j) => dyd[Math.floor(j / inF)] * xd[j % inF]), FORWARD_TOL, undefined, 'dw samples');
    expectClose(await db!.read(), dyd, FORWARD_TOL, [outF], 'db');
  }, 120_000);
});

describe('AlexNet on a device with the spec default limits', () => {
  it('forward and guided backward match the run with the adapter limits', async () => {
    const spec = alexnetTorchvisionSpec(Array.from({ length: 1000 }, (_, i) => `class ${i}`));
    const weights = generatedWeights(spec, 100);
    expect(weights.get('classifier.1.weight')!.byteLength).toBeGreaterThan(SPEC_DEFAULT_BINDING);
    const bytes = weightsFile(spec, weights);
    const input = randomArray(3 * 224 * 224, 7, 2);
    const run = async (rt: Runtime) => {
      const model = await loadModel(rt, { spec, weights: bytes, file: 'generated alexnet' });
      try {
        const x = track(Tensor.fromData(rt, input, [1, 3, 224, 224], 'image'));
        model.forward(x);
        const logits = await model.readActivation(spec.logits);
        const top = logits.indexOf(Math.max(...logits));
        const g = track(model.backward({ kind: 'class', index: top }, { rule: 'guided' }));
        return { logits, top, grad: await g.read() };
      } finally {
        model.dispose();
      }
    };
    const full = await run(await gpu());
    const limited = await run(await defaultLimits());
    expect(limited.top).toBe(full.top);
    const scale = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const [ls, gs] = [scale(full.logits), scale(full.grad)];
    expect(gs).toBeGreaterThan(0);
    expectClose(limited.logits.map((v) => v / ls), full.logits.map((v) => v / ls), FORWARD_TOL, [1000], 'logits (scaled)');
    expectClose(limited.grad.map((v) => v / gs), full.grad.map((v) => v / gs), GRAD_TOL, [1, 3, 224, 224], 'guided grad (scaled)');
  }, 300_000);
});
