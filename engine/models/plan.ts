// The graph plan for one input size (and one `until` layer and pre-ReLU set); graph.ts builds one
// per such key, caches it, and runs forward / backward over it. Planning decides four things:
//   - fusion: a conv or linear whose only consumer (in the whole spec) is a ReLU applies the ReLU
//     itself, unless the pass asks for its pre-ReLU value; the ReLU node then shares its tensor,
//     so the activation of the conv's name is POST-ReLU;
//   - aliases: dropout (identity at inference) and fused ReLUs share their input's tensor, flatten
//     is a reshaped view of it;
//   - concat placement: when a tensor is produced only for one concat, its producer writes straight
//     into the concat's channel slice (out = view) and the concat copies nothing;
//   - multi-conv launches (only when asked: the 'tiled' conv variant): convs reading the same
//     tensor with one stride, one group and one output size (SqueezeNet's expand1x1 + expand3x3,
//     GoogLeNet's three 1x1 branches) run as one dispatch at the first one's step, each still
//     writing its own (placed) tensor; a conv whose pre-ReLU value the pass asks for stays alone.
//     Backward is unchanged: every conv keeps its node.
// Each tensor lives in a *storage* (the node whose allocation holds it); a storage's last use is
// the last step reading any tensor in it, which is when forward({ keep: false }) frees it.

import { conv2dTiledTakes, MAX_CONV_PARTS } from '../kernels/conv2d';
import type { Chw } from './shapes';
import type { LayerSpec, ModelSpec } from './spec';

export interface GraphNode {
  id: number;
  name: string;
  /** null for the input node (id 0). */
  layer: LayerSpec | null;
  inputs: number[];
  consumers: { node: number; slot: number }[];
  /** Per-sample output shape (C, H, W). */
  shape: Chw;
  /** 'same': shares its input's tensor (fused ReLU, dropout); 'reshape': a reshaped view (flatten). */
  alias: 'none' | 'same' | 'reshape';
  /** For a conv / linear followed by its own ReLU: that ReLU's node (its activation is post-ReLU). */
  relu: number | null;
  /** A conv / linear that applies its consumer ReLU itself (relu set, pre-ReLU not asked for). */
  fuseRelu: boolean;
  /** The first conv of a multi-conv launch: every conv of the launch (itself first); null otherwise. */
  fused: number[] | null;
  /** A later conv of a multi-conv launch: the first one's node, which computes this one too. */
  fusedInto: number | null;
  /** Written into channels [offset, offset + C) of concat node `concat`'s tensor. */
  place: { concat: number; offset: number } | null;
  /** The node whose allocation holds this node's tensor. */
  storage: number;
  /** For storage nodes: the last step that reads any tensor held in it. */
  lastUse: number;
}

/** conv / linear name -> the ReLU that is its only consumer in the whole spec (never the logits). */
export function reluPairs(spec: ModelSpec): Map<string, string> {
  const readers = new Map<string, LayerSpec[]>();
  for (const l of spec.layers) for (const i of l.inputs) readers.set(i, [...(readers.get(i) ?? []), l]);
  const pairs = new Map<string, string>();
  for (const l of spec.layers) {
    const r = readers.get(l.name) ?? [];
    if ((l.type === 'conv' || l.type === 'linear') && l.name !== spec.logits && r.length === 1 && r[0].type === 'relu') pairs.set(l.name, r[0].name);
  }
  return pairs;
}

/**
 * Build the plan over `order` (all layers, or the ancestors of an `until` layer, in execution
 * order): nodes with fusion, aliases, placement and lifetimes. `pairs` comes from reluPairs();
 * the layers in `preRelu` keep their ReLU as a separate node.
 */
export function planGraph(
  spec: ModelSpec, order: readonly LayerSpec[], shapes: Map<string, Chw>, pairs: Map<string, string>, preRelu: ReadonlySet<string> = new Set(),
  multiConv = false,
): GraphNode[] {
  const node = (id: number, name: string, layer: LayerSpec | null, inputs: number[]): GraphNode => ({
    id, name, layer, inputs, consumers: [], shape: shapes.get(name)!, alias: 'none', relu: null, fuseRelu: false, fused: null, fusedInto: null, place: null, storage: id, lastUse: id,
  });
  const nodes = [node(0, spec.input.name, null, [])];
  const ids = new Map([[spec.input.name, 0]]);
  for (const l of order) {
    const n = node(nodes.length, l.name, l, l.inputs.map((i) => ids.get(i)!));
    n.inputs.forEach((j, slot) => nodes[j].consumers.push({ node: n.id, slot }));
    ids.set(l.name, n.id);
    nodes.push(n);
  }
  for (const n of nodes) {
    const t = n.layer?.type;
    if (t === 'dropout') n.alias = 'same';
    if (t === 'flatten') n.alias = 'reshape';
    const r = pairs.get(n.name);
    if (r !== undefined && ids.has(r)) {
      n.relu = ids.get(r)!;
      if (!preRelu.has(n.name)) {
        n.fuseRelu = true;
        nodes[n.relu].alias = 'same';
      }
    }
  }
  if (multiConv) groupConvs(nodes, preRelu);
  // The reads of a tensor, looking through the nodes that share it.
  const reads = (id: number): { node: number; slot: number }[] =>
    nodes[id].consumers.flatMap((c) => (nodes[c.node].alias === 'same' ? reads(c.node) : [c]));
  for (const k of nodes) {
    if (k.layer?.type !== 'concat') continue;
    let offset = 0;
    k.inputs.forEach((j, slot) => {
      let p = j;
      while (nodes[p].alias === 'same') p = nodes[p].inputs[0];
      const r = reads(p);
      if (p !== 0 && nodes[p].alias === 'none' && !nodes[p].place && r.length === 1 && r[0].node === k.id && r[0].slot === slot) {
        nodes[p].place = { concat: k.id, offset };
      }
      offset += nodes[j].shape[0];
    });
  }
  const storageOf = (id: number): number => {
    const n = nodes[id];
    if (n.alias !== 'none') return storageOf(n.inputs[0]);
    return n.place ? storageOf(n.place.concat) : id;
  };
  for (const n of nodes) n.storage = storageOf(n.id);
  for (const n of nodes) {
    const s = nodes[n.storage];
    s.lastUse = Math.max(s.lastUse, n.id);
    for (const j of n.inputs) nodes[nodes[j].storage].lastUse = Math.max(nodes[nodes[j].storage].lastUse, n.id);
  }
  return nodes;
}

/** Mark multi-conv launches: convs of one input tensor, stride and output size, MAX_CONV_PARTS at most each. */
function groupConvs(nodes: GraphNode[], preRelu: ReadonlySet<string>): void {
  const groups = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    const l = n.layer;
    if (l?.type !== 'conv' || l.groups !== 1 || preRelu.has(n.name) || !conv2dTiledTakes(l.outChannels, l.kernel[0], l.kernel[1], l.pad[0], l.pad[2])) continue;
    const key = `${n.inputs[0]}|${l.stride.join('x')}|${n.shape[1]}x${n.shape[2]}`;
    const g = groups.get(key) ?? [];
    if (g.length === MAX_CONV_PARTS) continue;
    groups.set(key, [...g, n]);
  }
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    g[0].fused = g.map((n) => n.id);
    for (const n of g.slice(1)) n.fusedInto = g[0].id;
  }
}
