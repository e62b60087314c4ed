// Pooling kernels (max, strided average, adaptive/global average): pipelines and dispatch
// arithmetic. Shapes and parameters are checked by engine/ops/pool.ts.

import avgBackwardCode from '../../shaders/avgpool_backward.wgsl?raw';
import avgForwardCode from '../../shaders/avgpool.wgsl?raw';
import maxBackwardCode from '../../shaders/maxpool_backward.wgsl?raw';
import maxForwardCode from '../../shaders/maxpool.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const maxPoolKernel = defineKernel({ name: 'maxpool', code: maxForwardCode });
export const maxPoolBackwardKernel = defineKernel({ name: 'maxpool_backward', code: maxBackwardCode });
export const avgPoolKernel = defineKernel({ name: 'avgpool', code: avgForwardCode });
export const avgPoolBackwardKernel = defineKernel({ name: 'avgpool_backward', code: avgBackwardCode });

/** Strided pooling windows: kernel, stride and (top, bottom, left, right) padding. */
export interface PoolWindows {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  pad: readonly [number, number, number, number];
}

function planes(input: Tensor, output: Tensor) {
  return { h: input.h, w: input.w, oh: output.h, ow: output.w };
}

/** Windows that cover one input element (at most), for the backward's cost estimate. */
function windowsPer(g: PoolWindows): number {
  return Math.ceil(g.kernel[0] / g.stride[0]) * Math.ceil(g.kernel[1] / g.stride[1]);
}

function strided(g: PoolWindows) {
  return { kh: g.kernel[0], kw: g.kernel[1], sh: g.stride[0], sw: g.stride[1], pad_t: g.pad[0], pad_l: g.pad[2] };
}

/** y, argmax = maxpool(x); argmax holds u32 indices ih * W + iw. */
export function dispatchMaxPool(rt: Runtime, x: Tensor, y: Tensor, argmax: Tensor, g: PoolWindows): void {
  const program = rt.program({ ...maxPoolKernel, constants: { WG } });
  const params = [{ per_sample: y.sampleSize }, planes(x, y), strided(g), x.layout('x'), y.layout('y'), argmax.layout('argmax')];
  rt.dispatch(program, { params, x, y, argmax }, sampleGrid(y.sampleSize, y.n, WG, rt.maxGroups), cost(y.size * g.kernel[0] * g.kernel[1], [x, y, argmax]));
}

export function dispatchMaxPoolBackward(rt: Runtime, dy: Tensor, argmax: Tensor, dx: Tensor, g: PoolWindows): void {
  const program = rt.program({ ...maxPoolBackwardKernel, constants: { WG } });
  const params = [{ per_sample: dx.sampleSize }, planes(dx, dy), strided(g), dy.layout('dy'), argmax.layout('argmax'), dx.layout('dx')];
  rt.dispatch(program, { params, dy, argmax, dx }, sampleGrid(dx.sampleSize, dx.n, WG, rt.maxGroups), cost(dx.size * windowsPer(g), [dy, argmax, dx]));
}

/** Average-pool windows: strided (with the divisor rule) or PyTorch adaptive (null). */
export type AvgWindows = (PoolWindows & { countIncludePad: boolean }) | null;

function avgParams(g: AvgWindows) {
  if (g === null) return { kh: 0, kw: 0, sh: 0, sw: 0, pad_t: 0, pad_b: 0, pad_l: 0, pad_r: 0, adaptive: 1, count_pad: 0 };
  return { ...strided(g), pad_b: g.pad[1], pad_r: g.pad[3], adaptive: 0, count_pad: g.countIncludePad ? 1 : 0 };
}

export function dispatchAvgPool(rt: Runtime, x: Tensor, y: Tensor, g: AvgWindows): void {
  const program = rt.program({ ...avgPoolKernel, constants: { WG } });
  const params = [{ per_sample: y.sampleSize }, planes(x, y), avgParams(g), x.layout('x'), y.layout('y')];
  rt.dispatch(program, { params, x, y }, sampleGrid(y.sampleSize, y.n, WG, rt.maxGroups), cost(g ? y.size * g.kernel[0] * g.kernel[1] : x.size, [x, y]));
}

export function dispatchAvgPoolBackward(rt: Runtime, dy: Tensor, dx: Tensor, g: AvgWindows): void {
  const program = rt.program({ ...avgPoolBackwardKernel, constants: { WG } });
  const params = [{ per_sample: dx.sampleSize }, planes(dx, dy), avgParams(g), dy.layout('dy'), dx.layout('dx')];
  rt.dispatch(program, { params, dy, dx }, sampleGrid(dx.sampleSize, dx.n, WG, rt.maxGroups), cost(g ? dx.size * windowsPer(g) : dx.size, [dy, dx]));
}
