// Loading a converted model (spec.ts): validate the ModelSpec (layer types, inputs, unique names,
// no cycles), infer every layer's output shape, check every tensor of the safetensors file against
// the graph, and upload all weights as ONE GPU buffer (the weight arena) with named views.
// Errors name the file, the layer or tensor, and expected vs actual.

import type { Runtime } from '../runtime';
import { shapeStr } from '../tensor';
import { Model } from './graph';
import { openByteStream, streamWeights, type ByteStream, type ProgressFn } from './weights';
import type { LayerSpec, LayerType, ModelSpec } from './spec';

/**
 * Where a model comes from: a directory (Node, read with fs) or a base URL (browser, or any
 * `scheme://` string; fetched) holding `model.json` + `weights.safetensors`, or the two in memory.
 */
export type ModelSource = string | { spec: ModelSpec; weights: Uint8Array; file?: string };

/** Per-sample output shape (C, H, W). */
export type Chw = [number, number, number];

const LAYER_TYPES: readonly LayerType[] = [
  'conv', 'linear', 'relu', 'maxpool', 'avgpool', 'globalavgpool', 'adaptiveavgpool', 'lrn', 'concat', 'dropout', 'flatten', 'softmax',
];

/** Elements between weight views in the arena (256 bytes), so every view starts aligned. */

/**
 * Checks the spec and returns its layers in an executable (topological) order: the listed order
 * whenever it already is one.
 */
export function validateSpec(spec: ModelSpec, file: string): LayerSpec[] {
  const fail = (msg: string) => new Error(`${file}: ${msg}`);
  if (spec?.format !== 'cnnvis-model' || spec.version !== 1) {
    throw fail(`not a cnnvis-model version 1 spec (format '${spec?.format}', version ${spec?.version})`);
  }
  if (!spec.input?.name) throw fail('spec.input.name is missing');
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) throw fail('spec has no layers');
  const byName = new Map<string, LayerSpec>();
  for (const l of spec.layers) {
    if (typeof l.name !== 'string' || !l.name) throw fail('a layer has no name');
    if (!LAYER_TYPES.includes(l.type)) throw fail(`layer '${l.name}' has unknown type '${l.type}' (known: ${LAYER_TYPES.join(', ')})`);
    if (byName.has(l.name) || l.name === spec.input.name) throw fail(`duplicate layer name '${l.name}'`);
    byName.set(l.name, l);
  }
  for (const l of spec.layers) {
    if (!Array.isArray(l.inputs) || l.inputs.length === 0) throw fail(`layer '${l.name}' has no inputs`);
    if (l.type !== 'concat' && l.inputs.length !== 1) throw fail(`layer '${l.name}' (${l.type}) takes 1 input, got ${l.inputs.length}`);
    for (const i of l.inputs) {
      if (i !== spec.input.name && !byName.has(i)) throw fail(`layer '${l.name}' reads '${i}', which is neither a layer nor the input`);
    }
  }
  if (!byName.has(spec.logits)) throw fail(`logits layer '${spec.logits}' does not exist`);
  // Depth-first post-order; a layer met again while still on the stack closes a cycle.
  const order: LayerSpec[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string) => {
    if (name === spec.input.name || state.get(name) === 'done') return;
    if (state.get(name) === 'open') throw fail(`the layers form a cycle: ${[...stack.slice(stack.indexOf(name)), name].join(' -> ')}`);
    state.set(name, 'open');
    stack.push(name);
    const l = byName.get(name)!;
    for (const i of l.inputs) visit(i);
    stack.pop();
    state.set(name, 'done');
    order.push(l);
  };
  for (const l of spec.layers) visit(l.name);
  return order;
}

/** Caffe/PyTorch pooled extent; with ceil, a last window starting in the end padding is dropped. */
function pooledExtent(len: number, k: number, s: number, lo: number, hi: number, ceil: boolean): number {
  const span = len + lo + hi - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= len + lo) out--;
  return out;
}

/** Per-sample output shape of every layer (and the input) in `order`, checking each layer's input. */
export function inferShapes(spec: ModelSpec, order: readonly LayerSpec[], file: string): Map<string, Chw> {
  const shapes = new Map<string, Chw>([[spec.input.name, [spec.input.channels, spec.input.height, spec.input.width]]]);
  for (const l of order) {
    const fail = (msg: string) => new Error(`${file}: layer '${l.name}' (${l.type}): ${msg}`);
    const ins = l.inputs.map((i) => shapes.get(i)!);
    const [c, h, w] = ins[0];
    let out: Chw;
    switch (l.type) {
      case 'conv': {
        if (c !== l.inChannels) throw fail(`input '${l.inputs[0]}' has ${c} channels, expected inChannels ${l.inChannels}`);
        if (l.groups < 1 || c % l.groups || l.outChannels % l.groups) throw fail(`groups ${l.groups} must divide in ${c} and out ${l.outChannels} channels`);
        const oh = Math.floor((h + l.pad[0] + l.pad[1] - l.kernel[0]) / l.stride[0]) + 1;
        const ow = Math.floor((w + l.pad[2] + l.pad[3] - l.kernel[1]) / l.stride[1]) + 1;
        out = [l.outChannels, oh, ow];
        break;
      }
      case 'linear':
        if (c * h * w !== l.inFeatures) throw fail(`input '${l.inputs[0]}' ${shapeStr([c, h, w])} has ${c * h * w} features, expected inFeatures ${l.inFeatures}`);
        out = [l.outFeatures, 1, 1];
        break;
      case 'maxpool':
      case 'avgpool':
        out = [c, pooledExtent(h, l.kernel[0], l.stride[0], l.pad[0], l.pad[1], l.ceil), pooledExtent(w, l.kernel[1], l.stride[1], l.pad[2], l.pad[3], l.ceil)];
        break;
      case 'globalavgpool': out = [c, 1, 1]; break;
      case 'adaptiveavgpool': out = [c, l.output[0], l.output[1]]; break;
      case 'flatten': out = [c * h * w, 1, 1]; break;
      case 'concat': {
        const bad = ins.findIndex((s) => s[1] !== h || s[2] !== w);
        if (bad >= 0) throw fail(`input '${l.inputs[bad]}' is ${shapeStr(ins[bad])}, expected spatial size ${h}x${w} like '${l.inputs[0]}'`);
        out = [ins.reduce((a, s) => a + s[0], 0), h, w];
        break;
      }
      default: out = [c, h, w];
    }
    if (out.some((d) => !Number.isInteger(d) || d < 1)) throw fail(`output shape ${shapeStr(out)} is empty for input ${shapeStr([c, h, w])}`);
    shapes.set(l.name, out);
  }
  return shapes;
}

/** The tensors a layer owns in the weights file, with their shapes as stored there. */
export function expectedTensors(l: LayerSpec): { name: string; shape: number[] }[] {
  if (l.type === 'conv') {
    const w = { name: `${l.name}.weight`, shape: [l.outChannels, l.inChannels / l.groups, l.kernel[0], l.kernel[1]] };
    return l.bias ? [w, { name: `${l.name}.bias`, shape: [l.outChannels] }] : [w];
  }
  if (l.type === 'linear') {
    const w = { name: `${l.name}.weight`, shape: [l.outFeatures, l.inFeatures] };
    return l.bias ? [w, { name: `${l.name}.bias`, shape: [l.outFeatures] }] : [w];
  }
  return [];
}

/** Load, validate and upload a model; the returned Model owns its weight arena until dispose(). */
export interface LoadOptions {
  /** Progress of the weights download / read: bytes so far and the total when known. */
  onProgress?: ProgressFn;
}

async function readJson(path: string): Promise<ModelSpec> {
  const stream = await openByteStream(path);
  const parts: Uint8Array[] = [];
  for await (const c of stream.chunks) parts.push(c);
  const bytes = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of parts) bytes.set(c, (at += c.length) - c.length);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as ModelSpec;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Load, validate and upload a model; the returned Model owns its weight arena until dispose().
 * `source` is a folder (Node) or base URL holding model.json and weights.safetensors, or the
 * spec and the safetensors bytes. The weights stream into the GPU as they arrive.
 */
export async function loadModel(rt: Runtime, source: ModelSource, options: LoadOptions = {}): Promise<Model> {
  let spec: ModelSpec;
  let stream: ByteStream;
  let specFile: string;
  let weightsFile: string;
  if (typeof source === 'string') {
    const base = source.replace(/\/+$/, '');
    specFile = `${base}/model.json`;
    weightsFile = `${base}/weights.safetensors`;
    spec = await readJson(specFile);
  } else {
    spec = source.spec;
    weightsFile = source.file ?? `${spec?.name ?? 'model'}/weights.safetensors`;
    specFile = `${spec?.name ?? 'model'}/model.json`;
  }
  const order = validateSpec(spec, specFile);
  const shapes = inferShapes(spec, order, specFile);
  if (typeof source === 'string') stream = await openByteStream(weightsFile);
  else {
    const bytes = source.weights;
    stream = { chunks: (async function* () { yield bytes; })(), size: bytes.length };
  }
  const arena = await streamWeights(rt, spec, stream, weightsFile, options.onProgress);
  return new Model(rt, spec, order, shapes, arena);
}
