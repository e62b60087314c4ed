// Pairwise-distance kernel (see shaders/pairwise.wgsl): pipelines, variant choice ('tiled'
// workgroup-memory tiles for GPUs, 'direct' 4 x 4 register blocks for CPU adapters) and dispatch
// arithmetic. Shapes are checked by engine/ops/pairwise.ts.

import code from '../../shaders/pairwise.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, dispatchFolded, sampleGrid } from './kernel';

/** Tile edge; the shader's workgroup arrays hold TILE * TILE <= 256 values. */
const TILE = 16;
const WG = 64;
export const PAIRWISE_VARIANTS = ['tiled', 'direct'] as const;
export type PairwiseVariant = (typeof PAIRWISE_VARIANTS)[number];
/** The metrics, in the shader's numbering. */
export const METRICS = ['l2', 'sqeuclidean', 'cosine'] as const;
export type Metric = (typeof METRICS)[number];

export const pairwiseKernel = defineKernel({ name: 'pairwise', code, entryPoints: ['pairwise_tiled', 'pairwise_direct'], variants: PAIRWISE_VARIANTS });

function variant(rt: Runtime): PairwiseVariant {
  const v = rt.variant<PairwiseVariant>('pairwise', { cpu: 'direct', gpu: 'tiled' });
  if (!PAIRWISE_VARIANTS.includes(v)) throw new Error(`pairwise: unknown variant '${v}' (${PAIRWISE_VARIANTS.join(', ')})`);
  return v;
}

/** out (Na, Nb, 1, 1)[i, j] = metric(row i of a, row j of b); rows are the samples, D = sampleSize. */
export function dispatchPairwise(rt: Runtime, a: Tensor, b: Tensor, metric: Metric, out: Tensor): void {
  const params = {
    na: a.n, nb: b.n, dim: a.sampleSize, metric: METRICS.indexOf(metric),
    ...a.layout('a'), ...b.layout('b'), ...out.layout('out'), grid_x: 0, grid_y: 0, grid_z: 0,
  };
  const v = variant(rt);
  const reuse = v === 'tiled' ? TILE : 4;
  const c = cost(3 * a.n * b.n * a.sampleSize, [a.size * Math.ceil(b.n / reuse), b.size * Math.ceil(a.n / reuse), out], v);
  if (v === 'direct') {
    const blocks = Math.ceil(a.n / 4) * Math.ceil(b.n / 4);
    rt.dispatch(rt.program({ ...pairwiseKernel, entryPoint: 'pairwise_direct', constants: { WG } }), { params, a, b, out }, sampleGrid(blocks, 1, WG, rt.maxGroups), c);
    return;
  }
  dispatchFolded(rt, rt.program({ ...pairwiseKernel, entryPoint: 'pairwise_tiled', constants: { TILE } }), { params, a, b, out }, [Math.ceil(b.n / TILE), Math.ceil(a.n / TILE), 1], c);
}
