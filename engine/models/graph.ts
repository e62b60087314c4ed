// The model graph executor: forward / backward over a plan per input size (plans.ts, plan.ts:
// fusion, aliases, in-place concat placement, tensor lifetimes), activations by name, gradients at
// any layer, classification. The tensors of the last pass live in a PassState (pass.ts).

import { conv2dVariant } from '../kernels/conv2d';
import { imageToTensor } from '../ops/image';
import type { ReluRule } from '../ops/relu';
import type { Runtime } from '../runtime';
import { shapeStr, Tensor } from '../tensor';
import { passNode, runBackward, type BackwardSeed, type GradientRequest } from './backward';
import { runLayer } from './forward';
import { PassState, type PassContext } from './pass';
import type { GraphNode } from './plan';
import { Plans } from './plans';
import type { Chw } from './shapes';
import type { WeightArena } from './weights';
import type { LayerSpec, LayerType, ModelSpec } from './spec';

export type { BackwardSeed, GraphNode };

/** A layer as the public API describes it. */
export interface LayerInfo {
  name: string;
  type: LayerType | 'input';
  inputs: string[];
  /** Per-sample output shape (C, H, W); the batch size comes from the input. */
  shape: Chw;
  /** For a conv / linear: the ReLU layer folded into it (its activation is then post-ReLU). */
  fusedRelu?: string;
}

export interface ForwardOptions {
  /**
   * What survives the pass: true (default) keeps every activation (needed by backward()),
   * false frees each intermediate after its last use, a list keeps those layers' activations.
   * The last layer and the logits are always kept.
   */
  keep?: boolean | readonly string[];
  /** Stop at this layer: only it and its ancestors run (a fused conv's ReLU too). */
  until?: string;
  /** Fused convs / linears whose pre-ReLU value this pass keeps (activation(name, { preRelu: true })). */
  preRelu?: readonly string[];
}

export interface BackwardOptions {
  /** How gradients cross ReLUs (default 'vanilla'). */
  rule?: ReluRule;
  /** Write the input gradient (N, 3, H, W) here instead of a new tensor. */
  out?: Tensor;
}

export interface GradientsOptions {
  /** How gradients cross ReLUs (default 'vanilla'). */
  rule?: ReluRule;
  /** Layers to return dScore/dA at (the input's name for the image); a fused conv's is post-ReLU. */
  layers: readonly string[];
  /** Caller tensors to write some of them into, by layer name. */
  out?: Readonly<Record<string, Tensor>>;
}

export interface ModelOptions {
  /**
   * Run convs that read the same tensor (SqueezeNet's expand1x1 + expand3x3, GoogLeNet's 1x1
   * branches) as one dispatch where the conv2d variant is 'tiled' (default true); false keeps one
   * dispatch per conv (tests and benchmarks compare the two).
   */
  fuseConvs?: boolean;
}

export interface Prediction {
  index: number;
  label: string;
  prob: number;
}


/** A loaded network: weights on the GPU, plans per input size, and the tensors of the last forward pass. */
export class Model {
  /** The plan at the spec's own input size (what `layers` describes). */
  readonly nodes: GraphNode[];
  private readonly byName: Map<string, GraphNode>;
  private readonly plans: Plans;
  private readonly ctx: PassContext;
  private pass: PassState | null = null;
  private disposed = false;

  constructor(
    readonly rt: Runtime,
    readonly spec: ModelSpec,
    order: readonly LayerSpec[],
    private readonly arena: WeightArena,
    options: ModelOptions = {},
  ) {
    this.plans = new Plans(spec, order, (options.fuseConvs ?? true) && conv2dVariant(rt) === 'tiled');
    this.nodes = this.plans.get({ height: spec.input.height, width: spec.input.width }).nodes;
    this.byName = new Map(this.nodes.map((n) => [n.name, n]));
    this.ctx = { rt, name: spec.name, logits: spec.logits, weight: (name) => this.weight(name) };
  }

  /** Layers in execution order (the input first), with per-sample output shapes at the spec's input size. */
  get layers(): LayerInfo[] {
    return this.nodes.map((n) => ({
      name: n.name,
      type: n.layer?.type ?? 'input',
      inputs: n.inputs.map((j) => this.nodes[j].name),
      shape: n.shape,
      ...(n.fuseRelu ? { fusedRelu: this.nodes[n.consumers[0].node].name } : {}),
    }));
  }

  /** Batch size of the last forward (0 before any). */
  get batch(): number {
    return this.pass?.batch ?? 0;
  }

  node(name: string): GraphNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`model '${this.spec.name}': no layer named '${name}'`);
    return n;
  }

  /** Per-sample shape (C, H, W) of every layer a pass to `until` (default: all) runs at input height x width. */
  layerShapes(height: number, width: number, until?: string): Map<string, Chw> {
    return new Map(this.plans.shapes(height, width, until));
  }

  /** Per-sample shape (C, H, W) of layer `name` at input height x width. */
  layerShape(name: string, height: number, width: number): Chw {
    this.node(name);
    return this.plans.shapes(height, width, name).get(name)!;
  }

  /** The input shape (N, C, height, width) this model takes. */
  inputShape(height: number, width: number, n = 1): [number, number, number, number] {
    return [n, this.spec.input.channels, height, width];
  }

  /** The smallest square input side for a pass to `until` (default: the whole network, linear layers matching). */
  minInputSize(until?: string): number {
    return this.plans.minInputSize(until);
  }

  /** A weight view from the arena, e.g. 'conv1.weight'. Never dispose it. */
  weight(name: string): Tensor {
    const t = this.arena.views.get(name);
    if (!t) throw new Error(`model '${this.spec.name}': no weight tensor '${name}'`);
    return t;
  }

  /**
   * Run the network on `input` (N, 3, H, W), any H x W it can take, and return the last layer's
   * output (the `until` layer's when given). The returned tensor and every activation belong to
   * the model: valid until the next forward() or dispose().
   */
  forward(input: Tensor, opts: ForwardOptions = {}): Tensor {
    this.assertLive();
    const { channels } = this.spec.input;
    if (input.c !== channels) {
      throw new Error(`model '${this.spec.name}' forward: input has shape ${shapeStr(input.shape)}, expected (N, ${channels}, H, W)`);
    }
    const plan = this.plans.get({ height: input.h, width: input.w, until: opts.until, preRelu: opts.preRelu });
    this.releaseState();
    const keep = opts.keep ?? true;
    const { nodes, byName } = plan;
    const last = nodes.length - 1;
    const kept = new Set([nodes[last].storage]);
    const logits = byName.get(this.spec.logits);
    if (logits) kept.add(logits.storage);
    if (Array.isArray(keep)) for (const name of keep) kept.add(passNode(plan, this.spec.name, name, false, 'forward keep').storage);
    for (const name of plan.preRelu) kept.add(byName.get(name)!.storage);
    const pass = (this.pass = new PassState(plan, this.ctx, input, keep === true));
    for (const n of nodes.slice(1)) {
      const { y, argmax } = runLayer(pass, n);
      pass.tensors[n.id] = y;
      if (argmax) {
        if (pass.keptAll) pass.argmax.set(n.id, argmax);
        else argmax.dispose();
      }
      if (!pass.keptAll) pass.freeAfter(n.id, kept);
    }
    return pass.tensors[opts.until ? passNode(plan, this.spec.name, opts.until, false, 'forward').id : last]!;
  }

  /**
   * The activation of a layer from the last forward: post-ReLU for a conv / linear followed by its
   * own ReLU, or its pre-ReLU value with { preRelu: true } (forward must have listed it in preRelu).
   */
  activation(name: string, opts: { preRelu?: boolean } = {}): Tensor {
    this.node(name);
    const pass = this.pass;
    if (!pass) throw new Error(`model '${this.spec.name}': activation('${name}') before any forward()`);
    const t = pass.tensors[passNode(pass.plan, this.spec.name, name, !!opts.preRelu, 'activation').id];
    if (!t) throw new Error(`model '${this.spec.name}': activation '${name}' was not kept (forward with keep: true or a list naming it)`);
    return t;
  }

  /** The activation of a layer read back as dense NCHW floats. */
  readActivation(name: string, opts: { preRelu?: boolean } = {}): Promise<Float32Array> {
    return this.activation(name, opts).read();
  }

  private keptPass(what: string): PassState {
    this.assertLive();
    if (!this.pass?.keptAll) throw new Error(`model '${this.spec.name}': ${what}() needs a forward() with keep: true first`);
    return this.pass;
  }

  /**
   * Backpropagate a seed from any layer to the input image; returns the gradient (N, 3, H, W),
   * which the caller owns (dispose it), or `opts.out` filled with it. Needs the last forward() to
   * have kept everything. Seeding a fused conv / linear seeds its post-ReLU output, i.e. the ReLU layer.
   */
  backward(seed: BackwardSeed, opts: BackwardOptions = {}): Tensor {
    const pass = this.keptPass('backward');
    const name = this.spec.input.name;
    return runBackward(pass, seed, opts.rule ?? 'vanilla', [{ name, id: 0, out: opts.out }]).get(name)!;
  }

  /**
   * dScore/dA at each layer in `opts.layers` (the input's name for the image) for `seed`; each is
   * caller-owned, or the tensor given in `opts.out` under its name. A fused conv's gradient is
   * with respect to its post-ReLU output. Every layer must feed the seed layer.
   */
  gradients(seed: BackwardSeed, opts: GradientsOptions): Map<string, Tensor> {
    const pass = this.keptPass('gradients');
    const wants: GradientRequest[] = opts.layers.map((name) => ({ name, id: passNode(pass.plan, this.spec.name, name, false, 'gradients').id, out: opts.out?.[name] }));
    return runBackward(pass, seed, opts.rule ?? 'vanilla', wants);
  }

  /** Forward, then the top-K classes per sample with their softmax probabilities. */
  async classify(input: Tensor, topK = 5): Promise<Prediction[][]> {
    this.forward(input);
    const logits = this.node(this.spec.logits);
    const prob = this.nodes.find((n) => n.layer?.type === 'softmax' && n.inputs[0] === logits.id);
    const k = logits.shape[0] * logits.shape[1] * logits.shape[2];
    let p: Float64Array;
    if (prob) p = Float64Array.from(await this.readActivation(prob.name));
    else {
      const z = await this.readActivation(logits.name);
      p = new Float64Array(z.length);
      for (let s = 0; s < this.batch; s++) {
        const row = z.subarray(s * k, (s + 1) * k);
        const m = Math.max(...row);
        let sum = 0;
        row.forEach((v, i) => (sum += p[s * k + i] = Math.exp(v - m)));
        for (let i = 0; i < k; i++) p[s * k + i] /= sum;
      }
    }
    return Array.from({ length: this.batch }, (_, s) =>
      Array.from({ length: k }, (_, i) => i)
        .sort((a, b) => p[s * k + b] - p[s * k + a])
        .slice(0, topK)
        .map((index) => ({ index, label: this.spec.labels[index] ?? String(index), prob: p[s * k + index] })),
    );
  }

  /**
   * An RGBA image (width x height) as the network's input (1, 3, H, W): the model's channel order,
   * scale, mean and std. An image already at the input size is used as is; otherwise the short
   * side is resized to spec.input.resizeShortSide (default: the input size) and the center cropped.
   * With `out` (N, 3, H, W) the image fills sample `sample` of it instead (batches).
   */
  preprocess(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, out?: Tensor, sample = 0): Tensor {
    const { height: oh, width: ow, channelOrder, scale, mean, std } = this.spec.input;
    let crop: [number, number, number, number] | undefined;
    if (width !== ow || height !== oh) {
      const f = (this.spec.input.resizeShortSide ?? Math.min(oh, ow)) / Math.min(width, height);
      // Whole source pixels; the offset rounds halves down, like torchvision's CenterCrop.
      const cw = Math.min(width, Math.round(ow / f));
      const ch = Math.min(height, Math.round(oh / f));
      crop = [Math.ceil((width - cw) / 2 - 0.5), Math.ceil((height - ch) / 2 - 0.5), cw, ch];
    }
    return imageToTensor(this.rt, rgba, width, height, { outHeight: oh, outWidth: ow, crop, channelOrder, scale, mean, std }, out, sample);
  }

  private releaseState(): void {
    this.pass?.dispose();
    this.pass = null;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`model '${this.spec.name}' used after dispose()`);
  }

  /** Free the activations, the helper tensors and the weight arena. */
  dispose(): void {
    if (this.disposed) return;
    this.releaseState();
    this.rt.flush();
    this.rt.destroyBuffer(this.arena.buffer);
    this.disposed = true;
  }
}
