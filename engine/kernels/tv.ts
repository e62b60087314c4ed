// Total variation kernels (see shaders/tv.wgsl): per-element terms (summed per sample by the
// reduce kernel) and the gathered gradient. Parameters are checked by engine/ops/tv.ts.

import code from '../../shaders/tv.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';
import { dispatchReduce } from './reduce';

const WG = 256;

export const tvKernel = defineKernel({ name: 'tv', code, entryPoints: ['tv_terms', 'tv_grad'] });

export interface TvUniforms { beta: number; eps: number; weight: number; accumulate: boolean }

function run(rt: Runtime, entryPoint: string, x: Tensor, terms: Tensor, out: Tensor, u: TvUniforms): void {
  const params = {
    per_sample: x.sampleSize, hw: x.h * x.w, width: x.w, height: x.h, half_beta: u.beta / 2, eps: u.eps,
    weight: u.weight, accumulate: u.accumulate ? 1 : 0, ...x.layout('x'), ...out.layout('out'),
  };
  const flops = entryPoint === 'tv_terms' ? 8 * x.size : 30 * x.size;
  rt.dispatch(rt.program({ ...tvKernel, entryPoint, constants: { WG } }), { params, x, terms, out }, sampleGrid(x.sampleSize, x.n, WG), cost(flops, [x, out]));
}

/** value (N, 1, 1, 1) = per-sample TV; terms: dense scratch like x. */
export function dispatchTv(rt: Runtime, x: Tensor, terms: Tensor, value: Tensor, u: TvUniforms): void {
  run(rt, 'tv_terms', x, terms, value, u);
  dispatchReduce(rt, 'per_sample', 'sum', 0, terms, value);
}

/** out = weight * dTV/dx (or += with accumulate); out like x, not x's buffer. */
export function dispatchTvGrad(rt: Runtime, x: Tensor, out: Tensor, u: TvUniforms): void {
  run(rt, 'tv_grad', x, out, out, u);
}
