// LRN (Caffe ACROSS_CHANNELS) kernels: pipelines and dispatch arithmetic. Shapes and parameters
// are checked by engine/ops/lrn.ts.

import backwardCode from '../../shaders/lrn_backward.wgsl?raw';
import forwardCode from '../../shaders/lrn.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const lrnKernel = defineKernel({ name: 'lrn', code: forwardCode });
export const lrnBackwardKernel = defineKernel({ name: 'lrn_backward', code: backwardCode });

export interface LrnConstants {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

function lrnParams(x: Tensor, p: LrnConstants) {
  return {
    per_sample: x.sampleSize,
    c: x.c,
    hw: x.h * x.w,
    size: p.size,
    pre: Math.floor((p.size - 1) / 2),
    alpha_over_size: p.alpha / p.size,
    beta: p.beta,
    k: p.k,
  };
}

export function dispatchLrn(rt: Runtime, x: Tensor, y: Tensor, p: LrnConstants): void {
  const program = rt.program({ ...lrnKernel, constants: { WG } });
  const params = [lrnParams(x, p), x.layout('x'), y.layout('y')];
  rt.dispatch(program, { params, x, y }, sampleGrid(x.sampleSize, x.n, WG, rt.maxGroups), cost(x.size * (2 * p.size + 4), [x, y]));
}

export function dispatchLrnBackward(rt: Runtime, x: Tensor, y: Tensor, dy: Tensor, dx: Tensor, p: LrnConstants): void {
  const program = rt.program({ ...lrnBackwardKernel, constants: { WG } });
  const params = [lrnParams(x, p), x.layout('x'), y.layout('y'), dy.layout('dy'), dx.layout('dx')];
  rt.dispatch(program, { params, x, y, dy, dx }, sampleGrid(x.sampleSize, x.n, WG, rt.maxGroups), cost(x.size * (p.size * p.size * 4 + 8), [x, y, dy, dx]));
}
