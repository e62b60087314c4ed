// One layer of the forward pass: pick the op, give it the node's planned output (a concat slice
// when placed), and hand back the tensor. The plan (plan.ts) decides fusion and placement; the
// pass state (pass.ts) holds the tensors. A multi-conv launch runs at its first conv's node and
// writes every conv's tensor; the later convs' nodes then hand theirs back. Its dispatches carry
// the profile scope of all its layers' names joined by '+' (profile.ts: scopeLayers).

import { concat } from '../ops/concat';
import { conv2d, conv2dMulti } from '../ops/conv2d';
import { linear } from '../ops/linear';
import { lrn } from '../ops/lrn';
import { adaptiveAvgPool2d, avgPool2d, globalAvgPool, maxPool2d } from '../ops/pool';
import { relu } from '../ops/relu';
import { softmax } from '../ops/softmax';
import { inProfileScope, SCOPE_JOIN } from '../profile';
import type { Tensor } from '../tensor';
import type { PassState } from './pass';
import type { GraphNode } from './plan';
import type { LayerSpec } from './spec';

export function convParams(l: Extract<LayerSpec, { type: 'conv' }>, fuseRelu = false) {
  return { stride: l.stride, pad: l.pad, groups: l.groups, relu: fuseRelu };
}

export function poolParams(l: Extract<LayerSpec, { type: 'maxpool' | 'avgpool' }>) {
  return { kernel: l.kernel, stride: l.stride, pad: l.pad, ceil: l.ceil, countIncludePad: l.countIncludePad ?? true };
}

export function lrnParams(l: Extract<LayerSpec, { type: 'lrn' }>) {
  return { size: l.size, alpha: l.alpha, beta: l.beta, k: l.k };
}

/** Run node `n` of the pass's plan; its inputs' tensors are in pass.tensors. */
export function runLayer(pass: PassState, n: GraphNode): { y: Tensor; argmax?: Tensor } {
  if (n.fusedInto !== null) return { y: pass.tensors[n.id]! }; // written by its multi-conv launch
  if (n.fused) return inProfileScope(n.fused.map((j) => pass.nodes[j].name).join(SCOPE_JOIN), () => multiConv(pass, n.fused!));
  return inProfileScope(n.name, () => layerOp(pass, n)); // rt.profile maps dispatches to layers
}

/** The convs `ids` (one input) in one launch, each into its planned output; returns the first one's. */
function multiConv(pass: PassState, ids: readonly number[]): { y: Tensor } {
  const nodes = ids.map((j) => pass.nodes[j]);
  const x = pass.tensors[nodes[0].inputs[0]]!;
  const ys = conv2dMulti(x, nodes.map((n) => {
    const l = n.layer as Extract<LayerSpec, { type: 'conv' }>;
    const out = pass.tensors[n.id] ?? pass.outputFor(n.id);
    return { weight: pass.ctx.weight(`${l.name}.weight`), bias: l.bias ? pass.ctx.weight(`${l.name}.bias`) : null, params: convParams(l, n.fuseRelu), out };
  }));
  nodes.forEach((n, i) => {
    pass.adopt(n.id, ys[i]);
    pass.tensors[n.id] = ys[i];
  });
  return { y: ys[0] };
}

function layerOp(pass: PassState, n: GraphNode): { y: Tensor; argmax?: Tensor } {
  const l = n.layer!;
  const model = pass.ctx;
  const xs = n.inputs.map((j) => pass.tensors[j]!);
  const x = xs[0];
  if (n.alias === 'same') return { y: x };
  if (n.alias === 'reshape') return { y: x.reshape([x.n, ...n.shape], n.name) };
  const out = pass.tensors[n.id] ?? pass.outputFor(n.id);
  const bias = (l: { name: string; bias: boolean }) => (l.bias ? model.weight(`${l.name}.bias`) : null);
  let y: Tensor;
  let argmax: Tensor | undefined;
  switch (l.type) {
    case 'conv': y = conv2d(x, model.weight(`${l.name}.weight`), bias(l), convParams(l, n.fuseRelu), out); break;
    case 'linear': y = linear(x, model.weight(`${l.name}.weight`), bias(l), { relu: n.fuseRelu }, out); break;
    case 'relu': y = relu(x, out); break;
    case 'maxpool': ({ y, argmax } = maxPool2d(x, poolParams(l), out)); break;
    case 'avgpool': y = avgPool2d(x, poolParams(l), out); break;
    case 'globalavgpool': y = globalAvgPool(x, out); break;
    case 'adaptiveavgpool': y = adaptiveAvgPool2d(x, l.output, out); break;
    case 'lrn': y = lrn(x, lrnParams(l), out); break;
    case 'concat': y = concat(xs, out, n.name); break;
    case 'softmax': y = softmax(x, out); break;
    default: throw new Error(`model '${model.name}': layer '${l.name}' has no forward for type '${l.type}'`);
  }
  pass.adopt(n.id, y);
  return { y, argmax };
}
