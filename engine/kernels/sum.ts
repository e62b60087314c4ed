// Stack sum: pipelines and dispatch arithmetic. Shapes are checked by engine/ops/sum.ts.

import code from '../../shaders/sum.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const sumKernel = defineKernel({ name: 'sum', code });

/**
 * y = sum of the k dense tensors of y's shape stored back to back in `stack` (a dense tensor of
 * k * y.size elements or more, from its first element).
 */
export function dispatchSumStack(rt: Runtime, stack: Tensor, k: number, y: Tensor): void {
  const program = rt.program({ ...sumKernel, constants: { WG } });
  const params = [{ per_sample: y.sampleSize, k, slot: y.size, stack_base: stack.boundBase }, y.layout('y')];
  rt.dispatch(program, { params, stack, y }, sampleGrid(y.sampleSize, y.n, WG, rt.maxGroups), cost(k * y.size, [k * y.size, y]));
}
