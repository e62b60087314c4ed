// The t-SNE gradient-step kernels (see shaders/tsne.wgsl): per-point row sums of the Student-t
// kernel, the fused gradient + gains + momentum step, and the re-centring. The Q normalisation Z
// and the mean are the reduce family's reductions (engine/ops/tsne.ts strings them together).

import code from '../../shaders/tsne.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 64;

export const tsneKernel = defineKernel({ name: 'tsne', code, entryPoints: ['row_sums', 'step', 'center'] });

export interface TsneStepParams {
  exaggeration: number;
  momentum: number;
  eta: number;
  minGain: number;
}

function params(n: number, s?: TsneStepParams) {
  return { n, exaggeration: s?.exaggeration ?? 1, momentum: s?.momentum ?? 0, eta: s?.eta ?? 0, min_gain: s?.minGain ?? 0 };
}

function program(rt: Runtime, entryPoint: string) {
  return rt.program({ ...tsneKernel, entryPoint, constants: { WG } });
}

/** rows (1, N, 1, 1)[i] = sum_{j != i} 1 / (1 + |y_i - y_j|^2), y (N, 2, 1, 1). */
export function dispatchTsneRowSums(rt: Runtime, y: Tensor, rows: Tensor): void {
  const n = y.n;
  rt.dispatch(program(rt, 'row_sums'), { params: params(n), y, rows }, sampleGrid(n, 1, WG, rt.maxGroups), cost(8 * n * n, [y.size * n, rows]));
}

/** The gradient with Z (1, 1, 1, 1) and the gains / momentum update of iy and gains, writing y_next = y + iy. */
export function dispatchTsneStep(rt: Runtime, y: Tensor, p: Tensor, z: Tensor, gains: Tensor, iy: Tensor, yNext: Tensor, s: TsneStepParams): void {
  const n = y.n;
  rt.dispatch(program(rt, 'step'), { params: params(n, s), y, p, z, gains, iy, y_next: yNext }, sampleGrid(n, 1, WG, rt.maxGroups), cost(14 * n * n, [y.size * n, p, gains, iy, yNext]));
}

/** y = yNext - mean (1, 2, 1, 1). */
export function dispatchTsneCenter(rt: Runtime, yNext: Tensor, mean: Tensor, y: Tensor): void {
  rt.dispatch(program(rt, 'center'), { params: params(y.n), y, y_next: yNext, mean }, sampleGrid(y.n, 1, WG, rt.maxGroups), cost(2 * y.n, [yNext, y]));
}
