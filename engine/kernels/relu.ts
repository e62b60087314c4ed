// ReLU kernels: pipelines and dispatch arithmetic. Shapes are checked by engine/ops/relu.ts.

import forwardCode from '../../shaders/relu.wgsl?raw';
import backwardCode from '../../shaders/relu_backward.wgsl?raw';
import type { Resources, Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const reluForwardKernel = defineKernel({ name: 'relu', code: forwardCode, entryPoints: ['relu_forward', 'relu_inplace'] });
export const reluBackwardKernel = defineKernel({ name: 'relu_backward', code: backwardCode });

export const RELU_MODES = { vanilla: 0, guided: 1, deconvnet: 2 } as const;
export type ReluRule = keyof typeof RELU_MODES;

/** y = max(x, 0); x === y runs in place. */
export function dispatchRelu(rt: Runtime, x: Tensor, y: Tensor): void {
  const inplace = x.buffer === y.buffer && x.base === y.base && x.batchStride === y.batchStride;
  const program = rt.program({ ...reluForwardKernel, entryPoint: inplace ? 'relu_inplace' : 'relu_forward', constants: { WG } });
  const params = [{ per_sample: y.sampleSize }, x.layout('x'), y.layout('y')];
  const resources: Resources = inplace ? { params, y } : { params, x, y };
  rt.dispatch(program, resources, sampleGrid(y.sampleSize, y.n, WG, rt.maxGroups), cost(y.size, inplace ? [y, y] : [x, y]));
}

export function dispatchReluBackward(rt: Runtime, rule: ReluRule, x: Tensor, dy: Tensor, dx: Tensor): void {
  const program = rt.program({ ...reluBackwardKernel, constants: { WG } });
  const params = [{ per_sample: dx.sampleSize, mode: RELU_MODES[rule] }, x.layout('x'), dy.layout('dy'), dx.layout('dx')];
  rt.dispatch(program, { params, x, dy, dx }, sampleGrid(dx.sampleSize, dx.n, WG, rt.maxGroups), cost(2 * dx.size, [x, dy, dx]));
}
