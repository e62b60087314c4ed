// Elementwise kernels (scale, clamp, fill, axpy, mul): pipelines, coefficient uniforms and
// dispatch arithmetic. Shapes and parameters are checked by engine/ops/elementwise.ts.

import code from '../../shaders/elementwise.wgsl?raw';
import { Usage } from '../buffer_pool';
import type { Resources, Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const elementwiseKernel = defineKernel({
  name: 'elementwise',
  code,
  entryPoints: ['unary_out', 'unary_inplace', 'binary_out', 'binary_inplace'],
});

/**
 * A coefficient that lives on the GPU: element `index` of `tensor` (dense NCHW order), or with
 * `perSample` element `index` of each sample n (tensor (N, ...), one value per sample). The value
 * used is `scale * v`, or `scale / (v + eps)` with `reciprocal` (e.g. lr / mean|g|).
 */
export interface GpuScalar {
  tensor: Tensor;
  index?: number;
  perSample?: boolean;
  scale?: number;
  reciprocal?: boolean;
  eps?: number;
}
export type Scalar = number | GpuScalar;

export const UNARY_OPS = { scale: 0, clamp: 1, fill: 2 } as const;
export const BINARY_OPS = { axpy: 0, mul: 1 } as const;
export type Vec4 = [number, number, number, number];

/** The uniforms for coefficient `p` ('a' or 'b') and the tensor to bind as its scalar source. */
function coefficient(p: 'a' | 'b', s: Scalar): { values: Record<string, number>; source: Tensor | null } {
  if (typeof s === 'number') return { values: { [`${p}_value`]: s, [`${p}_src`]: 0, [`${p}_at`]: 0, [`${p}_step`]: 0, [`${p}_eps`]: 0 }, source: null };
  const t = s.tensor;
  const index = s.index ?? 0;
  const layout = t.layout('s');
  const per = t.sampleSize;
  const at = s.perSample ? layout.s_base + index : layout.s_base + Math.floor(index / per) * t.batchStride + (index % per);
  const values = {
    [`${p}_value`]: s.scale ?? 1,
    [`${p}_src`]: s.reciprocal ? 2 : 1,
    [`${p}_at`]: at,
    [`${p}_step`]: s.perSample ? t.batchStride : 0,
    [`${p}_eps`]: s.eps ?? 0,
  };
  return { values, source: t };
}

interface Operands {
  op: number;
  x: Tensor | null;
  y: Tensor | null;
  out: Tensor;
  a: Scalar;
  b: Scalar;
  lo?: Vec4;
  hi?: Vec4;
}

function run(rt: Runtime, entryPoint: string, o: Operands): void {
  const ca = coefficient('a', o.a);
  const cb = coefficient('b', o.b);
  const lay = (t: Tensor | null, p: string) => (t ? t.layout(p) : { [`${p}_base`]: 0, [`${p}_stride`]: 0 });
  const params = {
    per_sample: o.out.sampleSize, hw: o.out.h * o.out.w, op: o.op,
    ...lay(o.x, 'x'), ...lay(o.y, 'y'), ...o.out.layout('out'),
    ...ca.values, ...cb.values, lo: o.lo ?? [0, 0, 0, 0], hi: o.hi ?? [0, 0, 0, 0],
  };
  // An unused scalar binding still needs a buffer: a small pooled one (never written, never read).
  const dummy = ca.source && cb.source ? null : rt.pool.acquire(16, Usage.STORAGE, 'elementwise: no scalar tensor');
  const resources: Resources = { params, out: o.out, sa: ca.source ?? dummy!, sb: cb.source ?? dummy! };
  if (o.x) resources.x = o.x;
  if (o.y) resources.y = o.y;
  try {
    rt.dispatch(rt.program({ ...elementwiseKernel, entryPoint, constants: { WG } }), resources, sampleGrid(o.out.sampleSize, o.out.n, WG), {
      flops: 2 * o.out.size,
      bytes: 4 * o.out.size * (1 + (o.x ? 1 : 0) + (o.y ? 1 : 0)),
    });
  } finally {
    if (dummy) rt.pool.release(dummy);
  }
}

/** out = f(x) for op scale (a * x), clamp (per-channel lo/hi, c <= 3) or fill (a); x null: in place on out. */
export function dispatchUnary(rt: Runtime, op: keyof typeof UNARY_OPS, x: Tensor | null, out: Tensor, a: Scalar, lo?: Vec4, hi?: Vec4): void {
  run(rt, x ? 'unary_out' : 'unary_inplace', { op: UNARY_OPS[op], x, y: null, out, a, b: 0, lo, hi });
}

/** out = a*x + b*y (axpy) or a*x*y (mul); y null: out is the y operand, updated in place. */
export function dispatchBinary(rt: Runtime, op: keyof typeof BINARY_OPS, x: Tensor, y: Tensor | null, out: Tensor, a: Scalar, b: Scalar): void {
  run(rt, y ? 'binary_out' : 'binary_inplace', { op: BINARY_OPS[op], x, y, out, a, b });
}
