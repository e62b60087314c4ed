// Softmax / log-softmax over channels: pipelines and dispatch arithmetic. Shapes are checked by
// engine/ops/softmax.ts.

import backwardCode from '../../shaders/softmax_backward.wgsl?raw';
import forwardCode from '../../shaders/softmax.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 64;

export const softmaxKernel = defineKernel({ name: 'softmax', code: forwardCode });
export const softmaxBackwardKernel = defineKernel({ name: 'softmax_backward', code: backwardCode });

/** y = softmax(x) or log-softmax(x) over C, for every (n, h, w). */
export function dispatchSoftmax(rt: Runtime, x: Tensor, y: Tensor, log: boolean): void {
  const program = rt.program({ ...softmaxKernel, constants: { WG } });
  const hw = x.h * x.w;
  const params = [{ hw, c: x.c, use_log: log ? 1 : 0 }, x.layout('x'), y.layout('y')];
  rt.dispatch(program, { params, x, y }, sampleGrid(hw, x.n, WG, rt.maxGroups), cost(4 * x.size, [x, y]));
}

/** dx from the forward output y (softmax or log-softmax) and dy. */
export function dispatchSoftmaxBackward(rt: Runtime, y: Tensor, dy: Tensor, dx: Tensor, log: boolean): void {
  const program = rt.program({ ...softmaxBackwardKernel, constants: { WG } });
  const hw = y.h * y.w;
  const params = [{ hw, c: y.c, use_log: log ? 1 : 0 }, y.layout('y'), dy.layout('dy'), dx.layout('dx')];
  rt.dispatch(program, { params, y, dy, dx }, sampleGrid(hw, y.n, WG, rt.maxGroups), cost(4 * y.size, [y, dy, dx]));
}
