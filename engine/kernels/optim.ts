// Optimizer update kernels (Adam): pipeline and dispatch arithmetic. Parameters are checked by
// engine/ops/optim.ts.

import code from '../../shaders/adam.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const adamKernel = defineKernel({ name: 'adam', code });

export interface AdamUniforms {
  /** sign * learning rate. */
  lr: number;
  beta1: number;
  beta2: number;
  /** 1 / (1 - beta1^t), 1 / (1 - beta2^t). */
  c1: number;
  c2: number;
  eps: number;
}

/** x += lr * (m c1) / (sqrt(v c2) + eps) after the moment updates; m, v dense like x. */
export function dispatchAdam(rt: Runtime, x: Tensor, g: Tensor, m: Tensor, v: Tensor, u: AdamUniforms): void {
  const params = { per_sample: x.sampleSize, ...g.layout('g'), ...x.layout('x'), ...u };
  rt.dispatch(rt.program({ ...adamKernel, constants: { WG } }), { params, g, x, m, v }, sampleGrid(x.sampleSize, x.n, WG), cost(12 * x.size, [g, x, x, m, m, v, v]));
}
