// Top-k selection kernel (see shaders/topk.wgsl): one workgroup per row, 'parallel' (32
// invocations per row, merged in workgroup memory; GPUs) or 'serial' (one invocation per row; CPU
// adapters). Both give the same list (a total order with ties by index). Shapes are checked by
// engine/ops/topk.ts.

import code from '../../shaders/topk.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

/** The largest k the shader's register lists hold (its KMAX). */
export const TOPK_MAX = 32;
export const TOPK_VARIANTS = ['parallel', 'serial'] as const;
export type TopkVariant = (typeof TOPK_VARIANTS)[number];
const WG: Record<TopkVariant, number> = { parallel: 32, serial: 1 };

export const topkKernel = defineKernel({ name: 'topk', code, entryPoints: ['topk'], variants: TOPK_VARIANTS });

function variant(rt: Runtime): TopkVariant {
  const v = rt.variant<TopkVariant>('topk', { cpu: 'serial', gpu: 'parallel' });
  if (!TOPK_VARIANTS.includes(v)) throw new Error(`topk: unknown variant '${v}' (${TOPK_VARIANTS.join(', ')})`);
  return v;
}

/** values, indices (N, k, 1, 1) = the k smallest (or largest) of each row (sample) of x, in order. */
export function dispatchTopk(rt: Runtime, x: Tensor, k: number, largest: boolean, values: Tensor, indices: Tensor): void {
  const params = { n: x.n, m: x.sampleSize, k, largest: largest ? 1 : 0, ...x.layout('x') };
  const v = variant(rt);
  rt.dispatch(rt.program({ ...topkKernel, constants: { WG: WG[v] } }), { params, x, values, indices }, sampleGrid(x.n, 1, 1, rt.maxGroups), cost(x.size * k, [x, values, indices], v));
}
