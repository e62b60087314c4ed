// Objectives of the image-optimization loop (Lucid's optvis/objectives.py): weighted sums of terms,
// each reading one layer's activation A (N, C, H, W) and giving its value per sample and its
// gradient dT/dA on the GPU, nothing read back:
//
//   classLogit(k)            T = A[k]                          (the logits layer)
//   neuron(layer, c, y, x)   T = A[c, y, x]
//   channelMean(layer, c)    T = mean_yx A[c, y, x]
//   layerL2(layer)           T = 1/2 sum A^2                   (DeepDream; dT/dA = A)
//   dot(layer, F)            T = sum A * F                     (DeepDream's guide image)
//   featureMatch(layer, F)   T = ||A - F||^2 / ||F||^2         (Mahendran & Vedaldi's inversion)
//   gramMatch(layer, G)      T = sum (gram(A) - G)^2           (Gatys et al.'s style / texture)
//
// An Objective is sum_i weight_i T_i, maximized or minimized. bindObjective() fixes the shapes for
// one input size and batch, allocates every scratch tensor once, and groups the terms by layer: a
// group's seed gradient is the sum of its terms' gradients (a lone constant term, such as a class or
// a neuron, is seeded in place with no dispatch at all), and each group costs one backward.

import type { Model } from '../../models/graph';
import { axpy, fill, mul, scale } from '../../ops/elementwise';
import { gram, gramBackward, gramLoss } from '../../ops/gram';
import { reduceSamples } from '../../ops/reduce';
import type { Runtime } from '../../runtime';
import { shapeStr, Tensor, type Shape4 } from '../../tensor';

/** A term bound to one activation shape: scratch allocated once, nothing allocated per step. */
export interface BoundTerm {
  /** grad = weight * dT/dA, or grad += it with `accumulate`. */
  gradient(act: Tensor, grad: Tensor, accumulate: boolean): void;
  /** weight * T per sample, (N, 1, 1, 1), in a tensor the term owns. */
  value(act: Tensor): Tensor;
  /** Set when weight * dT/dA does not depend on A (class, neuron, channel, dot): the tensor itself. */
  constant?: Tensor;
  dispose(): void;
}

/** One term of an objective: which activation it reads and how it binds to a shape. */
export interface Term {
  /** E.g. "neuron conv_2_2[3, 4, 4]", for summaries. */
  name: string;
  layer: string;
  /** Read the value before the layer's own ReLU (a fused conv / linear). */
  preRelu?: boolean;
  weight: number;
  bind(rt: Runtime, shape: Shape4): BoundTerm;
}

export interface Objective {
  terms: Term[];
  /** Climb the objective (true) or descend it. */
  maximize: boolean;
}

export function maximize(...terms: Term[]): Objective {
  return { terms, maximize: true };
}

export function minimize(...terms: Term[]): Objective {
  return { terms, maximize: false };
}

/** The same term with its weight multiplied by `w` (sums like 1.0 * class - 0.5 * neuron). */
export function weighted(t: Term, w: number): Term {
  return { ...t, weight: t.weight * w };
}

interface TermOptions {
  preRelu?: boolean;
  weight?: number;
}

/** A term whose dT/dA is the fixed tensor `mask` (one-hot, channel plane, guide features): T = sum A * mask. */
function linearTerm(name: string, layer: string, o: TermOptions, makeMask: (rt: Runtime, shape: Shape4) => Tensor): Term {
  const weight = o.weight ?? 1;
  return {
    name, layer, preRelu: o.preRelu, weight,
    bind(rt, shape) {
      const mask = makeMask(rt, shape);
      const prod = Tensor.empty(rt, shape, `${name} product`);
      const v = Tensor.empty(rt, [shape[0], 1, 1, 1], `${name} value`);
      return {
        constant: mask,
        gradient: (_act, grad, accumulate) => (accumulate ? axpy(1, mask, 1, grad, grad) : mask.copyTo(grad)),
        value: (act) => reduceSamples(mul(act, mask, prod), 'sum', v),
        dispose: () => [mask, prod, v].forEach((t) => t.dispose()),
      };
    },
  };
}

function checkIndex(what: string, v: number, size: number, shape: Shape4): void {
  if (!Number.isInteger(v) || v < 0 || v >= size) throw new Error(`objective ${what}: ${v} is outside [0, ${size}) of activation ${shapeStr(shape)}`);
}

/** weight * mask with mask 1 at (c, y, x) of every sample (y = x = -1: the whole channel, scaled by 1/HW). */
function oneHot(rt: Runtime, shape: Shape4, label: string, weight: number, c: number, y: number, x: number): Tensor {
  const [n, ch, h, w] = shape;
  checkIndex(`${label} channel`, c, ch, shape);
  const data = new Float32Array(n * ch * h * w);
  for (let s = 0; s < n; s++) {
    const plane = (s * ch + c) * h * w;
    if (y < 0) data.fill(weight / (h * w), plane, plane + h * w);
    else {
      checkIndex(`${label} y`, y, h, shape);
      checkIndex(`${label} x`, x, w, shape);
      data[plane + y * w + x] = weight;
    }
  }
  return Tensor.fromData(rt, data, shape, `${label} seed`);
}

/** The class logit `index` (at the model's logits layer). */
export function classLogit(model: Model, index: number, o: { weight?: number } = {}): Term {
  const name = `class ${index} (${model.spec.labels[index] ?? index})`;
  return linearTerm(name, model.spec.logits, o, (rt, shape) => oneHot(rt, shape, name, o.weight ?? 1, index, 0, 0));
}

/** One neuron (channel, y, x) of a layer. */
export function neuron(layer: string, channel: number, y: number, x: number, o: TermOptions = {}): Term {
  const name = `neuron ${layer}[${channel}, ${y}, ${x}]${o.preRelu ? ' pre-ReLU' : ''}`;
  return linearTerm(name, layer, o, (rt, shape) => oneHot(rt, shape, name, o.weight ?? 1, channel, y, x));
}

/** The mean of one channel's map. */
export function channelMean(layer: string, channel: number, o: TermOptions = {}): Term {
  const name = `channel ${layer}[${channel}] mean${o.preRelu ? ' pre-ReLU' : ''}`;
  return linearTerm(name, layer, o, (rt, shape) => oneHot(rt, shape, name, o.weight ?? 1, channel, -1, -1));
}

function expectTarget(name: string, target: Tensor, shape: readonly number[]): void {
  target.assertLive();
  if (target.shape.some((d, i) => d !== shape[i])) throw new Error(`objective ${name}: target has shape ${shapeStr(target.shape)}, the activation at this size is ${shapeStr(shape)}`);
}

/** sum A * features (features: the layer's activation of a guide image, same shape; copied at bind). */
export function dot(layer: string, features: Tensor, o: TermOptions = {}): Term {
  const name = `dot ${layer}`;
  return linearTerm(name, layer, o, (rt, shape) => {
    expectTarget(name, features, shape);
    return scale(features, o.weight ?? 1, Tensor.empty(rt, shape, `${name} guide`));
  });
}

/** 1/2 sum A^2 over the whole layer (DeepDream's objective: its gradient is A itself). */
export function layerL2(layer: string, o: TermOptions = {}): Term {
  const weight = o.weight ?? 1;
  const name = `L2 ${layer}${o.preRelu ? ' pre-ReLU' : ''}`;
  return {
    name, layer, preRelu: o.preRelu, weight,
    bind(rt, shape) {
      const v = Tensor.empty(rt, [shape[0], 1, 1, 1], `${name} value`);
      return {
        gradient: (act, grad, accumulate) => (accumulate ? axpy(weight, act, 1, grad, grad) : scale(act, weight, grad)),
        value: (act) => scale(reduceSamples(act, 'sumSquares', v), weight / 2, v),
        dispose: () => v.dispose(),
      };
    },
  };
}

/** ||A - F||^2 / ||F||^2 per sample (F: target features of the layer, (N, C, H, W) at this size). */
export function featureMatch(layer: string, target: Tensor, o: TermOptions = {}): Term {
  const weight = o.weight ?? 1;
  const name = `feature match ${layer}`;
  return {
    name, layer, preRelu: o.preRelu, weight,
    bind(rt, shape) {
      expectTarget(name, target, shape);
      const diff = Tensor.empty(rt, shape, `${name} diff`);
      const norm = reduceSamples(target, 'sumSquares', Tensor.empty(rt, [shape[0], 1, 1, 1], `${name} |F|^2`));
      const v = Tensor.empty(rt, [shape[0], 1, 1, 1], `${name} value`);
      const per = (s: number) => ({ tensor: norm, perSample: true, scale: s, reciprocal: true, eps: 1e-12 });
      return {
        gradient(act, grad, accumulate) {
          axpy(1, act, -1, target, diff);
          if (accumulate) axpy(per(2 * weight), diff, 1, grad, grad);
          else scale(diff, per(2 * weight), grad);
        },
        value(act) {
          reduceSamples(axpy(1, act, -1, target, diff), 'sumSquares', v);
          return scale(v, per(weight), v);
        },
        dispose: () => [diff, norm, v].forEach((t) => t.dispose()),
      };
    },
  };
}

/** sum (gram(A) - G)^2 per sample; G (N, 1, C, C) from gram() of the style image's features. */
export function gramMatch(layer: string, target: Tensor, o: TermOptions = {}): Term {
  const weight = o.weight ?? 1;
  const name = `gram ${layer}`;
  return {
    name, layer, preRelu: o.preRelu, weight,
    bind(rt, shape) {
      expectTarget(name, target, [shape[0], 1, shape[1], shape[1]]);
      const g = Tensor.empty(rt, target.shape, `${name} G`);
      const dg = Tensor.empty(rt, target.shape, `${name} dG`);
      const v = Tensor.empty(rt, [shape[0], 1, 1, 1], `${name} value`);
      const loss = (act: Tensor) => gramLoss(gram(act, g), target, { weight, value: v, grad: dg });
      return {
        gradient(act, grad, accumulate) {
          loss(act);
          gramBackward(act, dg, { out: grad, accumulate });
        },
        value: (act) => loss(act).value,
        dispose: () => [g, dg, v].forEach((t) => t.dispose()),
      };
    },
  };
}

// ---- binding to a model, a batch and a size ------------------------------------------------------

/** The last layer (in execution order) any term reads: what forward({ until }) must reach. */
export function deepestLayer(model: Model, objective: Objective): string {
  const order = new Map(model.layers.map((l, i) => [l.name, i]));
  return objective.terms.map((t) => t.layer).reduce((a, b) => ((order.get(b) ?? -1) > (order.get(a) ?? -1) ? b : a));
}

interface Group {
  layer: string;
  /** The terms asked for the pre-ReLU value. */
  preRelu: boolean;
  /** Whether the layer has its own (fused) ReLU, so a pre-ReLU seed exists. */
  hasRelu: boolean;
  terms: BoundTerm[];
  /** The seed gradient at the layer (a lone constant term's own tensor, else scratch). */
  seed: Tensor;
  ownsSeed: boolean;
}

/** An objective fixed to a model, batch and input size; one per loop run. */
export interface BoundObjective {
  objective: Objective;
  /** The deepest layer the objective reads: forward({ until }). */
  until: string;
  /** Layers forward must keep pre-ReLU (with `redirect`, every term's layer that has its own ReLU). */
  preReluLayers(redirect: boolean): string[];
  /** Seed the objective and backpropagate to the input: d objective / d input into `out` (N, 3, H, W). */
  backward(out: Tensor, redirect: boolean): void;
  /** The objective per sample into `out` (N, 1, 1, 1), from the last forward's activations. */
  value(out: Tensor, redirect: boolean): Tensor;
  dispose(): void;
}

/**
 * Bind `objective` to (n, 3, height, width) inputs of `model`. `redirect` (at each call) seeds
 * the pre-ReLU value of every term's layer that has its own ReLU, so dead units still get gradient
 * (Lucid's ReLU-gradient redirection for the first steps, done here through pre-ReLU seeds).
 */
export function bindObjective(model: Model, objective: Objective, n: number, height: number, width: number): BoundObjective {
  if (objective.terms.length === 0) throw new Error('objective: no terms (classLogit, neuron, channelMean, layerL2, dot, featureMatch, gramMatch)');
  const rt = model.rt;
  const order = new Map(model.layers.map((l, i) => [l.name, i]));
  const info = new Map(model.layers.map((l) => [l.name, l]));
  const byKey = new Map<string, Term[]>();
  for (const t of objective.terms) {
    if (!order.has(t.layer) || t.layer === model.spec.input.name) throw new Error(`objective term '${t.name}': model '${model.spec.name}' has no layer '${t.layer}' (layers: ${model.layers.slice(1).map((l) => l.name).join(', ')})`);
    if (!Number.isFinite(t.weight)) throw new Error(`objective term '${t.name}': weight must be finite, got ${t.weight}`);
    const key = `${t.layer}\u0000${t.preRelu ? 1 : 0}`;
    byKey.set(key, [...(byKey.get(key) ?? []), t]);
  }
  const until = deepestLayer(model, objective);
  const groups: Group[] = [...byKey.values()].map((ts) => {
    const layer = ts[0].layer;
    const [c, h, w] = model.layerShape(layer, height, width);
    const shape: Shape4 = [n, c, h, w];
    const terms = ts.map((t) => t.bind(rt, shape));
    const lone = terms.length === 1 && terms[0].constant;
    return {
      layer, preRelu: !!ts[0].preRelu, hasRelu: info.get(layer)!.fusedRelu !== undefined, terms,
      seed: lone || Tensor.empty(rt, shape, `${layer} objective seed`), ownsSeed: !lone,
    };
  });
  const gradTmp = groups.length > 1 ? Tensor.empty(rt, [n, model.spec.input.channels, height, width], 'objective input grad') : null;
  const pre = (g: Group, redirect: boolean) => g.preRelu || (redirect && g.hasRelu);
  const act = (g: Group, redirect: boolean) => model.activation(g.layer, { preRelu: pre(g, redirect) });
  return {
    objective,
    until,
    preReluLayers: (redirect) => [...new Set(groups.filter((g) => pre(g, redirect)).map((g) => g.layer))],
    backward(out, redirect) {
      groups.forEach((g, i) => {
        const a = act(g, redirect);
        if (g.ownsSeed) g.terms.forEach((t, k) => t.gradient(a, g.seed, k > 0));
        const into = i === 0 ? out : gradTmp!;
        model.backward({ kind: 'gradient', layer: g.layer, gradient: g.seed, preRelu: pre(g, redirect) }, { out: into });
        if (i > 0) axpy(1, gradTmp!, 1, out, out);
      });
    },
    value(out, redirect) {
      fill(out, 0);
      for (const g of groups) {
        const a = act(g, redirect);
        for (const t of g.terms) axpy(1, t.value(a), 1, out, out);
      }
      return out;
    },
    dispose() {
      for (const g of groups) {
        g.terms.forEach((t) => t.dispose());
        if (g.ownsSeed) g.seed.dispose();
      }
      gradTmp?.dispose();
    },
  };
}
