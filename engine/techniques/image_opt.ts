// Pieces shared by the techniques that optimize an image from or against real pictures (fool,
// deepdream, invert, texture, style), on top of the optvis loop (optvis/loop.ts):
//
//   - pixel units: step sizes, budgets and noise are given in 8-bit levels (0..255), the same for
//     every network; levelUnit() turns a level into the network's input units (scale / std);
//   - a picture as network input at any size (networkImage: cropped to the aspect, then resized),
//     and a seeded mid-gray + noise start (noiseStart);
//   - a second picture named by an option (a style image, a guide): a path in Node, a URL anywhere;
//   - Mahendran and Vedaldi's normalized total variation as the loop's tvWeight;
//   - the common options (steps, lr, seed, size).

import { decodeImage } from '../io/decode';
import type { Model } from '../models/graph';
import { broadcastSamples } from '../ops/batch_input';
import { fill } from '../ops/elementwise';
import { imageToTensor } from '../ops/image';
import { Tensor } from '../tensor';
import { isNode, nodeGallery, urlGallery } from './gallery_source';
import { inputRange } from './optvis/param';
import type { OptionSpec, RgbaImage } from './technique';

/** Network input units per 8-bit level, per input channel: scale / std[c]. */
export function levelUnits(model: Model): number[] {
  const { scale, std } = model.spec.input;
  return std.map((s) => scale / s);
}

/** Network input units per 8-bit level, the mean over channels (for step sizes). */
export function levelUnit(model: Model): number {
  const u = levelUnits(model);
  return u.reduce((a, b) => a + b, 0) / u.length;
}

/**
 * `image` as network input (1, 3, height, width): the centred crop with the output's aspect,
 * resized (bilinear) and normalized like the model's preprocessing. The caller disposes it.
 */
export function networkImage(model: Model, image: RgbaImage, height: number, width: number): Tensor {
  const f = Math.min(image.width / width, image.height / height);
  const cw = Math.min(image.width, Math.max(1, Math.round(width * f)));
  const ch = Math.min(image.height, Math.max(1, Math.round(height * f)));
  const crop: [number, number, number, number] = [Math.floor((image.width - cw) / 2), Math.floor((image.height - ch) / 2), cw, ch];
  const { channelOrder, scale, mean, std } = model.spec.input;
  return imageToTensor(model.rt, image.rgba, image.width, image.height, { outHeight: height, outWidth: width, crop, channelOrder, scale, mean, std });
}

/** `image` at the model's own input size (0) or size x size. */
export function inputAt(model: Model, image: RgbaImage, size: number): Tensor {
  return size > 0 ? networkImage(model, image, size, size) : model.preprocess(image.rgba, image.width, image.height);
}

/** (n, 3, h, w): mid-gray plus seeded Gaussian noise of `stdLevels` 8-bit levels. The caller disposes it. */
export function noiseStart(model: Model, n: number, h: number, w: number, stdLevels: number, seed: number): Tensor {
  const { lo, hi } = inputRange(model);
  const gray = Tensor.empty(model.rt, [1, 3, h, w], 'gray image');
  try {
    for (let c = 0; c < 3; c++) fill(gray.channels(c, 1), (lo[c] + hi[c]) / 2);
    return broadcastSamples(gray, n, { noiseSigma: stdLevels * levelUnit(model), seed: seed >>> 0 });
  } finally {
    gray.dispose();
  }
}

/** The picture an option names: a file path (Node) or a URL. Fails naming the option. */
export async function readImageOption(value: string, technique: string, flag: string): Promise<RgbaImage> {
  const where = value.trim();
  if (where === '') throw new Error(`${technique}: --${flag} needs an image (a file path or a URL)`);
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(where);
  try {
    const [item] = isNode() && !url ? await nodeGallery(where, 1) : urlGallery([where]);
    const d = await decodeImage(await item.read(), where);
    return { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba.buffer, d.rgba.byteOffset, d.rgba.length) };
  } catch (e) {
    throw new Error(`${technique}: --${flag} '${where}': ${(e as Error).message}`);
  }
}

/** Mahendran and Vedaldi's total-variation normalization V = B / 6.5, B = 80 levels. */
export const TV_V_LEVELS = 80 / 6.5;

/**
 * The loop's tvWeight (raw TV_beta in network units) that makes `weight` the weight of the
 * normalized TV_beta(x / V) / (H W), V in 8-bit levels (Mahendran and Vedaldi).
 */
export function tvLoopWeight(model: Model, h: number, w: number, weight: number, beta: number): number {
  return weight / (h * w * (TV_V_LEVELS * levelUnit(model)) ** beta);
}

/** A comma list of layer names ('' = none). */
export function layerList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export const stepsOption = (d: number, help = 'optimization steps'): OptionSpec => ({ kind: 'int', name: 'steps', default: d, min: 0, help });
export const lrOption = (d: number, help: string): OptionSpec => ({ kind: 'number', name: 'lr', default: d, min: 0, help });
export const SEED_OPTION: OptionSpec = { kind: 'int', name: 'seed', default: 0, min: 0, help: 'seed of every random choice (noise, jitter): equal seeds give identical images' };
export const sizeOption = (help: string): OptionSpec => ({ kind: 'int', name: 'size', default: 0, min: 0, help });

