// The kernel inspector's engine side (engine/inspect.ts): a profiled forward + backward pass of
// TinyVGG whose every dispatch is tagged with the layer that issued it, and the calibration run
// that measures the adapter's compute and bandwidth ceilings.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2dDirectSubgroupKernel, conv2dKernel } from '../engine/kernels/conv2d';
import { loadModel, Tensor, type Model } from '../engine/index';
import { calibrate, kernelSource, profilePass } from '../engine/inspect';
import { setProfileScope } from '../engine/profile';
import { gpu } from './helpers/gpu';
import { randomArray } from './helpers/random';

let model: Model;
let input: Tensor;

beforeAll(async () => {
  model = await loadModel(await gpu(), 'weights/tinyvgg');
  input = Tensor.fromData(model.rt, randomArray(3 * 64 * 64, 7, 2), [1, 3, 64, 64], 'inspect input');
});

afterAll(() => {
  input?.dispose();
  model?.dispose();
});

describe('profilePass', () => {
  it('records the forward and the backward of every layer, each dispatch tagged with its layer', async () => {
    const p = await profilePass(model, input);
    const recs = p.profile.records;
    const convs = model.spec.layers.filter((l) => l.type === 'conv').map((l) => l.name);
    // Every conv runs forward once and backward to its input once (the first conv included: the
    // image gradient); the backward is a conv2d_backward_input or, on CPU variants, a conv2d of
    // the flipped kernel. Either way two conv dispatches carry each conv layer's name.
    const convRecs = recs.filter((r) => r.family.startsWith('conv2d'));
    for (const c of convs) expect(convRecs.filter((r) => r.scope === c).length, `conv dispatches of ${c}`).toBe(2);
    expect(convRecs.length).toBe(2 * convs.length);
    const relus = recs.filter((r) => r.family === 'relu_backward');
    expect(relus.length).toBeGreaterThan(0);
    for (const r of relus) expect(r.scope, 'a relu backward scoped to its ReLU layer').toMatch(/^relu_/);
    const names = new Set(p.layers.map((l) => l.name));
    for (const r of recs) expect(r.scope === null || names.has(r.scope), `record ${r.index} (${r.label}) scope ${r.scope}`).toBe(true);
    // FLOPs of the conv forwards: 2 * Cout * Cin * kh * kw * Hout * Wout each.
    const conv = recs.find((r) => (r.family === conv2dKernel.name || r.family === conv2dDirectSubgroupKernel.name) && r.scope === convs[0])!;
    const l = model.spec.layers.find((x) => x.name === convs[0]) as Extract<(typeof model.spec.layers)[number], { type: 'conv' }>;
    const [, h, w] = p.layers.find((x) => x.name === convs[0])!.shape;
    expect(conv.flops).toBeGreaterThanOrEqual(2 * l.outChannels * l.inChannels * l.kernel[0] * l.kernel[1] * h * w);
    expect(conv.bytes).toBeGreaterThan(0);
    expect(p.profile.timing).toBe(model.rt.gpu.timestamps ? 'timestamp-query' : 'wall-time');
    expect(p.label.length).toBeGreaterThan(0);
  });

  it('tags nothing outside a layer', async () => {
    expect(setProfileScope(null)).toBeNull();
    const prof = await model.rt.profile(async () => {
      const y = Tensor.empty(model.rt, [1, 3, 64, 64], 'copy');
      input.copyTo(y);
      await model.rt.sync();
      y.dispose();
    });
    expect(prof.records.every((r) => r.scope === null)).toBe(true);
  });
});

describe('calibrate', () => {
  it('measures positive, finite compute and bandwidth ceilings', async () => {
    const c = await calibrate(model.rt, { gemm: [32, 128, 128], floats: 1 << 16, reps: 2 });
    expect(Number.isFinite(c.flopsPerSec) && c.flopsPerSec > 1e6).toBe(true);
    expect(Number.isFinite(c.bytesPerSec) && c.bytesPerSec > 1e6).toBe(true);
    expect(c.note).toMatch(/GEMMs \(32x128\) x \(128x128\)/);
  });

  it('finds the WGSL source of a kernel family', () => {
    expect(kernelSource('conv2d')).toMatch(/@compute/);
    expect(kernelSource('no_such_kernel')).toBe('');
  });
});
