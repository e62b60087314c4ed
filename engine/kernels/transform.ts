// Transform kernels (see shaders/transform.wgsl): bilinear affine resampling with constant or
// reflect padding, its gathered backward, and the integer roll. Shapes and parameters are checked
// by engine/ops/transform.ts.

import code from '../../shaders/transform.wgsl?raw';
import type { Resources, Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 64;

export const transformKernel = defineKernel({ name: 'transform', code, entryPoints: ['affine_forward', 'affine_backward', 'roll'] });

export const PAD_MODES = { constant: 0, reflect: 1 } as const;
export type PadMode = keyof typeof PAD_MODES;

interface Geometry {
  /** x's plane (the forward's input, the backward's output). */
  inH: number;
  inW: number;
  outH: number;
  outW: number;
}

function run(rt: Runtime, entryPoint: string, g: Geometry, src: Tensor, dst: Tensor, m: Tensor | null, extra: { pad: PadMode; padValue: number; shift: [number, number] }, flopsPer: number): void {
  const params = {
    in_h: g.inH, in_w: g.inW, out_h: g.outH, out_w: g.outW, channels: dst.c,
    pad_mode: PAD_MODES[extra.pad], pad_value: extra.padValue, shift_y: extra.shift[0], shift_x: extra.shift[1],
    ...src.layout('src'), ...dst.layout('dst'), ...(m ?? src).layout('m'),
  };
  const resources: Resources = { params, src, dst };
  if (m) resources.m = m;
  rt.dispatch(rt.program({ ...transformKernel, entryPoint, constants: { WG } }), resources, sampleGrid(dst.sampleSize, dst.n, WG), cost(flopsPer * dst.size, [src, dst]));
}

/** y (N, C, outH, outW) = bilinear sample of x at M_n (ox, oy, 1); m (N, 1, 1, 6). */
export function dispatchAffine(rt: Runtime, x: Tensor, m: Tensor, y: Tensor, pad: PadMode, padValue: number): void {
  run(rt, 'affine_forward', { inH: x.h, inW: x.w, outH: y.h, outW: y.w }, x, y, m, { pad, padValue, shift: [0, 0] }, 12);
}

/** dx (N, C, inH, inW) from dy (N, C, outH, outW), gathered. */
export function dispatchAffineBackward(rt: Runtime, dy: Tensor, m: Tensor, dx: Tensor, pad: PadMode): void {
  run(rt, 'affine_backward', { inH: dx.h, inW: dx.w, outH: dy.h, outW: dy.w }, dy, dx, m, { pad, padValue: 0, shift: [0, 0] }, 80);
}

/** y = x rolled by (shiftY, shiftX) with wrap-around, same shape. */
export function dispatchRoll(rt: Runtime, x: Tensor, y: Tensor, shiftY: number, shiftX: number): void {
  run(rt, 'roll', { inH: x.h, inW: x.w, outH: x.h, outW: x.w }, x, y, null, { pad: 'constant', padValue: 0, shift: [shiftY, shiftX] }, 1);
}
