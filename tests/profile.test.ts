// Profiling mode (rt.profile) and asynchronous pipeline warm-up (rt.warm), on a small generated
// model (conv, ReLU, max-pool, linear, softmax): one record per dispatch with sane fields, and
// after warm a forward builds no pipeline.

import { describe, expect, it } from 'vitest';
import { conv2dDirectSubgroupKernel, conv2dKernel } from '../engine/kernels/conv2d';
import { loadModel } from '../engine/models/load';
import type { ModelSpec } from '../engine/models/spec';
import { relu } from '../engine/ops/relu';
import { Runtime, type DispatchRecord } from '../engine/runtime';
import { Tensor } from '../engine/tensor';
import { generatedWeights, weightsFile } from './helpers/generated_weights';
import { gpu, track } from './helpers/gpu';
import { randomArray } from './helpers/random';

const [CIN, COUT, H, K, CLASSES] = [3, 8, 12, 3, 5];
const spec: ModelSpec = {
  format: 'cnnvis-model', version: 1, name: 'tiny',
  input: { name: 'data', channels: CIN, height: H, width: H, channelOrder: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], resizeShortSide: H },
  layers: [
    { type: 'conv', name: 'conv', inputs: ['data'], outChannels: COUT, inChannels: CIN, kernel: [K, K], stride: [1, 1], pad: [1, 1, 1, 1], groups: 1, bias: true },
    { type: 'relu', name: 'relu', inputs: ['conv'] },
    { type: 'maxpool', name: 'pool', inputs: ['relu'], kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false },
    { type: 'flatten', name: 'flatten', inputs: ['pool'] },
    { type: 'linear', name: 'fc', inputs: ['flatten'], outFeatures: CLASSES, inFeatures: COUT * (H / 2) * (H / 2), bias: true },
    { type: 'softmax', name: 'prob', inputs: ['fc'] },
  ],
  logits: 'fc',
  labels: Array.from({ length: CLASSES }, (_, i) => `class ${i}`),
} as ModelSpec;

async function tinyModel(rt: Runtime) {
  return loadModel(rt, { spec, weights: weightsFile(spec, generatedWeights(spec, 5)), file: 'generated tiny' });
}

describe('rt.profile', () => {
  it('records every dispatch of a forward + backward with family, grid, FLOPs and bytes', async () => {
    const rt = await gpu();
    const model = await tinyModel(rt);
    try {
      const x = track(Tensor.fromData(rt, randomArray(CIN * H * H, 1), [1, CIN, H, H], 'image'));
      const profile = await rt.profile(async () => {
        model.forward(x);
        return track(model.backward({ kind: 'class', index: 2 }, { rule: 'guided' }));
      });
      const recs = profile.records;
      expect(recs.length).toBeGreaterThan(5);
      expect(recs.map((r) => r.index)).toEqual(recs.map((_, i) => i));
      for (const r of recs) {
        expect(r.family, r.label).toMatch(/^[a-z0-9_]+$/);
        expect(r.label.startsWith(`${r.family}:${r.entryPoint}:`), r.label).toBe(true);
        expect(r.workgroupSize.every((d) => Number.isInteger(d) && d >= 1), r.label).toBe(true);
        expect(r.workgroups.every((d) => Number.isInteger(d) && d >= 1 && d <= 65535), r.label).toBe(true);
        expect(r.flops, r.label).not.toBeNull();
        expect(r.flops! >= 0 && r.bytes! > 0, r.label).toBe(true);
      }
      // The forward conv's family: conv2d, or on the direct path with subgroups conv2d_direct_subgroup.
      const families = new Set(recs.map((r) => (r.family === conv2dKernel.name || r.family === conv2dDirectSubgroupKernel.name ? 'conv2d' : r.family)));
      for (const f of ['conv2d', 'maxpool', 'linear', 'softmax', 'maxpool_backward', 'linear_backward_input', 'relu_backward']) {
        expect(families.has(f), `${f} in ${[...families].join(', ')}`).toBe(true);
      }
      // The forward conv: 2 * N * Cout * OH * OW * Cin/g * KH * KW, bytes at least x + w + b + y.
      const conv = recs.find((r) => r.family === conv2dKernel.name || r.family === conv2dDirectSubgroupKernel.name) as DispatchRecord;
      expect(conv.flops).toBe(2 * 1 * COUT * H * H * CIN * K * K);
      expect(conv.bytes).toBe(4 * (CIN * H * H + COUT * CIN * K * K + COUT + COUT * H * H));
      expect(conv.variant).toBe(rt.kind === 'cpu' ? 'direct' : 'tiled');
      const fc = recs.find((r) => r.family.startsWith('linear') && !r.family.includes('backward'))!;
      expect(fc.flops).toBe(2 * CLASSES * COUT * (H / 2) * (H / 2));
      if (profile.timing === 'timestamp-query') {
        expect(recs.every((r) => r.gpuNs !== null && r.gpuNs >= 0)).toBe(true);
      } else {
        expect(recs.every((r) => r.gpuNs === null)).toBe(true);
        expect(profile.note).toMatch(/no timestamp-query: only the wall time/);
      }
      expect(profile.timing).toBe(rt.gpu.timestamps ? 'timestamp-query' : 'wall-time');
      expect(profile.wallMs).toBeGreaterThan(0);
      expect(profile.result.shape).toEqual([1, CIN, H, H]);
    } finally {
      model.dispose();
    }
  }, 60_000);

  it('records nothing outside a profile, and refuses nested profiles', async () => {
    const rt = await gpu();
    const x = track(Tensor.fromData(rt, randomArray(64, 2), [1, 1, 8, 8], 'x'));
    const p = await rt.profile(() => track(relu(x)));
    expect(p.records.map((r) => [r.family, r.entryPoint, r.workgroups, r.flops, r.bytes])).toEqual([['relu', 'relu_forward', [1, 1, 1], 64, 2 * 64 * 4]]);
    track(relu(x));
    expect(p.records).toHaveLength(1);
    await expect(rt.profile(() => rt.profile(() => 0))).rejects.toThrow(/a profile is already running/);
  });
});

describe('rt.warm (createComputePipelineAsync)', () => {
  it('loadModel warms the forward: the cache has its pipelines and a forward creates no new ones', async () => {
    const rt = await Runtime.create();
    try {
      const model = await tinyModel(rt);
      const warmed = rt.pipelines.size;
      expect(warmed).toBeGreaterThanOrEqual(4);
      const x = Tensor.fromData(rt, randomArray(CIN * H * H, 3), [1, CIN, H, H], 'image');
      const probs = await model.classify(x, 1);
      expect(probs[0]).toHaveLength(1);
      expect(rt.pipelines.size).toBe(warmed);
      x.dispose();
      model.dispose();
    } finally {
      rt.destroy();
    }
  }, 60_000);

  it('warm(specs) builds each missing pipeline once, asynchronously', async () => {
    const rt = await Runtime.create();
    try {
      const x = Tensor.fromData(rt, randomArray(64, 4), [1, 1, 8, 8], 'x');
      const specs = rt.programsUsedBy(() => relu(x));
      expect(specs.map((s) => s.entryPoint)).toEqual(['relu_forward']);
      expect(rt.pipelines.size).toBe(0);
      expect(await rt.warm(specs)).toBe(1);
      expect(await rt.warm(specs)).toBe(0);
      expect(rt.pipelines.size).toBe(1);
      expect(Array.from(await relu(x).read())).toEqual(Array.from(await x.read(), (v) => Math.max(v, 0)));
      expect(rt.pipelines.size).toBe(1);
      x.dispose();
    } finally {
      rt.destroy();
    }
  });
});
