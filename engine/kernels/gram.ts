// Gram matrix kernels, forward and backward (see shaders/gram.wgsl): pipelines, variant
// choice ('tiled' workgroup-memory tiles for GPUs, 'direct' 4 x 4 register blocks for CPU
// adapters) and dispatch arithmetic. Shapes are checked by engine/ops/gram.ts.

import code from '../../shaders/gram.wgsl?raw';
import type { Resources, Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, dispatchFolded, sampleGrid } from './kernel';

/** Tile edge; the shaders' workgroup arrays hold TILE * TILE <= 256 values. */
const TILE = 16;
const WG = 64;
export const GRAM_VARIANTS = ['tiled', 'direct'] as const;
export type GramVariant = (typeof GRAM_VARIANTS)[number];

export const gramKernel = defineKernel({ name: 'gram', code, entryPoints: ['gram_tiled', 'gram_direct', 'backward_tiled', 'backward_direct'], variants: GRAM_VARIANTS });

function variant(rt: Runtime): GramVariant {
  const v = rt.variant<GramVariant>('gram', { cpu: 'direct', gpu: 'tiled' });
  if (!GRAM_VARIANTS.includes(v)) throw new Error(`gram: unknown variant '${v}' (${GRAM_VARIANTS.join(', ')})`);
  return v;
}

const blocks4 = (v: number) => Math.ceil(v / 4);

/**
 * One pass of either direction: the direct entry point over `direct` 4 x 4 blocks per sample, or
 * the tiled one over the logical grid `tiled` (folded).
 */
function run(rt: Runtime, entry: 'gram' | 'backward', f: Tensor, resources: Resources, df: Tensor, accumulate: boolean, direct: number, tiled: number[], touched: Tensor[]): void {
  const hw = f.h * f.w;
  const params = { channels: f.c, hw, inv_hw: 1 / hw, accumulate: accumulate ? 1 : 0, ...f.layout('f'), ...df.layout('df'), grid_x: 0, grid_y: 0, grid_z: 0 };
  const v = variant(rt);
  const c = cost(2 * f.n * f.c * f.c * hw, [f.size * Math.ceil(f.c / (v === 'tiled' ? TILE : 4)), ...touched], v);
  if (v === 'direct') {
    rt.dispatch(rt.program({ ...gramKernel, entryPoint: `${entry}_direct`, constants: { WG } }), { ...resources, params }, sampleGrid(direct, f.n, WG), c);
  } else {
    dispatchFolded(rt, rt.program({ ...gramKernel, entryPoint: `${entry}_tiled`, constants: { TILE } }), { ...resources, params }, tiled, c);
  }
}

/** g (N, 1, C, C) dense = F F^T / (H*W) per sample of f (N, C, H, W). */
export function dispatchGram(rt: Runtime, f: Tensor, g: Tensor): void {
  const blocks = Math.ceil(f.c / TILE);
  run(rt, 'gram', f, { f, g }, f, false, blocks4(f.c) ** 2, [blocks, blocks, f.n], [g]);
}

/** df (like f) = (dG + dG^T) F / (H*W), or += with accumulate. */
export function dispatchGramBackward(rt: Runtime, f: Tensor, dg: Tensor, df: Tensor, accumulate: boolean): void {
  const hw = f.h * f.w;
  run(rt, 'backward', f, { f, dg, df }, df, accumulate, blocks4(f.c) * blocks4(hw), [Math.ceil(hw / TILE), Math.ceil(f.c / TILE), f.n], [dg, df]);
}
