// Image kernels: RGBA8 -> normalized NCHW sample, NCHW sample -> RGBA8, separable Gaussian blur.
// Pipelines, uploads and dispatch arithmetic; parameters are checked by engine/ops/image.ts.

import toTensorCode from '../../shaders/image_to_tensor.wgsl?raw';
import toImageCode from '../../shaders/tensor_to_image.wgsl?raw';
import blurCode from '../../shaders/gaussian_blur.wgsl?raw';
import { Usage } from '../buffer_pool';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, dispatchFolded, sampleGrid } from './kernel';

export const imageToTensorKernel = defineKernel({ name: 'image_to_tensor', code: toTensorCode });
export const tensorToImageKernel = defineKernel({ name: 'tensor_to_image', code: toImageCode });
export const gaussianBlurKernel = defineKernel({ name: 'gaussian_blur', code: blurCode });

const BLUR_WG = 64;

export type Vec3 = [number, number, number];
export interface Normalization { bgr: boolean; scale: number; mean: Vec3; std: Vec3 }
/** (x, y, w, h) in source pixels. */
export type Crop = [number, number, number, number];

/** Upload RGBA bytes as u32 words, then crop/resize/normalize into sample `sample` of y. */
export function dispatchImageToTensor(rt: Runtime, rgba: Uint8Array | Uint8ClampedArray, width: number, crop: Crop, norm: Normalization, y: Tensor, sample: number): void {
  // A pooled buffer may still be used by recorded commands: submit them before writing it.
  rt.flush();
  const pixels = rt.pool.acquire(rgba.byteLength, Usage.STORAGE | Usage.COPY_DST, 'image pixels');
  rt.device.queue.writeBuffer(pixels, 0, new Uint8Array(rgba.buffer as ArrayBuffer, rgba.byteOffset, rgba.byteLength));
  const [cx, cy, cw, ch] = crop;
  const params = {
    width, crop_x: cx, crop_y: cy, crop_w: cw, crop_h: ch, out_w: y.w, out_h: y.h,
    bgr: norm.bgr ? 1 : 0, scale: norm.scale, mean: norm.mean, stddev: norm.std, ...y.layout('y'), sample,
  };
  const out = y.c * y.h * y.w;
  dispatchFolded(rt, rt.program(imageToTensorKernel), { params, pixels: { buffer: pixels, offset: 0, size: pixels.size }, y }, [Math.ceil(y.w / 16), Math.ceil(y.h / 16)], cost(8 * out, [out, y.h * y.w]));
  rt.pool.releaseAfterSubmit(pixels);
}

/** Pack sample `sample` of x (N, 3, H, W) to RGBA8 on the GPU and read it back. */
export async function dispatchTensorToImage(rt: Runtime, x: Tensor, norm: Normalization, sample: number): Promise<Uint8ClampedArray> {
  const bytes = x.h * x.w * 4;
  const pixels = rt.pool.acquire(bytes, Usage.STORAGE | Usage.COPY_SRC, 'image pixels out');
  try {
    const params = { width: x.w, height: x.h, bgr: norm.bgr ? 1 : 0, scale: norm.scale, mean: norm.mean, stddev: norm.std, ...x.layout('x'), sample };
    const plane = x.h * x.w;
    dispatchFolded(rt, rt.program(tensorToImageKernel), { params, x, pixels: { buffer: pixels, offset: 0, size: pixels.size } }, [Math.ceil(x.w / 16), Math.ceil(x.h / 16)], cost(6 * plane, [4 * plane]));
    return new Uint8ClampedArray(await rt.readBuffer(pixels, 0, bytes));
  } finally {
    rt.pool.release(pixels);
  }
}

/** One axis of the separable blur, src -> dst (same shape). radius 0 with sigma <= 0 copies. */
export function dispatchBlurPass(rt: Runtime, src: Tensor, dst: Tensor, sigma: number, radius: number, vertical: boolean): void {
  const params = {
    height: src.h, width: src.w, channels: src.c, radius, vertical: vertical ? 1 : 0,
    inv_two_sigma2: sigma > 0 ? 1 / (2 * sigma * sigma) : 0, ...src.layout('src'), ...dst.layout('dst'),
  };
  const program = rt.program({ ...gaussianBlurKernel, constants: { WG: BLUR_WG } });
  rt.dispatch(program, { params, src, dst }, sampleGrid(src.sampleSize, src.n, BLUR_WG, rt.maxGroups), cost(dst.size * (2 * radius + 1) * 4, [src, dst]));
}
