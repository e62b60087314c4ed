// Plans per input size: shapes are inferred for each H x W (and `until` layer), the plan is built
// once per (size, until, preRelu set) and cached. Too small an input, or a size at which a linear
// layer's inFeatures no longer match, fails naming the layer and the sizes that work.

import { planGraph, reluPairs } from './plan';
import type { Plan } from './pass';
import { ancestors, inferShapes, ShapeError, type Chw } from './shapes';
import type { LayerSpec, ModelSpec } from './spec';

/** What a pass asks of its plan. */
export interface PlanKey {
  height: number;
  width: number;
  until?: string;
  preRelu?: readonly string[];
}

/** Square sides searched (up to this factor times the spec's size) for the smallest input and the sizes a full pass accepts. */
const SEARCH_FACTOR = 2;

export class Plans {
  private readonly cache = new Map<string, Plan>();
  private readonly minSize = new Map<string, number>();
  private working: number[] | null = null;
  private readonly pairs: Map<string, string>;

  /** `multiConv`: plan multi-conv launches (plan.ts), for runtimes whose conv2d variant is 'tiled'. */
  constructor(private readonly spec: ModelSpec, private readonly order: readonly LayerSpec[], private readonly multiConv = false) {
    this.pairs = reluPairs(spec);
  }

  /** The layers a pass stopping at `until` runs (with a fused conv's own ReLU); undefined: all. */
  private active(until?: string): Set<string> | undefined {
    if (until === undefined) return undefined;
    if (until !== this.spec.input.name && !this.order.some((l) => l.name === until)) throw new Error(`model '${this.spec.name}': until: no layer named '${until}'`);
    const r = this.pairs.get(until);
    return ancestors(this.spec, r ? [until, r] : [until]);
  }

  /** Per-sample shapes at input `height` x `width`, for the layers a pass to `until` runs. */
  shapes(height: number, width: number, until?: string): Map<string, Chw> {
    const what = `model '${this.spec.name}' at input ${height}x${width}`;
    try {
      return inferShapes(this.spec, this.order, what, { height, width, only: this.active(until) });
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      if (e.kind === 'empty') {
        throw new Error(`${e.message}: the input is too small; the smallest that works is ${this.minInputSize(until)}x${this.minInputSize(until)}${until ? ` (until '${until}')` : ''}`);
      }
      if (e.kind === 'features') {
        const l = this.order.find((x) => x.name === e.layer)!;
        const sizes = this.workingSizes();
        const works = sizes.length ? `full passes work at square sizes ${ranges(sizes)}` : 'no square size works for a full pass';
        throw new Error(`${e.message}; ${works}, or stop before it with until: '${l.inputs[0]}'`);
      }
      throw e;
    }
  }

  /** The plan for `key`, built on first use. */
  get(key: PlanKey): Plan {
    const preRelu = [...new Set(key.preRelu ?? [])].sort();
    const id = `${key.height}x${key.width}|${key.until ?? ''}|${preRelu.join(',')}`;
    let plan = this.cache.get(id);
    if (plan) return plan;
    for (const name of preRelu) {
      if (!this.pairs.has(name)) {
        throw new Error(`model '${this.spec.name}' forward: preRelu: '${name}' is not a conv / linear followed by its own ReLU (valid: ${[...this.pairs.keys()].join(', ')})`);
      }
    }
    const shapes = this.shapes(key.height, key.width, key.until);
    const only = this.active(key.until);
    const missing = preRelu.find((n) => only && !only.has(n));
    if (missing) throw new Error(`model '${this.spec.name}' forward: preRelu: '${missing}' is not run by a pass that stops at until: '${key.until}'`);
    const nodes = planGraph(this.spec, only ? this.order.filter((l) => only.has(l.name)) : this.order, shapes, this.pairs, new Set(preRelu), this.multiConv);
    plan = { key: id, nodes, byName: new Map(nodes.map((n) => [n.name, n])), until: key.until, preRelu: new Set(preRelu), shapes };
    this.cache.set(id, plan);
    return plan;
  }

  private fits(size: number, until?: string): boolean {
    try {
      inferShapes(this.spec, this.order, '', { height: size, width: size, only: this.active(until) });
      return true;
    } catch (e) {
      if (e instanceof ShapeError) return false;
      throw e;
    }
  }

  private get searchLimit(): number {
    return SEARCH_FACTOR * Math.max(this.spec.input.height, this.spec.input.width);
  }

  /** The smallest square input side for which a pass to `until` (default: the whole network) works. */
  minInputSize(until?: string): number {
    const id = until ?? '';
    let s = this.minSize.get(id);
    if (s !== undefined) return s;
    s = 1;
    while (s <= this.searchLimit && !this.fits(s, until)) s++;
    if (s > this.searchLimit) throw new Error(`model '${this.spec.name}': no square input up to ${this.searchLimit} works${until ? ` for until '${until}'` : ''}`);
    this.minSize.set(id, s);
    return s;
  }

  /** Square sides up to the search limit at which a full pass works (computed once). */
  private workingSizes(): number[] {
    if (!this.working) {
      this.working = [];
      for (let s = 1; s <= this.searchLimit; s++) if (this.fits(s)) this.working.push(s);
    }
    return this.working;
  }
}

/** [3, 4, 5, 9] -> "3x3 to 5x5, 9x9". */
function ranges(sizes: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < sizes.length; ) {
    let j = i;
    while (j + 1 < sizes.length && sizes[j + 1] === sizes[j] + 1) j++;
    parts.push(i === j ? `${sizes[i]}x${sizes[i]}` : `${sizes[i]}x${sizes[i]} to ${sizes[j]}x${sizes[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
