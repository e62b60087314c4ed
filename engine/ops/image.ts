// Image ops: RGBA8 pixels <-> normalized NCHW tensors (preprocess / deprocess), on the GPU, and a
// separable Gaussian blur of every plane (feature-visualization regularizer).

import { dispatchBlurPass, dispatchImageToTensor, dispatchTensorToImage, type Crop } from '../kernels/image';
import type { Runtime } from '../runtime';
import { shapeStr, Tensor } from '../tensor';
import { expectNonNegInt, expectPositiveInt, expectShape, opError, outputFor } from './check';

export interface PreprocessParams {
  outHeight: number;
  outWidth: number;
  /** (x, y, w, h) in source pixels; default the whole image. */
  crop?: [number, number, number, number];
  channelOrder: 'rgb' | 'bgr';
  /** value = (pixel * scale - mean[c]) / std[c], c in the output channel order. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface DeprocessParams {
  channelOrder: 'rgb' | 'bgr';
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  sample?: number;
}

/** RGBA8 (row-major, 4 bytes per pixel) -> (1, 3, outH, outW), or sample `sample` of `out`. */
export function imageToTensor(rt: Runtime, rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, p: PreprocessParams, out?: Tensor, sample = 0): Tensor {
  const op = 'imageToTensor';
  expectPositiveInt(op, 'width', width);
  expectPositiveInt(op, 'height', height);
  if (rgba.length !== width * height * 4) throw opError(op, `rgba has ${rgba.length} bytes, expected width * height * 4 = ${width * height * 4} for ${width}x${height}`);
  if (!(p.outHeight >= 1 && p.outWidth >= 1 && Number.isInteger(p.outHeight) && Number.isInteger(p.outWidth))) {
    throw opError(op, `output size must be positive integers, got ${p.outWidth}x${p.outHeight} (outWidth x outHeight)`);
  }
  const crop: Crop = p.crop ?? [0, 0, width, height];
  const [cx, cy, cw, ch] = crop;
  if (![cx, cy].every((v) => Number.isInteger(v) && v >= 0) || ![cw, ch].every((v) => Number.isInteger(v) && v >= 1) || cx + cw > width || cy + ch > height) {
    throw opError(op, `crop (x ${cx}, y ${cy}, w ${cw}, h ${ch}) must be whole pixels inside the ${width}x${height} image`);
  }
  // The shader's exact resize arithmetic needs (2 * out + 1) * crop < 2^31 on each resized axis.
  for (const [axis, c, o] of [['width', cw, p.outWidth], ['height', ch, p.outHeight]] as const) {
    if (c !== o && c * o >= 2 ** 30) throw opError(op, `resizing ${axis} ${c} to ${o} is too large for one pass (crop * out must stay below 2^30); resize in two steps`);
  }
  const shape = [out ? out.n : 1, 3, p.outHeight, p.outWidth];
  const y = out ? outputFor(op, out, shape, out, 'image') : Tensor.empty(rt, shape, 'image');
  expectNonNegInt(op, 'sample', sample);
  if (sample >= y.n) throw opError(op, `sample ${sample} is outside out ${shapeStr(y.shape)}`);
  dispatchImageToTensor(rt, rgba, width, crop, { bgr: p.channelOrder === 'bgr', scale: p.scale, mean: p.mean, std: p.std }, y, sample);
  return y;
}

/** Sample `p.sample` (default 0) of x (N, 3, H, W) -> RGBA8 bytes, H * W * 4. */
export function tensorToImage(x: Tensor, p: DeprocessParams): Promise<Uint8ClampedArray> {
  const sample = p.sample ?? 0;
  expectShape('tensorToImage', 'x', x, [x.n, 3, x.h, x.w]);
  expectNonNegInt('tensorToImage', 'sample', sample);
  if (sample >= x.n) throw opError('tensorToImage', `sample ${sample} is outside x ${shapeStr(x.shape)}`);
  return dispatchTensorToImage(x.rt, x, { bgr: p.channelOrder === 'bgr', scale: p.scale, mean: p.mean, std: p.std }, sample);
}

/** Separable Gaussian blur of every (n, c) plane, radius ceil(3 sigma), clamp-to-edge; sigma <= 0 copies. */
export function gaussianBlur(x: Tensor, sigma: number, out?: Tensor): Tensor {
  if (!Number.isFinite(sigma)) throw opError('gaussianBlur', `sigma must be finite, got ${sigma}`);
  const y = outputFor('gaussianBlur', x, x.shape, out, 'blur.y');
  if (sigma <= 0) {
    dispatchBlurPass(x.rt, x, y, 0, 0, false);
    return y;
  }
  const radius = Math.ceil(3 * sigma);
  const tmp = Tensor.empty(x.rt, x.shape, 'blur.tmp');
  dispatchBlurPass(x.rt, x, tmp, sigma, radius, false);
  dispatchBlurPass(x.rt, tmp, y, sigma, radius, true);
  tmp.dispose();
  return y;
}
