// Transformation robustness (Lucid's transforms): bilinear affine resampling of (N, C, H, W) images
// by one 2 x 3 matrix per sample (output pixel -> input pixel, built on the CPU with gl-matrix),
// reflect or constant padding, any output size, with a gathered (scatter-free, deterministic)
// backward; and integer jitter as a wrap-around roll.

import { mat2d } from 'gl-matrix';
import { dispatchAffine, dispatchAffineBackward, dispatchRoll, PAD_MODES, type PadMode } from '../kernels/transform';
import type { Runtime } from '../runtime';
import { Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { expectPositiveInt, expectShape, opError, outputFor } from './check';

export type { PadMode };
export type Affine = [number, number, number, number, number, number];

export interface AffineParams {
  /** Zoom factor (> 1 enlarges the content); default 1. */
  scale?: number;
  /** Radians; positive turns the content clockwise on screen (y points down). Default 0. */
  rotate?: number;
  /** Content shift in output pixels, [x, y]; default [0, 0]. */
  translate?: [number, number];
}

/**
 * The row-major 2 x 3 matrix mapping output pixel (ox, oy) to the input pixel sampled: content
 * scaled and rotated about the image centres, then shifted. inH x inW -> outH x outW.
 */
export function affineMatrix(p: AffineParams, inH: number, inW: number, outH = inH, outW = inW): Affine {
  const { scale = 1, rotate = 0, translate = [0, 0] } = p;
  if (!(scale > 0 && Number.isFinite(scale))) throw opError('affineMatrix', `scale must be a positive number, got ${scale}`);
  if (!Number.isFinite(rotate) || !translate.every(Number.isFinite)) throw opError('affineMatrix', `rotate and translate must be finite, got ${rotate}, [${translate.join(', ')}]`);
  const m = mat2d.create();
  mat2d.translate(m, m, [(inW - 1) / 2, (inH - 1) / 2]);
  mat2d.rotate(m, m, -rotate);
  mat2d.scale(m, m, [1 / scale, 1 / scale]);
  mat2d.translate(m, m, [-(outW - 1) / 2 - translate[0], -(outH - 1) / 2 - translate[1]]);
  return [m[0], m[2], m[4], m[1], m[3], m[5]];
}

/** Write one matrix per sample into m (N, 1, 1, 6), or into a new tensor; checks invertibility. */
export function affineMatrices(rt: Runtime, mats: readonly (readonly number[])[], out?: Tensor): Tensor {
  mats.forEach((a, i) => {
    if (a.length !== 6 || !a.every(Number.isFinite)) throw opError('affineMatrices', `matrix ${i} must be 6 finite numbers (row-major 2 x 3), got [${a.join(', ')}]`);
    if (Math.abs(a[0] * a[4] - a[1] * a[3]) < 1e-8) throw opError('affineMatrices', `matrix ${i} [${a.join(', ')}] is singular`);
  });
  const m = out ?? Tensor.empty(rt, [mats.length, 1, 1, 6], 'affine matrices');
  expectShape('affineMatrices', 'out', m, [mats.length, 1, 1, 6]);
  m.write(Float32Array.from(mats.flat()));
  return m;
}

export interface AffineOptions {
  pad?: PadMode;
  /** The value read outside the image with pad 'constant'; default 0. */
  padValue?: number;
  /** Output size; default the input's. */
  height?: number;
  width?: number;
}

function checkCommon(op: string, t: Tensor, m: Tensor, pad: PadMode, out?: Tensor): void {
  if (!Object.hasOwn(PAD_MODES, pad)) throw opError(op, `unknown pad mode '${pad}' (${Object.keys(PAD_MODES).join(', ')})`);
  expectShape(op, 'matrices', m, [t.n, 1, 1, 6]);
  expectSeparate(op, out, [t, m]);
}

/** y = x resampled at M_n (ox, oy, 1) for every output pixel; x (N, C, H, W), m (N, 1, 1, 6). */
export function affine(x: Tensor, m: Tensor, o: AffineOptions = {}, out?: Tensor): Tensor {
  const { pad = 'reflect', padValue = 0, height = x.h, width = x.w } = o;
  checkCommon('affine', x, m, pad, out);
  expectPositiveInt('affine', 'height', height);
  expectPositiveInt('affine', 'width', width);
  if (!Number.isFinite(padValue)) throw opError('affine', `padValue must be finite, got ${padValue}`);
  const y = outputFor('affine', x, [x.n, x.c, height, width], out, 'affine.y');
  dispatchAffine(x.rt, x, m, y, pad, padValue);
  return y;
}

/** dL/dx (N, C, height, width: the forward input's size) from dL/dy. */
export function affineBackward(dy: Tensor, m: Tensor, o: { pad?: PadMode; height: number; width: number }, out?: Tensor): Tensor {
  const pad = o.pad ?? 'reflect';
  checkCommon('affineBackward', dy, m, pad, out);
  expectPositiveInt('affineBackward', 'height', o.height);
  expectPositiveInt('affineBackward', 'width', o.width);
  const dx = outputFor('affineBackward', dy, [dy.n, dy.c, o.height, o.width], out, 'affine.dx');
  dispatchAffineBackward(dy.rt, dy, m, dx, pad);
  return dx;
}

/** y[h, w] = x[(h - dy) mod H, (w - dx) mod W]: integer jitter; its backward is roll(g, -dy, -dx). */
export function roll(x: Tensor, dy: number, dx: number, out?: Tensor): Tensor {
  if (!Number.isInteger(dy) || !Number.isInteger(dx)) throw opError('roll', `shifts must be integers, got (${dy}, ${dx})`);
  expectSeparate('roll', out, [x]);
  const y = outputFor('roll', x, x.shape, out, 'roll.y');
  dispatchRoll(x.rt, x, y, dy % x.h, dx % x.w);
  return y;
}
