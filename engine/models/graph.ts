// The model graph executor: forward / backward over the plan built once by plan.ts (fusion,
// aliases, in-place concat placement, tensor lifetimes), activations by name, classification.

import { imageToTensor } from '../ops/image';
import type { ReluRule } from '../ops/relu';
import type { Runtime } from '../runtime';
import { shapeStr, Tensor } from '../tensor';
import { runBackward, type BackwardSeed } from './backward';
import { runLayer } from './forward';
import type { Chw } from './load';
import type { WeightArena } from './weights';
import { planGraph, type GraphNode } from './plan';
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
}

export interface BackwardOptions {
  /** How gradients cross ReLUs (default 'vanilla'). */
  rule?: ReluRule;
}

export interface Prediction {
  index: number;
  label: string;
  prob: number;
}


/** A loaded network: weights on the GPU, a plan, and the tensors of the last forward pass. */
export class Model {
  readonly nodes: GraphNode[];
  private readonly byName: Map<string, GraphNode>;
  /** Each node's tensor from the last forward (null when freed or not run). */
  tensors: (Tensor | null)[] = [];
  /** Tensors the last forward allocated, by storage node. */
  private owned = new Map<number, Tensor>();
  /** Max-pool argmax tensors by node, kept for backward. */
  argmax = new Map<number, Tensor>();
  /** Batch size of the last forward, and whether it kept everything backward needs. */
  batch = 0;
  keptAll = false;
  private disposed = false;

  constructor(
    readonly rt: Runtime,
    readonly spec: ModelSpec,
    order: readonly LayerSpec[],
    shapes: Map<string, Chw>,
    private readonly arena: WeightArena,
  ) {
    this.nodes = planGraph(spec, order, shapes);
    this.byName = new Map(this.nodes.map((n) => [n.name, n]));
  }

  /** Layers in execution order (the input first), with per-sample output shapes. */
  get layers(): LayerInfo[] {
    return this.nodes.map((n) => ({
      name: n.name,
      type: n.layer?.type ?? 'input',
      inputs: n.inputs.map((j) => this.nodes[j].name),
      shape: n.shape,
      ...(n.fuseRelu ? { fusedRelu: this.nodes[n.consumers[0].node].name } : {}),
    }));
  }

  node(name: string): GraphNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`model '${this.spec.name}': no layer named '${name}'`);
    return n;
  }

  /** A weight view from the arena, e.g. 'conv1.weight'. Never dispose it. */
  weight(name: string): Tensor {
    const t = this.arena.views.get(name);
    if (!t) throw new Error(`model '${this.spec.name}': no weight tensor '${name}'`);
    return t;
  }

  /**
   * Run the network on `input` (N, 3, H, W) and return the last layer's output. The returned tensor
   * and every activation belong to the model: valid until the next forward() or dispose().
   */
  forward(input: Tensor, opts: ForwardOptions = {}): Tensor {
    this.assertLive();
    const { channels, height, width } = this.spec.input;
    if (input.c !== channels || input.h !== height || input.w !== width) {
      throw new Error(`model '${this.spec.name}' forward: input has shape ${shapeStr(input.shape)}, expected (N, ${channels}, ${height}, ${width})`);
    }
    this.releaseState();
    const keep = opts.keep ?? true;
    const last = this.nodes.length - 1;
    const kept = new Set([this.nodes[last].storage, this.node(this.spec.logits).storage]);
    if (Array.isArray(keep)) for (const name of keep) kept.add(this.node(name).storage);
    this.batch = input.n;
    this.keptAll = keep === true;
    this.tensors = this.nodes.map(() => null);
    this.tensors[0] = input;
    for (const n of this.nodes.slice(1)) {
      const { y, argmax } = runLayer(this, n);
      this.tensors[n.id] = y;
      if (argmax) {
        if (this.keptAll) this.argmax.set(n.id, argmax);
        else argmax.dispose();
      }
      if (!this.keptAll) this.freeAfter(n.id, kept);
    }
    return this.tensors[last]!;
  }

  /** The tensor that a compute node writes (its concat slice when placed); allocates storage on demand. */
  outputFor(id: number): Tensor | undefined {
    const n = this.nodes[id];
    if (!n.place) return undefined;
    const parent = this.tensors[n.place.concat] ?? this.allocate(n.place.concat);
    return parent.channels(n.place.offset, n.shape[0], n.name);
  }

  private allocate(id: number): Tensor {
    const n = this.nodes[id];
    const t = this.outputFor(id) ?? Tensor.empty(this.rt, [this.batch, ...n.shape], n.name);
    if (!n.place) this.owned.set(id, t);
    this.tensors[id] = t;
    return t;
  }

  /** Record a tensor an op allocated for node `id` (not placed): the model owns it. */
  adopt(id: number, t: Tensor): void {
    if (!this.nodes[id].place && this.nodes[id].alias === 'none' && !this.owned.has(id)) this.owned.set(id, t);
  }

  private freeAfter(step: number, kept: Set<number>): void {
    for (const [s, t] of this.owned) {
      if (this.nodes[s].lastUse !== step || kept.has(s)) continue;
      t.dispose();
      this.owned.delete(s);
      for (const n of this.nodes) if (n.storage === s) this.tensors[n.id] = null;
    }
  }

  /** The activation of a layer from the last forward (post-ReLU for a fused conv / linear). */
  activation(name: string): Tensor {
    const n = this.node(name);
    if (this.batch === 0) throw new Error(`model '${this.spec.name}': activation('${name}') before any forward()`);
    const t = this.tensors[n.id];
    if (!t) throw new Error(`model '${this.spec.name}': activation '${name}' was not kept (forward with keep: true or a list naming it)`);
    return t;
  }

  /** The activation of a layer read back as dense NCHW floats. */
  readActivation(name: string): Promise<Float32Array> {
    return this.activation(name).read();
  }

  /**
   * Backpropagate a seed from any layer to the input image; returns the gradient (N, 3, H, W),
   * which the caller owns (dispose it). Needs the last forward() to have kept everything.
   * Seeding a fused conv / linear seeds its post-ReLU output, i.e. the ReLU layer.
   */
  backward(seed: BackwardSeed, opts: BackwardOptions = {}): Tensor {
    this.assertLive();
    if (!this.keptAll) throw new Error(`model '${this.spec.name}': backward() needs a forward() with keep: true first`);
    return runBackward(this, seed, opts.rule ?? 'vanilla');
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
    for (const t of this.owned.values()) t.dispose();
    for (const t of this.argmax.values()) t.dispose();
    this.owned.clear();
    this.argmax.clear();
    this.tensors = [];
    this.batch = 0;
    this.keptAll = false;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`model '${this.spec.name}' used after dispose()`);
  }

  /** Free the activations, the helper tensors and the weight arena. */
  dispose(): void {
    if (this.disposed) return;
    this.releaseState();
    this.rt.flush();
    this.arena.buffer.destroy();
    this.disposed = true;
  }
}
