// Loading a converted model (spec.ts): validate the ModelSpec (layer types, inputs, unique names,
// no cycles), infer every layer's output shape, check every tensor of the safetensors file against
// the graph, and upload all weights as ONE GPU buffer (the weight arena) with named views.
// Errors name the file, the layer or tensor, and expected vs actual.

import type { Runtime } from '../runtime';
import { warmModel } from '../warm';
import { Model, type ModelOptions } from './graph';
import { inferShapes } from './shapes';
import { openByteStream, streamWeights, type ByteStream, type ProgressFn } from './weights';
import type { LayerSpec, LayerType, ModelSpec } from './spec';

export { expectedTensors, inferShapes, type Chw } from './shapes';

/**
 * Where a model comes from: a directory (Node, read with fs) or a base URL (browser, or any
 * `scheme://` string; fetched) holding `model.json` + `weights.safetensors`, or the two in memory.
 */
export type ModelSource = string | { spec: ModelSpec; weights: Uint8Array; file?: string };

const LAYER_TYPES: readonly LayerType[] = [
  'conv', 'linear', 'relu', 'maxpool', 'avgpool', 'globalavgpool', 'adaptiveavgpool', 'lrn', 'concat', 'dropout', 'flatten', 'softmax',
];

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

export interface LoadOptions extends ModelOptions {
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
  inferShapes(spec, order, specFile);
  if (typeof source === 'string') stream = await openByteStream(weightsFile);
  else {
    const bytes = source.weights;
    stream = { chunks: (async function* () { yield bytes; })(), size: bytes.length };
  }
  const arena = await streamWeights(rt, spec, stream, weightsFile, options.onProgress);
  return warmModel(new Model(rt, spec, order, arena, { fuseConvs: options.fuseConvs }));
}
