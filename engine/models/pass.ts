// The state of one forward pass: the plan it ran, each node's tensor, the tensors it allocated
// (by storage node) and the max-pool argmax kept for backward. graph.ts owns one PassState per
// forward() and hands it to runLayer (forward.ts) and runBackward (backward.ts); nothing else
// reaches these tensors except through Model.activation().

import type { Runtime } from '../runtime';
import { Tensor } from '../tensor';
import type { GraphNode } from './plan';
import type { Chw } from './shapes';

/** A plan for one (input size, until, preRelu) key. */
export interface Plan {
  key: string;
  nodes: GraphNode[];
  byName: Map<string, GraphNode>;
  /** The layer the pass stops at (undefined: the whole network). */
  until?: string;
  preRelu: ReadonlySet<string>;
  shapes: Map<string, Chw>;
}

/** What a pass needs from its model: the runtime, the name for errors, the logits layer, the weight views. */
export interface PassContext {
  rt: Runtime;
  name: string;
  logits: string;
  weight(name: string): Tensor;
}

export class PassState {
  /** Each node's tensor (null when freed or not yet run). */
  readonly tensors: (Tensor | null)[];
  private readonly owned = new Map<number, Tensor>();
  readonly argmax = new Map<number, Tensor>();
  readonly batch: number;

  constructor(readonly plan: Plan, readonly ctx: PassContext, input: Tensor, readonly keptAll: boolean) {
    this.tensors = plan.nodes.map(() => null);
    this.tensors[0] = input;
    this.batch = input.n;
  }

  get nodes(): GraphNode[] {
    return this.plan.nodes;
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
    const t = this.outputFor(id) ?? Tensor.empty(this.ctx.rt, [this.batch, ...n.shape], n.name);
    if (!n.place) this.owned.set(id, t);
    this.tensors[id] = t;
    return t;
  }

  /** Record a tensor an op allocated for node `id` (not placed): the pass owns it. */
  adopt(id: number, t: Tensor): void {
    if (!this.nodes[id].place && this.nodes[id].alias === 'none' && !this.owned.has(id)) this.owned.set(id, t);
  }

  /** Free every storage whose last use is `step`, except the `kept` ones. */
  freeAfter(step: number, kept: ReadonlySet<number>): void {
    for (const [s, t] of this.owned) {
      if (this.nodes[s].lastUse !== step || kept.has(s)) continue;
      t.dispose();
      this.owned.delete(s);
      for (const n of this.nodes) if (n.storage === s) this.tensors[n.id] = null;
    }
  }

  /** Free everything this pass allocated (never the input), newest first. */
  dispose(): void {
    // Newest first: the next pass over this plan then gets the same buffers (bind-group cache hits).
    Tensor.disposeAll([...this.owned.values(), ...this.argmax.values()]);
    this.owned.clear();
    this.argmax.clear();
    this.tensors.fill(null);
  }
}
