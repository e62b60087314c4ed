// Batched-input kernels (broadcast with noise, occlusion windows, deletion/insertion blends):
// each writes all n samples in one dispatch, its per-sample parameters uploaded once in one
// small storage buffer. Parameters are checked by engine/ops/batch_input.ts.

import code from '../../shaders/batch_input.wgsl?raw';
import { Usage } from '../buffer_pool';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const batchInputKernel = defineKernel({ name: 'batch_input', code, entryPoints: ['broadcast', 'occlude', 'mask_blend'] });

export interface Window {
  /** Top row and left column (may be negative: the window is clipped at the border). */
  y: number;
  x: number;
  size: number;
}

interface Inputs {
  x: Tensor;
  base?: Tensor;
  rank?: Tensor;
  out: Tensor;
  table: ArrayBuffer;
  seed?: number;
  mode?: number;
  rankU32?: boolean;
}

function run(rt: Runtime, entryPoint: string, o: Inputs): void {
  // queue.writeBuffer runs before the commands still being recorded: submit them first, and park
  // the buffer until this dispatch is submitted.
  rt.flush();
  const table = rt.pool.acquire(o.table.byteLength, Usage.STORAGE | Usage.COPY_DST, `${entryPoint} table`);
  rt.device.queue.writeBuffer(table, 0, o.table);
  const x = o.x;
  const params = {
    per_sample: x.sampleSize, hw: x.h * x.w, width: x.w, c: x.c, seed: o.seed ?? 0, mode: o.mode ?? 0, rank_u32: o.rankU32 ? 1 : 0,
    x_base: x.layout('x').x_base, base_base: o.base?.layout('base').base_base ?? 0, rank_base: o.rank?.layout('rank').rank_base ?? 0,
    ...o.out.layout('out'),
  };
  try {
    rt.dispatch(rt.program({ ...batchInputKernel, entryPoint, constants: { WG } }), { params, x, base: o.base ?? x, rank: o.rank ?? x, table, out: o.out }, sampleGrid(x.sampleSize, o.out.n, WG), {
      flops: 4 * o.out.size,
      bytes: 4 * (o.out.size + 2 * x.size),
    });
  } finally {
    rt.pool.releaseAfterSubmit(table);
  }
}

/** out[k] = scaleX[k] * x + scaleBase[k] * base + sigma[k] * gauss(seed, k, i); x, base (1, C, H, W). */
export function dispatchBroadcast(rt: Runtime, x: Tensor, base: Tensor | undefined, scaleX: ArrayLike<number>, scaleBase: ArrayLike<number>, sigma: ArrayLike<number>, seed: number, out: Tensor): void {
  const table = new Float32Array(3 * out.n);
  for (let k = 0; k < out.n; k++) table.set([scaleX[k], scaleBase[k], sigma[k]], 3 * k);
  run(rt, 'broadcast', { x, base, out, table: table.buffer, seed });
}

/** out[k] = x with window k set to fill[c] per channel. */
export function dispatchOcclude(rt: Runtime, x: Tensor, windows: readonly Window[], fill: readonly number[], out: Tensor): void {
  const words = new ArrayBuffer(4 * (x.c + 3 * windows.length));
  new Float32Array(words, 0, x.c).set(fill);
  const w = new Int32Array(words, 4 * x.c);
  windows.forEach((win, k) => w.set([win.y, win.x, win.size], 3 * k));
  run(rt, 'occlude', { x, out, table: words });
}

/** Deletion (insertion = false): out[k] = rank < t[k] ? base : x; insertion the reverse. rank (1, 1, H, W). */
export function dispatchMaskBlend(rt: Runtime, x: Tensor, base: Tensor, rank: Tensor, rankU32: boolean, thresholds: ArrayLike<number>, insertion: boolean, out: Tensor): void {
  run(rt, 'mask_blend', { x, base, rank, rankU32, out, table: Float32Array.from(thresholds).buffer, mode: insertion ? 1 : 0 });
}
