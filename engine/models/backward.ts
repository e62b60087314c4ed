// Backward through the graph from a seed at any layer to the input image.
//
// Only the seed layer's ancestors take part, in reverse execution order. A tensor that feeds k > 1
// of them receives k gradient contributions: they are written (by the ops, through `out` views)
// into k consecutive slots of one stack buffer (k*N, C, H, W), and summed by the stack-sum kernel
// (engine/ops/sum.ts) in a fixed order. A concat's gradient is split into
// channel views, dropout passes its gradient through, flatten reshapes it.

import { conv2dBackwardInput } from '../ops/conv2d';
import { split } from '../ops/concat';
import { linearBackwardInput } from '../ops/linear';
import { lrnBackward } from '../ops/lrn';
import { adaptiveAvgPool2dBackward, avgPool2dBackward, globalAvgPoolBackward, maxPool2dBackward } from '../ops/pool';
import { reluBackward, type ReluRule } from '../ops/relu';
import { softmaxBackward } from '../ops/softmax';
import { sumStack } from '../ops/sum';
import { shapeStr, Tensor, type Shape4 } from '../tensor';
import { convParams, lrnParams, poolParams } from './forward';
import type { GraphNode, Model } from './graph';

/** Where the backward pass starts. Class and neuron seeds put 1 at one element per sample. */
export type BackwardSeed =
  /** A class score: `index` per sample (or one for all), at `layer` (default: the logits). */
  | { kind: 'class'; index: number | readonly number[]; layer?: string }
  /** One neuron (channel, y, x) of a layer, in every sample. */
  | { kind: 'neuron'; layer: string; channel: number; y: number; x: number }
  /** The sum of one channel's map of a layer, in every sample. */
  | { kind: 'channel'; layer: string; channel: number }
  /** An arbitrary gradient of the layer's output shape (N, C, H, W). */
  | { kind: 'gradient'; layer: string; gradient: Tensor | Float32Array };

/** The seed as a dense (N, C, H, W) gradient at a node; `owned` when this pass created it. */
function seedGradient(model: Model, seed: BackwardSeed): { node: GraphNode; dy: Tensor; owned: boolean } {
  const name = seed.kind === 'class' ? (seed.layer ?? model.spec.logits) : seed.layer;
  let node = model.node(name);
  const shape: Shape4 = [model.batch, ...node.shape];
  const [n, c, h, w] = shape;
  const fail = (msg: string) => new Error(`model '${model.spec.name}' backward: ${seed.kind} seed at '${name}': ${msg}`);
  // A fused conv / linear shows its post-ReLU output under its own name: seed the ReLU node.
  if (node.fuseRelu) node = model.nodes[node.consumers[0].node];
  if (seed.kind === 'gradient') {
    const g = seed.gradient;
    if (g instanceof Float32Array) {
      if (g.length !== n * c * h * w) throw fail(`gradient has ${g.length} values, expected ${n * c * h * w} for shape ${shapeStr(shape)}`);
      return { node, dy: Tensor.fromData(model.rt, g, shape, `${name} seed`), owned: true };
    }
    if (g.shape.some((d, i) => d !== shape[i])) throw fail(`gradient has shape ${shapeStr(g.shape)}, expected ${shapeStr(shape)}`);
    return { node, dy: g, owned: false };
  }
  const data = new Float32Array(n * c * h * w);
  const checkChannel = (ch: number) => {
    if (!Number.isInteger(ch) || ch < 0 || ch >= c) throw fail(`channel ${ch} is outside [0, ${c})`);
  };
  for (let s = 0; s < n; s++) {
    if (seed.kind === 'class') {
      if (h !== 1 || w !== 1) throw fail(`a class seed needs a (N, K, 1, 1) layer, got ${shapeStr(shape)}`);
      const idx = typeof seed.index === 'number' ? seed.index : seed.index[s];
      if (typeof seed.index !== 'number' && seed.index.length !== n) throw fail(`${seed.index.length} class indices for a batch of ${n}`);
      checkChannel(idx);
      data[s * c + idx] = 1;
    } else if (seed.kind === 'neuron') {
      checkChannel(seed.channel);
      if (!(seed.y >= 0 && seed.y < h && seed.x >= 0 && seed.x < w) || !Number.isInteger(seed.y) || !Number.isInteger(seed.x)) {
        throw fail(`position (y ${seed.y}, x ${seed.x}) is outside ${h}x${w}`);
      }
      data[((s * c + seed.channel) * h + seed.y) * w + seed.x] = 1;
    } else {
      checkChannel(seed.channel);
      data.fill(1, (s * c + seed.channel) * h * w, (s * c + seed.channel + 1) * h * w);
    }
  }
  return { node, dy: Tensor.fromData(model.rt, data, shape, `${name} seed`), owned: true };
}

export function runBackward(model: Model, seed: BackwardSeed, rule: ReluRule): Tensor {
  const { rt, nodes } = model;
  const start = seedGradient(model, seed);
  const created: Tensor[] = start.owned ? [start.dy] : [];
  const keep = <T extends Tensor>(t: T): T => (created.push(t), t);

  // The seed's ancestors, and how many gradient contributions each will receive.
  const live = new Set<number>([start.node.id]);
  for (let i = start.node.id; i >= 0; i--) if (live.has(i)) for (const j of nodes[i].inputs) live.add(j);
  const expected = new Map<number, number>();
  for (const i of live) for (const j of nodes[i].inputs) expected.set(j, (expected.get(j) ?? 0) + 1);

  const grads = new Map<number, Tensor>([[start.node.id, start.dy]]);
  const stacks = new Map<number, { t: Tensor; used: number }>();
  const shapeOf = (j: number): Shape4 => [model.batch, ...nodes[j].shape];
  /** Where the next contribution to node j goes: a stack slot when j gets several, else a fresh tensor. */
  const slot = (j: number): Tensor | undefined => {
    const k = expected.get(j)!;
    if (k === 1) return undefined;
    const shape = shapeOf(j);
    let st = stacks.get(j);
    if (!st) stacks.set(j, (st = { t: keep(Tensor.empty(rt, [k * shape[0], ...shape.slice(1)], `${nodes[j].name} grad stack`)), used: 0 }));
    const per = shape[1] * shape[2] * shape[3];
    return Tensor.view(rt, st.t.buffer, shape, `${nodes[j].name} grad[${st.used}]`, st.used++ * shape[0] * per);
  };
  /** Record contribution `g` (written into slot(j) or standing alone) for node j. */
  const give = (j: number, g: Tensor, intoSlot: Tensor | undefined) => {
    if (intoSlot) return;
    if (expected.get(j) === 1) grads.set(j, g);
    else g.copyTo(slot(j)!);
  };
  /** Node j's total gradient, summing its stack when it has several contributions. */
  const total = (j: number): Tensor => {
    const st = stacks.get(j);
    if (!st) return grads.get(j)!;
    return keep(sumStack(st.t, expected.get(j)!, shapeOf(j)));
  };

  for (let i = start.node.id; i > 0; i--) {
    if (!live.has(i)) continue;
    const n = nodes[i];
    const l = n.layer!;
    const dy = i === start.node.id ? start.dy : total(i);
    const j = n.inputs[0];
    const xShape = shapeOf(j);
    const out = l.type === 'concat' || l.type === 'dropout' || l.type === 'flatten' ? undefined : slot(j);
    const made = (t: Tensor) => give(j, out ? t : keep(t), out);
    switch (l.type) {
      case 'conv': made(conv2dBackwardInput(dy, model.weight(`${l.name}.weight`), xShape, convParams(l), out)); break;
      case 'linear': made(linearBackwardInput(dy, model.weight(`${l.name}.weight`), xShape, out)); break;
      case 'relu': made(reluBackward(model.tensors[i]!, dy, rule, out)); break;
      case 'maxpool': made(maxPool2dBackward(dy, model.argmax.get(i)!, xShape, poolParams(l), out)); break;
      case 'avgpool': made(avgPool2dBackward(dy, xShape, poolParams(l), out)); break;
      case 'globalavgpool': made(globalAvgPoolBackward(dy, xShape, out)); break;
      case 'adaptiveavgpool': made(adaptiveAvgPool2dBackward(dy, xShape, out)); break;
      case 'lrn': made(lrnBackward(model.tensors[j]!, model.tensors[i]!, dy, lrnParams(l), out)); break;
      case 'softmax': made(softmaxBackward(model.tensors[i]!, dy, out)); break;
      case 'dropout': give(j, dy, undefined); break;
      case 'flatten': give(j, Tensor.view(rt, dy.buffer, xShape, `${l.name} grad`, dy.base, dy.batchStride), undefined); break;
      case 'concat':
        split(dy, n.inputs.map((k) => nodes[k].shape[0])).forEach((g, s) => give(n.inputs[s], g, undefined));
        break;
    }
  }

  // Hand the caller a tensor it owns: the input's gradient if this pass allocated it densely, else a copy.
  let result = total(0);
  const at = created.indexOf(result);
  if (at >= 0) created.splice(at, 1);
  else {
    const dense = Tensor.empty(rt, result.shape, 'input grad');
    result.copyTo(dense);
    result = dense;
  }
  for (const t of created) t.dispose();
  return result;
}
