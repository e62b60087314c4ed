// Deterministic reduction kernels: per sample, over channels, over samples, and exact k-th
// smallest (radix select). Shapes are checked by engine/ops/reduce.ts.

import code from '../../shaders/reduce.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { defineKernel, sampleGrid } from './kernel';

/** A power of two (the workgroup tree halves it). */
const WG = 256;

export const reduceKernel = defineKernel({ name: 'reduce', code, entryPoints: ['per_sample', 'over_channels', 'over_samples', 'select_kth'] });

/** Term and join of each reduction (see shaders/reduce.wgsl). */
export const REDUCE_OPS = { sum: 0, sumAbs: 1, sumSquares: 2, min: 3, max: 4, maxAbs: 5 } as const;
export type ReduceOp = keyof typeof REDUCE_OPS;
/** 0 as is, 1 divided by the count (means), 2 sqrt (L2 norm). */
export type Post = 0 | 1 | 2;

export type ReduceAxis = 'per_sample' | 'over_channels' | 'over_samples';

/** out = post(join over `axis` of term(x)). out is (N,1,1,1), (N,1,H,W) or (1,C,H,W) by axis. */
export function dispatchReduce(rt: Runtime, axis: ReduceAxis, op: ReduceOp, post: Post, x: Tensor, out: Tensor): void {
  const count = axis === 'per_sample' ? x.sampleSize : axis === 'over_channels' ? x.c : x.n;
  run(rt, axis, op, post, count, 0, x, out);
}

/**
 * out[n] = the k-th smallest (0-based) of sample n's values, or of their magnitudes (`abs`):
 * exact, by radix select. out (N, 1, 1, 1).
 */
export function dispatchSelectKth(rt: Runtime, x: Tensor, k: number, abs: boolean, out: Tensor): void {
  run(rt, 'select_kth', abs ? 'maxAbs' : 'max', 0, 1, k, x, out);
}

function run(rt: Runtime, entryPoint: string, op: ReduceOp, post: Post, count: number, k: number, x: Tensor, out: Tensor): void {
  const params = {
    per_sample: x.sampleSize, hw: x.h * x.w, c: x.c, n: x.n,
    op: REDUCE_OPS[op], post, count, k, ...x.layout('x'), ...out.layout('out'),
  };
  const grid = entryPoint === 'over_channels' ? sampleGrid(x.h * x.w, x.n, WG)
    : entryPoint === 'over_samples' ? sampleGrid(x.sampleSize, 1, WG)
      : [1, 1, x.n];
  const passes = entryPoint === 'select_kth' ? 4 : 1;
  rt.dispatch(rt.program({ ...reduceKernel, entryPoint, constants: { WG } }), { params, x, out }, grid, {
    flops: 2 * passes * x.size,
    bytes: 4 * (passes * x.size + out.size),
  });
}
