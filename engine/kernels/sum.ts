// Stack sum: pipelines and dispatch arithmetic. Shapes are checked by engine/ops/sum.ts.

import code from '../../shaders/sum.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const sumKernel = defineKernel({ name: 'sum', code });

/** y = sum of the k dense tensors of y's shape stored back to back in `stack` from element 0. */
export function dispatchSumStack(rt: Runtime, stack: GPUBuffer, k: number, y: Tensor): void {
  const program = rt.program({ ...sumKernel, constants: { WG } });
  const params = { per_sample: y.sampleSize, k, slot: y.size, ...y.layout('y') };
  rt.dispatch(program, { params, stack, y: y.buffer }, sampleGrid(y.sampleSize, y.n, WG));
}
