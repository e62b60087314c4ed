// Fully connected kernels: pipelines, variant choice and dispatch arithmetic. Shapes are checked
// by engine/ops/linear.ts. x is read as (N, In) with In = C*H*W; weights (Out, In) row-major.

import registerCode from '../../shaders/linear.wgsl?raw';
import tiledCode from '../../shaders/linear_tiled.wgsl?raw';
import backwardInputCode from '../../shaders/linear_backward_input.wgsl?raw';
import backwardWeightsCode from '../../shaders/linear_backward_weights.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { defineKernel } from './kernel';

/** 'register': register-tiled GEMV/GEMM, no workgroup memory (CPU adapters); 'tiled': workgroup-memory tiles (GPUs). */
export const LINEAR_VARIANTS = ['register', 'tiled'] as const;
export type LinearVariant = (typeof LINEAR_VARIANTS)[number];

export const linearRegisterKernel = defineKernel({ name: 'linear', code: registerCode, entryPoints: ['forward'], variants: LINEAR_VARIANTS });
export const linearTiledKernel = defineKernel({ name: 'linear_tiled', code: tiledCode, entryPoints: ['forward'], variants: LINEAR_VARIANTS });
export const linearBackwardInputKernel = defineKernel({ name: 'linear_backward_input', code: backwardInputCode });
export const linearBackwardWeightsKernel = defineKernel({ name: 'linear_backward_weights', code: backwardWeightsCode, entryPoints: ['weights', 'bias'] });

/** Samples per invocation of the register-tiled kernels (each weight load feeds this many FMAs). */
const samplesPerInvocation = (n: number): number => Math.min(4, n);
/** Samples per workgroup of the tiled kernel: 1, 4 or 16. */
const tiledSamples = (n: number): number => (n >= 16 ? 16 : n > 1 ? 4 : 1);

export function linearVariant(rt: Runtime): LinearVariant {
  const v = rt.variant<LinearVariant>('linear', { cpu: 'register', gpu: 'tiled' });
  if (!LINEAR_VARIANTS.includes(v)) throw new Error(`linear: unknown variant '${v}' (${LINEAR_VARIANTS.join(', ')})`);
  return v;
}

/** y = act(x W^T + b); `b` null means no bias. */
export function dispatchLinear(rt: Runtime, x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, relu: boolean): void {
  const n = x.n;
  const inF = x.sampleSize;
  const outF = w.n;
  const params = {
    n, in_features: inF, out_features: outF, relu: relu ? 1 : 0, has_bias: b ? 1 : 0,
    ...x.layout('x'), w_base: w.base, b_base: b ? b.base : 0, ...y.layout('y'),
  };
  const resources = { params, x: x.buffer, w: w.buffer, b: (b ?? w).buffer, y: y.buffer };
  if (linearVariant(rt) === 'tiled') {
    const BS = tiledSamples(n);
    rt.dispatch(rt.program({ ...linearTiledKernel, constants: { BS } }), resources, [Math.ceil(outF / 64), Math.ceil(n / BS)]);
  } else {
    const TN = samplesPerInvocation(n);
    rt.dispatch(rt.program({ ...linearRegisterKernel, constants: { TN } }), resources, [Math.ceil(outF / 4 / 64), Math.ceil(n / TN)]);
  }
}

/** dx = dy W, written into dx (any (N, C, H, W) with C*H*W = In). */
export function dispatchLinearBackwardInput(rt: Runtime, dy: Tensor, w: Tensor, dx: Tensor): void {
  const n = dy.n;
  const TN = samplesPerInvocation(n);
  const params = { n, in_features: w.c, out_features: w.n, ...dy.layout('dy'), w_base: w.base, ...dx.layout('dx') };
  rt.dispatch(rt.program({ ...linearBackwardInputKernel, constants: { TN } }), { params, dy: dy.buffer, w: w.buffer, dx: dx.buffer }, [
    Math.ceil(w.c / 4 / 64),
    Math.ceil(n / TN),
  ]);
}

/** dw = dy^T x into dense dw (Out, In, 1, 1); db = sum_n dy into dense db (1, Out, 1, 1) when given. */
export function dispatchLinearBackwardWeights(rt: Runtime, x: Tensor, dy: Tensor, dw: Tensor, db: Tensor | null): void {
  const inF = x.sampleSize;
  const outF = dy.c;
  const params = { n: x.n, in_features: inF, out_features: outF, ...x.layout('x'), ...dy.layout('dy') };
  const weights = rt.program({ ...linearBackwardWeightsKernel, entryPoint: 'weights' });
  rt.dispatch(weights, { params, x: x.buffer, dy: dy.buffer, dw: dw.buffer }, [Math.ceil(inF / 4 / 64), Math.ceil(outF / 4)]);
  if (db) rt.dispatch(rt.program({ ...linearBackwardWeightsKernel, entryPoint: 'bias' }), { params, dy: dy.buffer, db: db.buffer }, [Math.ceil(outF / 64)]);
}
