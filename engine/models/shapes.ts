// Shape inference over a ModelSpec: the one implementation, used by the loader, the graph (plans
// per input size), the converters (scripts/convert/infer.ts) and the pooling op.
//
//   conv:  floor((H + pt + pb - KH) / s) + 1
//   pool:  the same with floor, or ceil((H + pt + pb - K) / s) + 1 less one when the last window
//          would start inside the bottom padding (Caffe's and PyTorch's ceil_mode rule).
// A window larger than the padded input, or any empty output, is a ShapeError of kind 'empty';
// a linear layer whose input no longer flattens to inFeatures is kind 'features'.

import type { LayerSpec, ModelSpec } from './spec';

/** Per-sample output shape (C, H, W). */
export type Chw = [number, number, number];

/** Why a shape could not be inferred: 'empty' (input too small), 'features' (a linear layer's inFeatures), 'spec' (the graph itself). */
export class ShapeError extends Error {
  constructor(message: string, readonly kind: 'empty' | 'features' | 'spec', readonly layer: string) {
    super(message);
  }
}

/** Pooled output extent along one axis; 0 when the window is larger than the padded input. */
export function pooledExtent(len: number, k: number, s: number, lo: number, hi: number, ceil: boolean): number {
  const span = len + lo + hi - k;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= len + lo) out--;
  return out;
}

/** Output shape of layer `l` from its input shapes; `inputs` names them in errors (default l.inputs). */
export function layerShape(l: LayerSpec, ins: readonly Chw[], inputs: readonly string[] = l.inputs): Chw {
  const fail = (msg: string, kind: ShapeError['kind'] = 'spec') => new ShapeError(`layer '${l.name}' (${l.type}): ${msg}`, kind, l.name);
  if (l.type !== 'concat' && ins.length !== 1) throw fail(`expected 1 input, got ${ins.length}`);
  const [c, h, w] = ins[0];
  const window = (k: [number, number], pad: readonly number[], what: string) => {
    const [ph, pw] = [h + pad[0] + pad[1], w + pad[2] + pad[3]];
    if (k[0] > ph || k[1] > pw) {
      throw new ShapeError(`layer '${l.name}': ${what} window ${k[0] > ph ? k[0] : k[1]} is larger than the padded input ${k[0] > ph ? ph : pw}`, 'empty', l.name);
    }
  };
  let out: Chw;
  switch (l.type) {
    case 'conv': {
      if (c !== l.inChannels) throw fail(`input '${inputs[0]}' has ${c} channels, expected inChannels ${l.inChannels}`);
      if (l.groups < 1 || c % l.groups || l.outChannels % l.groups) throw fail(`channels ${c} -> ${l.outChannels} not divisible by groups ${l.groups}`);
      window(l.kernel, l.pad, 'kernel');
      const oh = Math.floor((h + l.pad[0] + l.pad[1] - l.kernel[0]) / l.stride[0]) + 1;
      const ow = Math.floor((w + l.pad[2] + l.pad[3] - l.kernel[1]) / l.stride[1]) + 1;
      out = [l.outChannels, oh, ow];
      break;
    }
    case 'linear':
      if (c * h * w !== l.inFeatures) throw fail(`input '${inputs[0]}' (${c}, ${h}, ${w}) has ${c * h * w} features, expected inFeatures ${l.inFeatures}`, 'features');
      out = [l.outFeatures, 1, 1];
      break;
    case 'maxpool':
    case 'avgpool':
      window(l.kernel, l.pad, 'pool');
      out = [c, pooledExtent(h, l.kernel[0], l.stride[0], l.pad[0], l.pad[1], l.ceil), pooledExtent(w, l.kernel[1], l.stride[1], l.pad[2], l.pad[3], l.ceil)];
      break;
    case 'globalavgpool': out = [c, 1, 1]; break;
    case 'adaptiveavgpool': out = [c, l.output[0], l.output[1]]; break;
    case 'flatten': out = [c * h * w, 1, 1]; break;
    case 'concat': {
      const bad = ins.findIndex((s) => s[1] !== h || s[2] !== w);
      if (bad >= 0) throw fail(`input '${inputs[bad]}' is (${ins[bad].join(', ')}), expected spatial size ${h}x${w} like '${inputs[0]}'`);
      out = [ins.reduce((a, s) => a + s[0], 0), h, w];
      break;
    }
    default: out = [c, h, w];
  }
  if (out.some((d) => !Number.isInteger(d) || d < 1)) throw fail(`output shape (${out.join(', ')}) is empty for input (${c}, ${h}, ${w})`, 'empty');
  return out;
}

export interface InferOptions {
  /** Input size (default: spec.input's). */
  height?: number;
  width?: number;
  /** Only these layers (e.g. the ancestors of an `until` layer); default all of `order`. */
  only?: ReadonlySet<string>;
}

/** Per-sample output shape of every layer (and the input) in `order`; errors start with `file`. */
export function inferShapes(spec: ModelSpec, order: readonly LayerSpec[], file: string, opts: InferOptions = {}): Map<string, Chw> {
  const shapes = new Map<string, Chw>([[spec.input.name, [spec.input.channels, opts.height ?? spec.input.height, opts.width ?? spec.input.width]]]);
  for (const l of order) {
    if (opts.only && !opts.only.has(l.name)) continue;
    try {
      shapes.set(l.name, layerShape(l, l.inputs.map((i) => shapes.get(i)!)));
    } catch (e) {
      if (e instanceof ShapeError) throw new ShapeError(`${file}: ${e.message}`, e.kind, e.layer);
      throw e;
    }
  }
  return shapes;
}

/** `names` and every layer they read from, directly or not (the input included). */
export function ancestors(spec: ModelSpec, names: Iterable<string>): Set<string> {
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const seen = new Set<string>();
  const stack = [...names];
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    stack.push(...(byName.get(name)?.inputs ?? []));
  }
  return seen;
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
