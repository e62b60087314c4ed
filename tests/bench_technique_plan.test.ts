// The technique rows' plan (scripts/bench/technique_plan.ts), shared by `npm run bench --
// --techniques` and `npm run bench:browser`: on a CPU adapter TF.js's side of every row that takes
// a gradient through an LRN layer is not timed (TF.js's LRN backward takes minutes per call
// there), the row says why, and forward-only rows (occlusion) still time TF.js. Each call carries
// the counts its numbers depend on. A tiny Caffe-style net with one LRN, 16 x 16, in Node (Dawn).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type Model } from '../engine/index';
import { writeSafetensors } from '../engine/models/safetensors';
import type { LayerSpec, ModelSpec } from '../engine/models/spec';
import { Runtime } from '../engine/runtime';
import { QUICK_ATTRIBUTION } from '../scripts/bench/attribution_cases';
import { installNavigatorGpu } from '../scripts/bench/gpu';
import { attributionCalls, tfjsSkip, tfModelAt, timeCall, type TechniqueCall } from '../scripts/bench/technique_plan';
import type { TfModel } from '../scripts/bench/tf_techniques';
import { startTfjs, type TfjsHandle } from '../scripts/bench/tfjs';
import { randomArray } from './helpers/random';

const S = 16;
const conv = (name: string, input: string, cin: number, cout: number, s: number): LayerSpec =>
  ({ type: 'conv', name, inputs: [input], inChannels: cin, outChannels: cout, kernel: [3, 3], stride: [s, s], pad: [1, 1, 1, 1], groups: 1, bias: true });
const TINY_LRN: ModelSpec = {
  format: 'cnnvis-model', version: 1, name: 'tiny_lrn', source: 'bench_technique_plan.test.ts',
  input: { name: 'data', channels: 3, height: S, width: S, channelOrder: 'bgr', scale: 1, mean: [104, 117, 123], std: [1, 1, 1] },
  layers: [
    conv('c1', 'data', 3, 8, 1), { type: 'relu', name: 'r1', inputs: ['c1'] },
    { type: 'lrn', name: 'n1', inputs: ['r1'], size: 5, alpha: 1e-4, beta: 0.75, k: 1 },
    conv('c2', 'n1', 8, 6, 2), { type: 'relu', name: 'r2', inputs: ['c2'] },
    { type: 'globalavgpool', name: 'gap', inputs: ['r2'] },
    { type: 'linear', name: 'fc', inputs: ['gap'], inFeatures: 6, outFeatures: 4, bias: true },
    { type: 'softmax', name: 'prob', inputs: ['fc'] },
  ],
  logits: 'fc',
  labels: ['a', 'b', 'c', 'd'],
};

function tinyWeights(spec: ModelSpec): Uint8Array {
  let seed = 70;
  return writeSafetensors(spec.layers.flatMap((l) => {
    if (l.type !== 'conv' && l.type !== 'linear') return [];
    const shape = l.type === 'conv' ? [l.outChannels, l.inChannels / l.groups, ...l.kernel] : [l.outFeatures, l.inFeatures];
    const n = shape.reduce((a, b) => a * b, 1);
    return [
      { name: `${l.name}.weight`, shape, data: randomArray(n, seed++, 2 / Math.sqrt(n / shape[0])) },
      { name: `${l.name}.bias`, shape: [shape[0]], data: randomArray(shape[0], seed++, 0.2) },
    ];
  }));
}

describe('tfjsSkip: which TF.js sides are not timed', () => {
  const googlenet = JSON.parse(readFileSync(join(__dirname, '..', 'weights', 'googlenet', 'model.json'), 'utf8')) as ModelSpec;
  const squeezenet = JSON.parse(readFileSync(join(__dirname, '..', 'weights', 'squeezenet1_1', 'model.json'), 'utf8')) as ModelSpec;

  it('gradients through GoogLeNet\'s LRN layers on CPU adapters, naming them; nothing on GPUs, forward passes or LRN-free networks', () => {
    expect(tfjsSkip(googlenet, 'cpu', true)).toBe(
      "skipped on CPU adapters: the gradient passes LRN (pool1/norm1, conv2/norm2) and TF.js's LRN backward takes minutes per call there");
    expect(tfjsSkip(googlenet, 'gpu', true)).toBeNull();
    expect(tfjsSkip(googlenet, 'cpu', false)).toBeNull();
    expect(tfjsSkip(squeezenet, 'cpu', true)).toBeNull();
  });
});

describe('attributionCalls on a network with LRN', () => {
  let tf: TfjsHandle;
  let rt: Runtime;
  let model: Model;
  let tfm: TfModel;
  beforeAll(async () => {
    await installNavigatorGpu();
    tf = await startTfjs();
    rt = await Runtime.create();
    const weights = tinyWeights(TINY_LRN);
    model = await loadModel(rt, { spec: TINY_LRN, weights });
    tfm = tfModelAt(tf.tf, TINY_LRN, weights, S);
  }, 60_000);
  afterAll(() => {
    tfm?.net.dispose();
    model?.dispose();
    rt?.destroy();
  });

  it('times ours on every row; TF.js only where no gradient passes the LRN (on CPU adapters), each row with its counts', async () => {
    const reason = rt.kind === 'cpu' ? "skipped on CPU adapters: the gradient passes LRN (n1) and TF.js's LRN backward takes minutes per call there" : null;
    const seen: string[] = [];
    await attributionCalls(model, tfm, S, true, { warmup: 0, iters: 1, repeats: 1 }, async (c: TechniqueCall) => {
      expect(c.counts, c.item).toEqual(QUICK_ATTRIBUTION);
      expect(c.backward, c.item).toBe(!c.item.startsWith('occlusion'));
      const t = await timeCall(c);
      expect(t.ours.error, c.item).toBeUndefined();
      expect(t.ours.ms, c.item).toBeGreaterThan(0);
      if (c.backward && reason) {
        expect(c.tfjs, c.item).toBeNull();
        expect(c.tfjsSkipped, c.item).toBe(reason);
        expect(t.tfjs, c.item).toEqual({ ms: null, rate: null, error: reason });
        expect(t.ratio, c.item).toBeNull();
      } else {
        expect(c.tfjsSkipped, c.item).toBeUndefined();
        expect(t.tfjs?.error, c.item).toBeUndefined();
        expect(t.tfjs!.ms, c.item).toBeGreaterThan(0);
      }
      seen.push(`${c.item} ${t.tfjs?.ms === null ? 'skipped' : 'timed'}`);
    });
    const tfSide = reason ? 'skipped' : 'timed';
    expect(seen).toEqual([`saliency ${tfSide}`, `guided ${tfSide}`, `gradcam ${tfSide}`, 'occlusion 2x2 timed', `smoothgrad n=4 ${tfSide}`, `ig m=4 ${tfSide}`]);
  }, 120_000);
});
