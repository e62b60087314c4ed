// Pooling ops: max and average pooling (Caffe and PyTorch sizing), global and adaptive average
// pooling, and their backwards. Parameters and shapes are checked here; kernels/pool.ts dispatches.

import { dispatchAvgPool, dispatchAvgPoolBackward, dispatchMaxPool, dispatchMaxPoolBackward } from '../kernels/pool';
import { pooledExtent } from '../models/shapes';
import { checkShape, shapeStr, Tensor, type Shape4 } from '../tensor';
import { expectNonNegInt, expectPositiveInt, expectShape, opError, outputFor } from './check';

export interface Pool2dParams {
  kernel: [number, number];
  stride: [number, number];
  /** (top, bottom, left, right). */
  pad: [number, number, number, number];
  /** Caffe sizes pooling outputs with ceil, PyTorch (default) with floor. */
  ceil: boolean;
  /** Average pooling divisor: whether padded cells count (default true: Caffe and PyTorch). */
  countIncludePad?: boolean;
}

function checkedOutputShape(op: string, xShape: readonly number[], p: Pool2dParams): Shape4 {
  const [n, c, h, w] = checkShape(xShape, `${op}: x`);
  if (p.kernel?.length !== 2 || p.stride?.length !== 2 || p.pad?.length !== 4) {
    throw opError(op, 'kernel and stride need 2 values (h, w), pad 4 (top, bottom, left, right)');
  }
  p.kernel.forEach((v, i) => expectPositiveInt(op, `kernel[${i}]`, v));
  p.stride.forEach((v, i) => expectPositiveInt(op, `stride[${i}]`, v));
  p.pad.forEach((v, i) => expectNonNegInt(op, `pad[${i}]`, v));
  const [kh, kw] = p.kernel;
  const [pt, pb, pl, pr] = p.pad;
  if (pt >= kh || pb >= kh || pl >= kw || pr >= kw) {
    throw opError(op, `pad ${shapeStr(p.pad)} must be smaller than the kernel ${shapeStr(p.kernel)} on every side`);
  }
  if (kh > h + pt + pb || kw > w + pl + pr) {
    throw opError(op, `window ${shapeStr(p.kernel)} is larger than the padded input (${h + pt + pb}, ${w + pl + pr}) of input ${shapeStr(xShape)}`);
  }
  // The one sizing rule (engine/models/shapes.ts): floor, or ceil with Caffe's / PyTorch's last-window clip.
  return [n, c, pooledExtent(h, kh, p.stride[0], pt, pb, p.ceil), pooledExtent(w, kw, p.stride[1], pl, pr, p.ceil)];
}

/** (N, C, H, W) -> (N, C, OH, OW) for pooling with `p`; throws on invalid parameters. */
export function pool2dOutputShape(xShape: Shape4, p: Pool2dParams): Shape4 {
  return checkedOutputShape('pool2dOutputShape', xShape, p);
}

/**
 * Max pooling. `argmax` has y's shape; its float32 storage holds u32 indices ih * W + iw inside
 * the input channel plane (read with `readU32()`). Ties: the first maximum in row-major window
 * order wins.
 */
export function maxPool2d(x: Tensor, p: Pool2dParams, out?: Tensor): { y: Tensor; argmax: Tensor } {
  const shape = checkedOutputShape('maxPool2d', x.shape, p);
  const y = outputFor('maxPool2d', x, shape, out, 'maxpool.y');
  const argmax = Tensor.empty(x.rt, shape, 'maxpool.argmax');
  dispatchMaxPool(x.rt, x, y, argmax, p);
  return { y, argmax };
}

/** dx of max pooling: each dy goes to its window's argmax (a gather, no atomics). */
export function maxPool2dBackward(dy: Tensor, argmax: Tensor, xShape: Shape4, p: Pool2dParams, out?: Tensor): Tensor {
  const op = 'maxPool2dBackward';
  const shape = checkedOutputShape(op, xShape, p);
  expectShape(op, 'dy', dy, shape);
  expectShape(op, 'argmax', argmax, shape);
  const dx = outputFor(op, dy, xShape, out, 'maxpool.dx');
  dispatchMaxPoolBackward(dy.rt, dy, argmax, dx, p);
  return dx;
}

function avgWindows(p: Pool2dParams) {
  return { kernel: p.kernel, stride: p.stride, pad: p.pad, countIncludePad: p.countIncludePad ?? true };
}

/** Average pooling; the divisor follows Caffe / PyTorch (see shaders/avgpool.wgsl). */
export function avgPool2d(x: Tensor, p: Pool2dParams, out?: Tensor): Tensor {
  const shape = checkedOutputShape('avgPool2d', x.shape, p);
  const y = outputFor('avgPool2d', x, shape, out, 'avgpool.y');
  dispatchAvgPool(x.rt, x, y, avgWindows(p));
  return y;
}

export function avgPool2dBackward(dy: Tensor, xShape: Shape4, p: Pool2dParams, out?: Tensor): Tensor {
  const op = 'avgPool2dBackward';
  expectShape(op, 'dy', dy, checkedOutputShape(op, xShape, p));
  const dx = outputFor(op, dy, xShape, out, 'avgpool.dx');
  dispatchAvgPoolBackward(dy.rt, dy, dx, avgWindows(p));
  return dx;
}

/** (N, C, H, W) -> (N, C, 1, 1), the mean over each channel plane. */
export function globalAvgPool(x: Tensor, out?: Tensor): Tensor {
  const y = outputFor('globalAvgPool', x, [x.n, x.c, 1, 1], out, 'globalavgpool.y');
  dispatchAvgPool(x.rt, x, y, null);
  return y;
}

export function globalAvgPoolBackward(dy: Tensor, xShape: Shape4, out?: Tensor): Tensor {
  const op = 'globalAvgPoolBackward';
  const [n, c] = checkShape(xShape, `${op}: xShape`);
  expectShape(op, 'dy', dy, [n, c, 1, 1]);
  const dx = outputFor(op, dy, xShape, out, 'globalavgpool.dx');
  dispatchAvgPoolBackward(dy.rt, dy, dx, null);
  return dx;
}

/**
 * PyTorch AdaptiveAvgPool2d: output cell o along an axis of length L averages input cells
 * [floor(o * L / OL), ceil((o + 1) * L / OL)).
 */
export function adaptiveAvgPool2d(x: Tensor, output: [number, number], out?: Tensor): Tensor {
  const op = 'adaptiveAvgPool2d';
  if (output?.length !== 2) throw opError(op, `output must be 2 values (OH, OW), got ${String(output)}`);
  output.forEach((v, i) => expectPositiveInt(op, `output[${i}]`, v));
  const y = outputFor(op, x, [x.n, x.c, output[0], output[1]], out, 'adaptiveavgpool.y');
  dispatchAvgPool(x.rt, x, y, null);
  return y;
}

/** dx of adaptiveAvgPool2d; the output size is dy's. */
export function adaptiveAvgPool2dBackward(dy: Tensor, xShape: Shape4, out?: Tensor): Tensor {
  const op = 'adaptiveAvgPool2dBackward';
  const [n, c] = checkShape(xShape, `${op}: xShape`);
  expectShape(op, 'dy', dy, [n, c, dy.h, dy.w]);
  const dx = outputFor(op, dy, xShape, out, 'adaptiveavgpool.dx');
  dispatchAvgPoolBackward(dy.rt, dy, dx, null);
  return dx;
}
