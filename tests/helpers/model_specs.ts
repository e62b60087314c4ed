// Small generated networks for the model tests: a GoogLeNet-like and a SqueezeNet-like spec,
// random weights, loading, and the float64 reference's view of seeds and layer names.

import { loadModel } from '../../engine/models/load';
import type { Model } from '../../engine/models/graph';
import type { BackwardSeed } from '../../engine/models/backward';
import { writeSafetensors } from '../../engine/models/safetensors';
import { expectedTensors } from '../../engine/models/shapes';
import type { ConvLayer, LayerSpec, LinearLayer, ModelSpec, PoolLayer } from '../../engine/models/spec';
import { Runtime } from '../../engine/runtime';
import { vi } from 'vitest';
import { randomArray } from './random';
import type { RefWeights } from '../reference/network';

export type P4 = [number, number, number, number];
export const conv = (name: string, input: string, inC: number, outC: number, k: number, stride = 1, pad: P4 = [0, 0, 0, 0], groups = 1): ConvLayer => ({
  type: 'conv', name, inputs: [input], inChannels: inC, outChannels: outC, kernel: [k, k], stride: [stride, stride], pad, groups, bias: true,
});
export const relu = (name: string, input: string): LayerSpec => ({ type: 'relu', name, inputs: [input] });
export const pool = (type: 'maxpool' | 'avgpool', name: string, input: string, k: number, stride: number, pad: P4, ceil: boolean, countIncludePad?: boolean): PoolLayer => ({
  type, name, inputs: [input], kernel: [k, k], stride: [stride, stride], pad, ceil, ...(countIncludePad === undefined ? {} : { countIncludePad }),
});
export const linear = (name: string, input: string, inF: number, outF: number): LinearLayer => ({ type: 'linear', name, inputs: [input], inFeatures: inF, outFeatures: outF, bias: true });

export function spec(name: string, size: [number, number], layers: LayerSpec[], logits: string): ModelSpec {
  return {
    format: 'cnnvis-model', version: 1, name, source: 'test', logits, labels: [],
    input: { name: 'data', channels: 3, height: size[0], width: size[1], channelOrder: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
    layers,
  };
}

/** GoogLeNet-like: conv+relu, ceil max pool, LRN, a 3-branch inception, avg pool, dropout, flatten, linear+relu, linear, softmax. */
export const INCEPTION = spec('mini_inception', [23, 19], [
  conv('conv1', 'data', 3, 8, 3, 2, [1, 0, 1, 1]), relu('relu1', 'conv1'),
  pool('maxpool', 'pool1', 'relu1', 3, 2, [0, 0, 0, 0], true),
  { type: 'lrn', name: 'norm1', inputs: ['pool1'], size: 5, alpha: 0.5, beta: 0.75, k: 2 },
  conv('a/1x1', 'norm1', 8, 4, 1), relu('a/relu_1x1', 'a/1x1'),
  conv('a/3x3_reduce', 'norm1', 8, 3, 1), relu('a/relu_3x3_reduce', 'a/3x3_reduce'),
  conv('a/3x3', 'a/relu_3x3_reduce', 3, 5, 3, 1, [1, 1, 1, 1]), relu('a/relu_3x3', 'a/3x3'),
  pool('maxpool', 'a/pool', 'norm1', 3, 1, [1, 1, 1, 1], false),
  conv('a/pool_proj', 'a/pool', 8, 2, 1), relu('a/relu_pool_proj', 'a/pool_proj'),
  { type: 'concat', name: 'a/output', inputs: ['a/relu_1x1', 'a/relu_3x3', 'a/relu_pool_proj'] },
  pool('avgpool', 'pool2', 'a/output', 3, 2, [1, 1, 1, 1], true, false),
  { type: 'dropout', name: 'drop', inputs: ['pool2'], ratio: 0.4 },
  { type: 'flatten', name: 'flat', inputs: ['drop'] },
  linear('fc1', 'flat', 99, 7), relu('relu_fc1', 'fc1'),
  linear('fc2', 'relu_fc1', 7, 5),
  { type: 'softmax', name: 'prob', inputs: ['fc2'] },
], 'fc2');

/** SqueezeNet-like: a fire module, grouped asymmetric-pad conv read by two layers (unfused ReLU), adaptive and global pools, a concat needing one copy. */
export const FIRE = spec('mini_fire', [17, 17], [
  conv('conv1', 'data', 3, 6, 3, 2), relu('relu1', 'conv1'),
  conv('fire/squeeze', 'relu1', 6, 4, 1), relu('fire/relu_squeeze', 'fire/squeeze'),
  conv('fire/e1', 'fire/relu_squeeze', 4, 4, 1), relu('fire/relu_e1', 'fire/e1'),
  conv('fire/e3', 'fire/relu_squeeze', 4, 4, 3, 1, [1, 1, 1, 1]), relu('fire/relu_e3', 'fire/e3'),
  { type: 'concat', name: 'fire/concat', inputs: ['fire/relu_e1', 'fire/relu_e3'] },
  conv('conv_g', 'fire/concat', 8, 6, 3, 1, [0, 1, 1, 0], 2), relu('relu_g', 'conv_g'),
  { type: 'adaptiveavgpool', name: 'pool_a', inputs: ['conv_g'], output: [3, 2] },
  { type: 'globalavgpool', name: 'gap', inputs: ['relu_g'] },
  { type: 'flatten', name: 'flat_a', inputs: ['pool_a'] },
  { type: 'concat', name: 'feat', inputs: ['gap', 'flat_a'] },
  linear('fc', 'feat', 42, 4),
], 'fc');

export interface Case {
  spec: ModelSpec;
  n: number;
  model: Model;
  weights: RefWeights;
  input: Float32Array;
}

export function randomWeights(s: ModelSpec, seed: number) {
  return s.layers.flatMap(expectedTensors).map((t, i) => {
    const fanIn = t.shape.length === 1 ? 4 : t.shape.slice(1).reduce((a, b) => a * b, 1);
    return { ...t, data: randomArray(t.shape.reduce((a, b) => a * b, 1), seed + i, 1.5 / Math.sqrt(fanIn)) };
  });
}

export async function build(rt: Runtime, s: ModelSpec, n: number, seed: number): Promise<Case> {
  const tensors = randomWeights(s, seed);
  const model = await loadModel(rt, { spec: s, weights: writeSafetensors(tensors) });
  const { channels, height, width } = s.input;
  return { spec: s, n, model, weights: new Map(tensors.map((t) => [t.name, t.data])), input: randomArray(n * channels * height * width, seed + 100) };
}

export const shapeOf = (c: Case) => [c.n, c.spec.input.channels, c.spec.input.height, c.spec.input.width];

/** The reference layer whose output the GPU shows under `name` (a fused conv shows its ReLU's). */
export function refName(model: Model, name: string): string {
  return model.layers.find((l) => l.name === name)!.fusedRelu ?? name;
}

/** The seed as a float64 gradient of the reference layer's shape. */
export function refSeed(c: Case, seed: BackwardSeed, shape: readonly number[]): Float64Array {
  const [n, ch, h, w] = shape;
  const g = new Float64Array(n * ch * h * w);
  for (let s = 0; s < n; s++) {
    if (seed.kind === 'class') g[s * ch + (typeof seed.index === 'number' ? seed.index : seed.index[s])] = 1;
    if (seed.kind === 'neuron') g[((s * ch + seed.channel) * h + seed.y) * w + seed.x] = 1;
    if (seed.kind === 'channel') g.fill(1, (s * ch + seed.channel) * h * w, (s * ch + seed.channel + 1) * h * w);
  }
  if (seed.kind === 'gradient') g.set(seed.gradient as Float32Array);
  return g;
}


/** The spec with another input size (the float64 reference reads its size from the spec). */
export function atSize(s: ModelSpec, height: number, width: number): ModelSpec {
  return { ...s, input: { ...s.input, height, width } };
}

/** The spec cut down to `until` and the layers it reads from (what forward({ until }) runs). */
export function truncated(s: ModelSpec, until: string): ModelSpec {
  const need = new Set([until]);
  for (const l of [...s.layers].reverse()) if (need.has(l.name)) l.inputs.forEach((i) => need.add(i));
  return { ...s, layers: s.layers.filter((l) => need.has(l.name)) };
}

/** Run `f` and return the labels of the programs it dispatched, in order. */
export function dispatchLabels(rt: Runtime, f: () => void): string[] {
  const labels: string[] = [];
  const spy = vi.spyOn(rt, 'dispatch').mockImplementation(function (this: Runtime, program, resources, wg) {
    labels.push(program.label);
    return Runtime.prototype.dispatch.call(this, program, resources, wg);
  });
  try {
    f();
  } finally {
    spy.mockRestore();
  }
  return labels;
}
