// Backward through the graph from a seed at any layer to the input image, or to any named layers.
//
// Only the seed layer's ancestors take part, in reverse execution order. A tensor that feeds k > 1
// of them receives k gradient contributions: they are written (by the ops, through `out` views)
// into k consecutive slots of one stack buffer (k*N, C, H, W), and summed by the stack-sum kernel
// (engine/ops/sum.ts) in a fixed order. A concat's gradient is split into
// channel views, dropout passes its gradient through, flatten reshapes it. A requested gradient
// with a caller `out` is written there directly when one op produces it, else copied there; one
// without is handed over (when this pass allocated it densely) or copied into a fresh tensor.

import { conv2dBackwardInput } from '../ops/conv2d';
import { split } from '../ops/concat';
import { linearBackwardInput } from '../ops/linear';
import { lrnBackward } from '../ops/lrn';
import { adaptiveAvgPool2dBackward, avgPool2dBackward, globalAvgPoolBackward, maxPool2dBackward } from '../ops/pool';
import { reluBackward, type ReluRule } from '../ops/relu';
import { softmaxBackward } from '../ops/softmax';
import { sumStack } from '../ops/sum';
import { setProfileScope } from '../profile';
import { shapeStr, Tensor, type Shape4 } from '../tensor';
import { convParams, lrnParams, poolParams } from './forward';
import type { PassState, Plan } from './pass';
import type { GraphNode } from './plan';

/**
 * Where the backward pass starts. Class and neuron seeds put 1 at one element per sample. Seeding
 * a conv / linear followed by its own ReLU seeds its post-ReLU output, or with `preRelu: true`
 * (the forward must have named the layer in its preRelu list) the value before the ReLU.
 */
export type BackwardSeed =
  /** A class score: `index` per sample (or one for all), at `layer` (default: the logits). */
  | { kind: 'class'; index: number | readonly number[]; layer?: string }
  /** One neuron (channel, y, x) of a layer, in every sample. */
  | { kind: 'neuron'; layer: string; channel: number; y: number; x: number; preRelu?: boolean }
  /** The sum of one channel's map of a layer, in every sample. */
  | { kind: 'channel'; layer: string; channel: number; preRelu?: boolean }
  /** An arbitrary gradient of the layer's output shape (N, C, H, W); a Tensor is read in place. */
  | { kind: 'gradient'; layer: string; gradient: Tensor | Float32Array; preRelu?: boolean };

/** A gradient to hand back: at node `id` (shown as `name`), optionally into the caller's `out`. */
export interface GradientRequest {
  name: string;
  id: number;
  out?: Tensor;
}

/** The plan node a layer name resolves to in this pass (post-ReLU unless preRelu). */
export function passNode(plan: Plan, model: string, name: string, preRelu: boolean, what: string): GraphNode {
  const n = plan.byName.get(name);
  if (!n) {
    const why = plan.until ? `layer '${name}' was not run: the last forward stopped at until: '${plan.until}'` : `no layer named '${name}'`;
    throw new Error(`model '${model}' ${what}: ${why}`);
  }
  if (!preRelu) return n.relu === null ? n : plan.nodes[n.relu];
  if (n.relu === null) throw new Error(`model '${model}' ${what}: layer '${name}' (${n.layer?.type ?? 'input'}) has no ReLU of its own, so no pre-ReLU value`);
  if (!plan.preRelu.has(name)) throw new Error(`model '${model}' ${what}: layer '${name}' was fused with its ReLU; forward with { preRelu: ['${name}'] } to keep its pre-ReLU value`);
  return n;
}

/** The seed as a dense (N, C, H, W) gradient at a node; `owned` when this pass created it. */
function seedGradient(pass: PassState, seed: BackwardSeed): { node: GraphNode; dy: Tensor; owned: boolean } {
  const { ctx } = pass;
  const name = seed.kind === 'class' ? (seed.layer ?? ctx.logits) : seed.layer;
  const node = passNode(pass.plan, ctx.name, name, seed.kind !== 'class' && !!seed.preRelu, 'backward');
  const shape: Shape4 = [pass.batch, ...node.shape];
  const [n, c, h, w] = shape;
  const fail = (msg: string) => new Error(`model '${ctx.name}' backward: ${seed.kind} seed at '${name}': ${msg}`);
  if (seed.kind === 'gradient') {
    const g = seed.gradient;
    if (g instanceof Float32Array) {
      if (g.length !== n * c * h * w) throw fail(`gradient has ${g.length} values, expected ${n * c * h * w} for shape ${shapeStr(shape)}`);
      return { node, dy: Tensor.fromData(ctx.rt, g, shape, `${name} seed`), owned: true };
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
  return { node, dy: Tensor.fromData(ctx.rt, data, shape, `${name} seed`), owned: true };
}

/** Backpropagate `seed` and return the requested gradients by name (caller-owned, or the given outs). */
export function runBackward(pass: PassState, seed: BackwardSeed, rule: ReluRule, wants: readonly GradientRequest[]): Map<string, Tensor> {
  const { nodes, ctx } = pass;
  const { rt } = ctx;
  const start = seedGradient(pass, seed);
  const created: Tensor[] = start.owned ? [start.dy] : [];
  const keep = <T extends Tensor>(t: T): T => (created.push(t), t);
  const shapeOf = (j: number): Shape4 => [pass.batch, ...nodes[j].shape];

  // The seed's ancestors, and how many gradient contributions each will receive.
  const live = new Set<number>([start.node.id]);
  for (let i = start.node.id; i >= 0; i--) if (live.has(i)) for (const j of nodes[i].inputs) live.add(j);
  const expected = new Map<number, number>();
  for (const i of live) for (const j of nodes[i].inputs) expected.set(j, (expected.get(j) ?? 0) + 1);
  const direct = new Map<number, Tensor>();
  for (const r of wants) {
    if (!live.has(r.id)) throw new Error(`model '${ctx.name}' gradients: layer '${r.name}' does not feed the seed layer '${start.node.name}' (its gradient would be zero)`);
    if (r.out && r.out.shape.some((d, i) => d !== shapeOf(r.id)[i])) {
      throw new Error(`model '${ctx.name}' gradients: out for '${r.name}' has shape ${shapeStr(r.out.shape)}, expected ${shapeStr(shapeOf(r.id))}`);
    }
    if (r.out && r.id !== start.node.id && !direct.has(r.id)) direct.set(r.id, r.out);
  }

  const grads = new Map<number, Tensor>([[start.node.id, start.dy]]);
  const stacks = new Map<number, { t: Tensor; used: number }>();
  /** Where the next contribution to node j goes: a stack slot when j gets several, else the caller's out or a fresh tensor. */
  const slot = (j: number): Tensor | undefined => {
    const k = expected.get(j)!;
    if (k === 1) return direct.get(j);
    const shape = shapeOf(j);
    let st = stacks.get(j);
    if (!st) stacks.set(j, (st = { t: keep(Tensor.empty(rt, [k * shape[0], ...shape.slice(1)], `${nodes[j].name} grad stack`)), used: 0 }));
    const per = shape[1] * shape[2] * shape[3];
    return Tensor.view(rt, st.t.buffer, shape, `${nodes[j].name} grad[${st.used}]`, st.used++ * shape[0] * per);
  };
  /** Record contribution `g` (written into slot(j) or standing alone) for node j. */
  const give = (j: number, g: Tensor, intoSlot: Tensor | undefined) => {
    if (expected.get(j) === 1) grads.set(j, g);
    else if (!intoSlot) g.copyTo(slot(j)!);
  };
  /** Node j's total gradient, summing its stack when it has several contributions. */
  const total = (j: number): Tensor => {
    const st = stacks.get(j);
    if (!st) return grads.get(j)!;
    const o = direct.get(j);
    return o ? sumStack(st.t, expected.get(j)!, shapeOf(j), o) : keep(sumStack(st.t, expected.get(j)!, shapeOf(j)));
  };
  const result = new Map<string, Tensor>();
  /** Hand node i's gradient `g` to every request for it. */
  const deliver = (i: number, g: Tensor) => {
    for (const r of wants) {
      if (r.id !== i) continue;
      const at = created.indexOf(g);
      let t: Tensor;
      if (r.out) {
        if (g !== r.out) g.copyTo(r.out);
        t = r.out;
      } else if (at >= 0 && g.isContiguous) {
        t = created.splice(at, 1)[0];
      } else {
        t = Tensor.empty(rt, g.shape, `${r.name} grad`);
        g.copyTo(t);
      }
      result.set(r.name, t);
    }
  };

  for (let i = start.node.id; i > 0; i--) {
    if (!live.has(i)) continue;
    const n = nodes[i];
    const l = n.layer!;
    setProfileScope(n.name); // rt.profile maps dispatches to layers
    const dy = i === start.node.id ? start.dy : total(i);
    deliver(i, dy);
    const j = n.inputs[0];
    const xShape = shapeOf(j);
    const out = l.type === 'concat' || l.type === 'dropout' || l.type === 'flatten' ? undefined : slot(j);
    const made = (t: Tensor) => give(j, out ? t : keep(t), out);
    const y = () => pass.tensors[i]!;
    switch (l.type) {
      case 'conv': made(conv2dBackwardInput(dy, ctx.weight(`${l.name}.weight`), xShape, convParams(l), out)); break;
      case 'linear': made(linearBackwardInput(dy, ctx.weight(`${l.name}.weight`), xShape, out)); break;
      case 'relu': made(reluBackward(y(), dy, rule, out)); break;
      case 'maxpool': made(maxPool2dBackward(dy, pass.argmax.get(i)!, xShape, poolParams(l), out)); break;
      case 'avgpool': made(avgPool2dBackward(dy, xShape, poolParams(l), out)); break;
      case 'globalavgpool': made(globalAvgPoolBackward(dy, xShape, out)); break;
      case 'adaptiveavgpool': made(adaptiveAvgPool2dBackward(dy, xShape, out)); break;
      case 'lrn': made(lrnBackward(pass.tensors[j]!, y(), dy, lrnParams(l), out)); break;
      case 'softmax': made(softmaxBackward(y(), dy, out)); break;
      case 'dropout': give(j, dy, undefined); break;
      case 'flatten': give(j, Tensor.view(rt, dy.buffer, xShape, `${l.name} grad`, dy.base, dy.batchStride), undefined); break;
      case 'concat':
        split(dy, n.inputs.map((k) => nodes[k].shape[0])).forEach((g, s) => give(n.inputs[s], g, undefined));
        break;
    }
  }
  setProfileScope(null);
  if (live.has(0)) deliver(0, total(0));
  Tensor.disposeAll(created); // newest first: the next identical backward reuses the same buffers
  return result;
}
