// Shape inference over a ModelSpec, and the tensors a spec names. Every converter runs both: the
// per-layer output shapes (C, H, W) check the graph (channel counts, linear in-features, concat
// sizes), and `specTensorShapes` gives the shape every stored tensor must have.
//
// Output sizes: conv floor((H + pt + pb - KH) / s) + 1. Pooling likewise, or with `ceil`:
// ceil((H + pt + pb - K) / s) + 1, less one when the last window would start inside the bottom
// padding (Caffe's and PyTorch's rule; the same as engine/ops/pool.ts).

import type { LayerSpec, ModelSpec } from '../../engine/models/spec';

export type Chw = [number, number, number];

function outSize(name: string, what: string, size: number, k: number, s: number, p0: number, p1: number, ceil: boolean): number {
  const span = size + p0 + p1 - k;
  if (span < 0) throw new Error(`layer '${name}': ${what} window ${k} is larger than the padded input ${size + p0 + p1}`);
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p0) out--;
  return out;
}

/** Output shape of one layer given its input shapes; errors name the layer. */
export function layerShape(l: LayerSpec, ins: Chw[]): Chw {
  const one = () => {
    if (ins.length !== 1) throw new Error(`layer '${l.name}' (${l.type}): expected 1 input, got ${ins.length}`);
    return ins[0];
  };
  switch (l.type) {
    case 'conv': {
      const [c, h, w] = one();
      if (c !== l.inChannels) throw new Error(`layer '${l.name}' (conv): inChannels ${l.inChannels}, but its input has ${c} channels`);
      if (c % l.groups || l.outChannels % l.groups) throw new Error(`layer '${l.name}' (conv): channels ${c} -> ${l.outChannels} not divisible by groups ${l.groups}`);
      const [pt, pb, pl, pr] = l.pad;
      return [l.outChannels, outSize(l.name, 'kernel', h, l.kernel[0], l.stride[0], pt, pb, false), outSize(l.name, 'kernel', w, l.kernel[1], l.stride[1], pl, pr, false)];
    }
    case 'maxpool':
    case 'avgpool': {
      const [c, h, w] = one();
      const [pt, pb, pl, pr] = l.pad;
      return [c, outSize(l.name, 'pool', h, l.kernel[0], l.stride[0], pt, pb, l.ceil), outSize(l.name, 'pool', w, l.kernel[1], l.stride[1], pl, pr, l.ceil)];
    }
    case 'globalavgpool':
      return [one()[0], 1, 1];
    case 'adaptiveavgpool':
      return [one()[0], l.output[0], l.output[1]];
    case 'linear': {
      const [c, h, w] = one();
      if (c * h * w !== l.inFeatures) throw new Error(`layer '${l.name}' (linear): inFeatures ${l.inFeatures}, but its input (${c}, ${h}, ${w}) flattens to ${c * h * w}`);
      return [l.outFeatures, 1, 1];
    }
    case 'flatten': {
      const [c, h, w] = one();
      return [c * h * w, 1, 1];
    }
    case 'concat': {
      if (ins.length < 1) throw new Error(`layer '${l.name}' (concat): no inputs`);
      const [, h, w] = ins[0];
      if (ins.some((s) => s[1] !== h || s[2] !== w)) {
        throw new Error(`layer '${l.name}' (concat): inputs differ in size: ${ins.map((s) => `(${s.join(', ')})`).join(', ')}`);
      }
      return [ins.reduce((a, s) => a + s[0], 0), h, w];
    }
    case 'relu':
    case 'lrn':
    case 'dropout':
    case 'softmax':
      return one();
  }
}

/** Output shape (C, H, W) of every layer, the input included, in spec order. */
export function inferShapes(spec: ModelSpec): Map<string, Chw> {
  const shapes = new Map<string, Chw>([[spec.input.name, [spec.input.channels, spec.input.height, spec.input.width]]]);
  for (const l of spec.layers) {
    if (shapes.has(l.name)) throw new Error(`model ${spec.name}: duplicate layer name '${l.name}'`);
    const ins = l.inputs.map((i) => {
      const s = shapes.get(i);
      if (!s) throw new Error(`model ${spec.name}: layer '${l.name}' reads '${i}', which is not an earlier layer`);
      return s;
    });
    const out = layerShape(l, ins);
    if (out.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`layer '${l.name}' (${l.type}): output shape (${out.join(', ')}) is empty`);
    shapes.set(l.name, out);
  }
  if (!shapes.has(spec.logits)) throw new Error(`model ${spec.name}: logits layer '${spec.logits}' does not exist`);
  return shapes;
}

/** Name -> shape of every tensor the spec needs, in layer order (weight before bias). */
export function specTensorShapes(spec: ModelSpec): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const l of spec.layers) {
    if (l.type === 'conv') {
      out.set(`${l.name}.weight`, [l.outChannels, l.inChannels / l.groups, l.kernel[0], l.kernel[1]]);
      if (l.bias) out.set(`${l.name}.bias`, [l.outChannels]);
    } else if (l.type === 'linear') {
      out.set(`${l.name}.weight`, [l.outFeatures, l.inFeatures]);
      if (l.bias) out.set(`${l.name}.bias`, [l.outFeatures]);
    }
  }
  return out;
}

export function countParams(spec: ModelSpec): number {
  let n = 0;
  for (const s of specTensorShapes(spec).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}
