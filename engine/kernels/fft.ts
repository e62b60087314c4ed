// The Fourier image parameterization's kernels: the 2-D inverse real DFT and its adjoint
// (shaders/fft.wgsl), and the colour decorrelation with the sigmoid (shaders/to_rgb.wgsl).
// Pipelines and dispatch arithmetic; shapes are checked by engine/ops/fft.ts.

import fftCode from '../../shaders/fft.wgsl?raw';
import rgbCode from '../../shaders/to_rgb.wgsl?raw';
import type { Resources, Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 64;

export const fftKernel = defineKernel({ name: 'fft', code: fftCode, entryPoints: ['cols_inverse', 'rows_c2r', 'rows_adjoint', 'cols_adjoint'] });
export const toRgbKernel = defineKernel({ name: 'to_rgb', code: rgbCode, entryPoints: ['forward', 'backward'] });

export type FftPass = 'cols_inverse' | 'rows_c2r' | 'rows_adjoint' | 'cols_adjoint';

export interface FftUniforms {
  height: number;
  width: number;
  /** floor(W / 2) + 1. */
  k: number;
  /** null: no spectral scale. */
  decayPower: number | null;
  outScale: number;
}

/** One axis pass src -> dst; tw the (1, 1, 1, 2H + 2W) twiddle table; c the planes per sample. */
export function dispatchFftPass(rt: Runtime, pass: FftPass, u: FftUniforms, tw: Tensor, src: Tensor, dst: Tensor, c: number): void {
  const params = {
    height: u.height, width: u.width, k: u.k, channels: c, use_scale: u.decayPower === null ? 0 : 1,
    decay_power: u.decayPower ?? 0, out_scale: u.outScale, ...src.layout('src'), ...dst.layout('dst'),
  };
  const toImage = pass === 'rows_c2r';
  const outputs = c * u.height * (toImage ? u.width : u.k);
  const axis = pass === 'cols_inverse' || pass === 'cols_adjoint' ? u.height : toImage ? u.k : u.width;
  const n = src.n;
  rt.dispatch(rt.program({ ...fftKernel, entryPoint: pass, constants: { WG } }), { params, tw, src, dst }, sampleGrid(outputs, n, WG), cost(8 * n * outputs * axis, [src, dst]));
}

export type Rows = [number[], number[], number[]];

/** dst = sigmoid(rows * src + offset) (forward) or rows * (dy * y(1 - y)) with src = y (backward). */
export function dispatchToRgb(rt: Runtime, backward: boolean, rows: Rows, offset: number[], sigmoid: boolean, src: Tensor, dy: Tensor | null, dst: Tensor): void {
  const pad = (r: number[]) => [r[0], r[1], r[2], 0];
  const params = {
    hw: dst.h * dst.w, sigmoid: sigmoid ? 1 : 0, ...src.layout('src'), ...(dy ?? src).layout('dy'), ...dst.layout('dst'),
    row0: pad(rows[0]), row1: pad(rows[1]), row2: pad(rows[2]), offset: pad(offset),
  };
  const resources: Resources = { params, src, dst };
  if (dy) resources.dy = dy;
  rt.dispatch(rt.program({ ...toRgbKernel, entryPoint: backward ? 'backward' : 'forward', constants: { WG } }), resources, sampleGrid(dst.h * dst.w, dst.n, WG), cost(30 * dst.size / 3, [src, dy, dst]));
}
