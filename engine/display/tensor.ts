// Network-side float data back to RGB pictures: a preprocessed input (undoing the model's channel
// order, scale, mean and std), and any three planes (e.g. a first-layer filter) min-max scaled.

import { createImage, type RgbaImage } from './image';
import { extent } from './normalize';

/** How pixels became network input (a subset of engine/models/spec.ts InputSpec). */
export interface InputTransform {
  channelOrder: 'rgb' | 'bgr';
  /** value = (pixel * scale - mean[c]) / std[c], c in the network's channel order. */
  scale: number;
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Sample `sample` of a dense (N, 3, H, W) network input -> the RGBA picture it came from
 * (pixel = (value * std[c] + mean[c]) / scale, rounded and clamped to 0..255).
 */
export function rgbFromTensor(data: Float32Array, width: number, height: number, input: InputTransform, sample = 0): RgbaImage {
  const plane = width * height;
  if (data.length < (sample + 1) * 3 * plane) {
    throw new Error(`rgbFromTensor: ${data.length} values cannot hold sample ${sample} of (N, 3, ${height}, ${width})`);
  }
  const img = createImage(width, height);
  for (let c = 0; c < 3; c++) {
    const rgb = input.channelOrder === 'bgr' ? 2 - c : c;
    const base = (sample * 3 + c) * plane;
    for (let i = 0; i < plane; i++) img.rgba[i * 4 + rgb] = Math.round((data[base + i] * input.std[c] + input.mean[c]) / input.scale);
  }
  return img;
}

/**
 * Three planes (3, h, w) -> RGBA, all three scaled together from their [min, max] (or `range`) to
 * 0..255; `channelOrder` 'bgr' means plane 0 is blue. A constant input gives mid-gray.
 */
export function rgbFromPlanes(planes: ArrayLike<number>, w: number, h: number, channelOrder: 'rgb' | 'bgr' = 'rgb', range?: [number, number]): RgbaImage {
  const plane = w * h;
  if (planes.length !== 3 * plane) throw new Error(`rgbFromPlanes: ${planes.length} values, expected 3 x ${h} x ${w} = ${3 * plane}`);
  const [lo, hi] = range ?? extent(planes);
  const span = hi - lo;
  const img = createImage(w, h);
  for (let c = 0; c < 3; c++) {
    const rgb = channelOrder === 'bgr' ? 2 - c : c;
    for (let i = 0; i < plane; i++) img.rgba[i * 4 + rgb] = span > 0 ? Math.round((255 * (planes[c * plane + i] - lo)) / span) : 128;
  }
  return img;
}
