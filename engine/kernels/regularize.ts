// The fused class-visualization regularizer's passes (see shaders/regularize.wgsl): pipeline,
// uniforms and dispatch arithmetic. The op (engine/ops/regularize.ts) sequences them with the
// shared horizontal blur pass and the percentile selections, and checks parameters.

import code from '../../shaders/regularize.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import type { Vec4 } from './elementwise';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 64;

export const regularizeKernel = defineKernel({ name: 'regularize', code, entryPoints: ['cols_norm', 'contribution', 'apply'] });

export type RegularizePass = 'cols_norm' | 'contribution' | 'apply';

export interface RegularizeUniforms {
  radius: number;
  sigma: number;
  /** 1 - decay. */
  scale: number;
  fromTmp: boolean;
  useNorm: boolean;
  useContrib: boolean;
  lo: Vec4 | null;
  hi: Vec4 | null;
}

/** One pass over every pixel of x (N, C, H, W); tmp (like x), stats (N, 2, H, W) dense, thr (N, 2, 1, 1). */
export function dispatchRegularizePass(rt: Runtime, pass: RegularizePass, u: RegularizeUniforms, x: Tensor, g: Tensor, tmp: Tensor, stats: Tensor, thr: Tensor): void {
  const params = {
    hw: x.h * x.w, width: x.w, height: x.h, channels: x.c,
    radius: u.radius, inv_two_sigma2: u.sigma > 0 ? 1 / (2 * u.sigma * u.sigma) : 0, scale: u.scale,
    from_tmp: u.fromTmp ? 1 : 0, use_norm: u.useNorm ? 1 : 0, use_contrib: u.useContrib ? 1 : 0, use_range: u.lo ? 1 : 0,
    fold: u.useNorm ? 0 : u.useContrib ? 1 : 2,
    ...x.layout('x'), ...tmp.layout('tmp'), ...g.layout('g'), ...thr.layout('thr'),
    lo: u.lo ?? [0, 0, 0, 0], hi: u.hi ?? [0, 0, 0, 0],
  };
  const px = x.n * x.h * x.w;
  const c = pass === 'cols_norm' ? cost(px * x.c * (2 * u.radius + 1) * 4, [x, x, px])
    : pass === 'contribution' ? cost(2 * x.size, [x, g, 2 * px]) : cost(2 * x.size, [x, x, 2 * px]);
  rt.dispatch(rt.program({ ...regularizeKernel, entryPoint: pass, constants: { WG } }), { params, tmp, x, stats, g, thr }, sampleGrid(x.h * x.w, x.n, WG), c);
}
