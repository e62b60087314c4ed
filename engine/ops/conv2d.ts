// Conv2d op: y = conv(x, w) + b with stride, asymmetric padding, groups and an optional fused
// ReLU, and its backward to the input and to the weights and bias. x (N, Cin, H, W), weight
// (Cout, Cin/groups, KH, KW), bias (1, Cout, 1, 1), y (N, Cout, OH, OW) with
// OH = floor((H + pt + pb - KH) / sh) + 1 (likewise OW).

import { dispatchConv2d, dispatchConv2dBackwardInput, dispatchConv2dBackwardWeights, dispatchConv2dMulti, type ConvGeometry } from '../kernels/conv2d';
import { shapeStr, Tensor, type Shape4 } from '../tensor';
import { expectNonNegInt, expectPositiveInt, expectShape, opError, outputFor } from './check';

export interface Conv2dParams {
  stride: [number, number];
  /** (top, bottom, left, right). */
  pad: [number, number, number, number];
  groups: number;
  /** Fuse y = max(y, 0) into the forward. */
  relu?: boolean;
}

export function conv2dOutputShape(xShape: Shape4, wShape: Shape4, p: Conv2dParams, op = 'conv2d'): Shape4 {
  p.stride.forEach((s, i) => expectPositiveInt(op, `stride[${i}]`, s));
  p.pad.forEach((s, i) => expectNonNegInt(op, `pad[${i}]`, s));
  expectPositiveInt(op, 'groups', p.groups);
  const [n, cin, h, w] = xShape;
  const [cout, cinG, kh, kw] = wShape;
  if (cin % p.groups !== 0) throw opError(op, `x has ${cin} channels, not divisible by groups ${p.groups}`);
  if (cout % p.groups !== 0) throw opError(op, `weight has ${cout} output channels, not divisible by groups ${p.groups}`);
  if (cinG !== cin / p.groups) {
    throw opError(op, `weight has shape ${shapeStr(wShape)}, expected (${cout}, ${cin / p.groups}, ${kh}, ${kw}): Cin/groups = ${cin}/${p.groups}`);
  }
  const [pt, pb, pl, pr] = p.pad;
  if (kh > h + pt + pb || kw > w + pl + pr) {
    throw opError(op, `weight kernel ${kh}x${kw} is larger than the padded input ${h + pt + pb}x${w + pl + pr} of x ${shapeStr(xShape)}`);
  }
  return [n, cout, Math.floor((h + pt + pb - kh) / p.stride[0]) + 1, Math.floor((w + pl + pr - kw) / p.stride[1]) + 1];
}

function geometry(xShape: Shape4, yShape: Shape4, wShape: Shape4, p: Conv2dParams): ConvGeometry {
  const [n, cin, h, w] = xShape;
  const [, cout, oh, ow] = yShape;
  return { n, cin, h, w, cout, oh, ow, kh: wShape[2], kw: wShape[3], sh: p.stride[0], sw: p.stride[1], pt: p.pad[0], pl: p.pad[2], groups: p.groups };
}

/** Weights and biases may sit anywhere in the arena but must be dense; every binding must fit the device. */
function checkBuffers(op: string, dense: Record<string, Tensor | null>, all: Record<string, Tensor | null>): void {
  for (const [name, t] of Object.entries(dense)) {
    if (t && t.n > 1 && t.batchStride !== t.sampleSize) throw opError(op, `${name} must be dense, got a view with stride ${t.batchStride} per ${shapeStr(t.shape.slice(1))} filter`);
  }
  // Two plain loops: merging the records with a spread costs ~1-3 us per call in V8.
  for (const group of [dense, all]) {
    for (const name in group) {
      const t = group[name];
      if (!t) continue;
      t.assertLive();
      const max = t.rt.device.limits.maxStorageBufferBindingSize;
      const bytes = t.bindBytes;
      if (bytes > max) throw opError(op, `${name} (${t.label}) spans ${bytes} bytes, over the device's maxStorageBufferBindingSize ${max}`);
    }
  }
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, p: Conv2dParams, out?: Tensor): Tensor {
  const yShape = conv2dOutputShape(x.shape, weight.shape, p);
  if (bias) expectShape('conv2d', 'bias', bias, [1, yShape[1], 1, 1]);
  checkBuffers('conv2d', { weight, bias }, { x, out: out ?? null });
  const y = outputFor('conv2d', x, yShape, out, 'conv2d.y');
  dispatchConv2d(x.rt, geometry(x.shape, yShape, weight.shape, p), x, weight, bias, y, p.relu ?? false);
  return y;
}

/** One conv of conv2dMulti: weight, bias, parameters and (optionally) its output, e.g. a concat's channel view. */
export interface Conv2dPart {
  weight: Tensor;
  bias: Tensor | null;
  params: Conv2dParams;
  out?: Tensor;
}

/**
 * conv2d of one x by several convs; returns each one's y. On the 'tiled' variant, convs with one
 * group, one stride and one output size whose weights (and biases) share a buffer run as one
 * launch (dispatchConv2dMulti); otherwise, and on 'direct', one dispatch each.
 */
export function conv2dMulti(x: Tensor, parts: readonly Conv2dPart[]): Tensor[] {
  if (parts.length === 0) throw opError('conv2dMulti', 'no convs given');
  const ys = parts.map((p, i) => {
    const op = `conv2dMulti part ${i}`;
    const yShape = conv2dOutputShape(x.shape, p.weight.shape, p.params, op);
    if (p.bias) expectShape(op, 'bias', p.bias, [1, yShape[1], 1, 1]);
    checkBuffers(op, { weight: p.weight, bias: p.bias }, { x, out: p.out ?? null });
    return outputFor(op, x, yShape, p.out, 'conv2d.y');
  });
  const convs = parts.map((p, i) => ({ g: geometry(x.shape, ys[i].shape, p.weight.shape, p.params), w: p.weight, b: p.bias, y: ys[i], relu: p.params.relu ?? false }));
  dispatchConv2dMulti(x.rt, x, convs);
  return ys;
}

/** dx for y = conv2d(x, weight, ...). A fused ReLU is not undone here: pass dy through reluBackward first. */
export function conv2dBackwardInput(dy: Tensor, weight: Tensor, xShape: Shape4, p: Conv2dParams, out?: Tensor): Tensor {
  const op = 'conv2dBackwardInput';
  const yShape = conv2dOutputShape(xShape, weight.shape, p, op);
  expectShape(op, 'dy', dy, yShape);
  checkBuffers(op, { weight }, { dy, out: out ?? null });
  const dx = outputFor(op, dy, xShape, out, 'conv2d.dx');
  dispatchConv2dBackwardInput(dy.rt, geometry(xShape, yShape, weight.shape, p), dy, weight, dx);
  return dx;
}

/** dw (weightShape) and, with hasBias, db (1, Cout, 1, 1), summed over the batch. */
export function conv2dBackwardWeights(x: Tensor, dy: Tensor, weightShape: Shape4, p: Conv2dParams, hasBias: boolean): { dw: Tensor; db: Tensor | null } {
  const op = 'conv2dBackwardWeights';
  const yShape = conv2dOutputShape(x.shape, weightShape, p, op);
  expectShape(op, 'dy', dy, yShape);
  checkBuffers(op, {}, { x, dy });
  const dw = Tensor.empty(x.rt, weightShape, 'conv2d.dw');
  const db = hasBias ? Tensor.empty(x.rt, [1, weightShape[0], 1, 1], 'conv2d.db') : null;
  dispatchConv2dBackwardWeights(x.rt, geometry(x.shape, yShape, weightShape, p), x, dy, dw, db);
  return { dw, db };
}
