// Local response normalization (Caffe ACROSS_CHANNELS):
//   y = x / (k + alpha / size * sum_{c' in window(c)} x_{c'}^2)^beta,
//   window(c) = [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)] clipped to [0, C).

import { dispatchLrn, dispatchLrnBackward } from '../kernels/lrn';
import type { Tensor } from '../tensor';
import { expectPositiveInt, expectShape, opError, outputFor } from './check';

export interface LrnParams {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

function checkParams(op: string, p: LrnParams): void {
  expectPositiveInt(op, 'size', p.size);
  if (!(Number.isFinite(p.alpha) && p.alpha >= 0)) throw opError(op, `alpha must be finite and >= 0, got ${p.alpha}`);
  if (!Number.isFinite(p.beta)) throw opError(op, `beta must be finite, got ${p.beta}`);
  if (!(Number.isFinite(p.k) && p.k > 0)) throw opError(op, `k must be finite and > 0, got ${p.k}`);
}

/** (N, C, H, W) -> (N, C, H, W). */
export function lrn(x: Tensor, p: LrnParams, out?: Tensor): Tensor {
  checkParams('lrn', p);
  const y = outputFor('lrn', x, x.shape, out, 'lrn.y');
  dispatchLrn(x.rt, x, y, p);
  return y;
}

/** dx of y = lrn(x) (Caffe's formula; see shaders/lrn_backward.wgsl). */
export function lrnBackward(x: Tensor, y: Tensor, dy: Tensor, p: LrnParams, out?: Tensor): Tensor {
  const op = 'lrnBackward';
  checkParams(op, p);
  expectShape(op, 'y', y, x.shape);
  expectShape(op, 'dy', dy, x.shape);
  const dx = outputFor(op, x, x.shape, out, 'lrn.dx');
  dispatchLrnBackward(x.rt, x, y, dy, dx, p);
  return dx;
}
