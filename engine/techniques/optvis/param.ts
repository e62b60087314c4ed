// Parameterizations of the optimized image (Lucid's optvis/param/): what the optimizer updates and
// how it becomes the network's input (N, 3, H, W), with the adjoint for the gradient.
//
//   pixel    the input itself, in the network's space (zeros, seeded noise, or a given image);
//            the pixel-space regularizer (decay, blur, clipping, valid range) applies to it.
//   fourier  Lucid's fft_image + to_valid_rgb: a 1/f-scaled spectrum (N, 3, H, 2K), irfft2, colour
//            decorrelation, sigmoid -> RGB in [0, 1], then the model's preprocessing
//            x_c = (255 * scale * rgb - mean_c) / std_c (channel order included) as per-channel
//            scale + shift (skipped when it is the identity, e.g. TinyVGG).
//
// Every tensor is allocated at creation; render() and backward() allocate nothing.

import { uniformStream } from '../attribution';
import type { Model } from '../../models/graph';
import { addScaled, fill, scale } from '../../ops/elementwise';
import { fourierPlan, irfft2, irfft2Backward, LUCID_FFT, spectrumShape, toValidRgb, toValidRgbBackward, type FourierPlan } from '../../ops/fft';
import { shapeStr, Tensor } from '../../tensor';

export const PARAMS = ['pixel', 'fourier'] as const;
export type ParamKind = (typeof PARAMS)[number];

export interface Parameterization {
  readonly kind: ParamKind;
  /** What the optimizer updates. */
  readonly params: Tensor;
  /** The image's shape (N, 3, H, W). */
  readonly shape: readonly [number, number, number, number];
  /** The image in the network's input space, from params; owned by the parameterization. */
  render(): Tensor;
  /** d/dparams from d/dimage (dImage may be overwritten); owned by the parameterization. */
  backward(dImage: Tensor): Tensor;
  /** A mid-gray in the network's space (mean over channels): the value transforms pad with. */
  readonly gray: number;
  /** The valid range of each network input channel ((0 - mean) / std .. (255 scale - mean) / std). */
  readonly range: { lo: number[]; hi: number[] };
  dispose(): void;
}

/** Per-channel valid input range and mid-gray of the model's preprocessing. */
export function inputRange(model: Model): { lo: number[]; hi: number[]; gray: number } {
  const { scale: s, mean, std } = model.spec.input;
  const lo = mean.map((m, c) => -m / std[c]);
  const hi = mean.map((m, c) => (255 * s - m) / std[c]);
  const gray = lo.reduce((a, l, c) => a + (l + hi[c]) / 2, 0) / lo.length;
  return { lo, hi, gray };
}

export interface PixelOptions {
  n?: number;
  height: number;
  width: number;
  /** 'zeros' (Simonyan et al.), 'noise' (seeded normal noise of std `std`), or an image (N, 3, H, W) to start from (copied). */
  init?: 'zeros' | 'noise' | Tensor | Float32Array;
  std?: number;
  seed?: number;
}

function checkSize(what: string, n: number, h: number, w: number): void {
  if (![n, h, w].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`${what}: n, height and width must be positive integers, got ${n}, ${h}, ${w}`);
}

/** Seeded normal noise (Box-Muller on the seeded uniform stream). */
function noise(count: number, std: number, seed: number): Float32Array {
  const u = uniformStream(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < count) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** The input pixels themselves, in the network's space. */
export function pixelParam(model: Model, o: PixelOptions): Parameterization {
  const { n = 1, height, width, init = 'zeros', std = 1, seed = 0 } = o;
  checkSize('pixelParam', n, height, width);
  const shape = [n, model.spec.input.channels, height, width] as const;
  const rt = model.rt;
  const x = Tensor.zeros(rt, shape, 'optvis pixels');
  if (init === 'noise') x.write(noise(x.size, std, seed));
  else if (init instanceof Float32Array) x.write(init);
  else if (init instanceof Tensor) {
    if (init.shape.some((d, i) => d !== shape[i])) {
      x.dispose();
      throw new Error(`pixelParam: init image has shape ${shapeStr(init.shape)}, expected ${shapeStr(shape)}`);
    }
    init.copyTo(x);
  }
  const { lo, hi, gray } = inputRange(model);
  return { kind: 'pixel', params: x, shape, render: () => x, backward: (g) => g, gray, range: { lo, hi }, dispose: () => x.dispose() };
}

export interface FourierOptions {
  n?: number;
  height: number;
  width: number;
  /** Std of the initial spectrum (Lucid: 0.01). */
  std?: number;
  seed?: number;
  /** Lucid's colour decorrelation (default true). */
  decorrelate?: boolean;
}

/** Lucid's Fourier image: a 1/f spectrum, decorrelated colour, sigmoid, then the model's preprocessing. */
export function fourierParam(model: Model, o: FourierOptions): Parameterization {
  const { n = 1, height, width, std = 0.01, seed = 0, decorrelate = true } = o;
  checkSize('fourierParam', n, height, width);
  const { input } = model.spec;
  if (input.channels !== 3) throw new Error(`fourierParam: model '${model.spec.name}' takes ${input.channels} input channels, the Fourier parameterization makes RGB (3)`);
  const rt = model.rt;
  const shape = [n, 3, height, width] as const;
  const spectrum = Tensor.fromData(rt, noise(spectrumShape(n, 3, height, width).reduce((a, b) => a * b, 1), std, seed), spectrumShape(n, 3, height, width), 'optvis spectrum');
  const plan: FourierPlan = fourierPlan(rt, height, width);
  const rgbOpts = { decorrelate, sigmoid: true };
  const t = Tensor.empty(rt, shape, 'optvis fourier image');
  const rgb = Tensor.empty(rt, shape, 'optvis rgb');
  const dt = Tensor.empty(rt, shape, 'optvis d image');
  const dSpectrum = Tensor.empty(rt, spectrum.shape, 'optvis d spectrum');
  // network channel c = a[c] * rgb[src[c]] + b[c]
  const src = [0, 1, 2].map((c) => (input.channelOrder === 'bgr' ? 2 - c : c));
  const a = input.std.map((s) => (255 * input.scale) / s);
  const b = input.mean.map((m, c) => -m / input.std[c]);
  const identity = src.every((s, c) => s === c && Math.abs(a[c] - 1) < 1e-7 && b[c] === 0);
  const x = identity ? rgb : Tensor.empty(rt, shape, 'optvis fourier input');
  const dRgb = identity ? null : Tensor.empty(rt, shape, 'optvis d rgb');
  const { lo, hi, gray } = inputRange(model);
  return {
    kind: 'fourier', params: spectrum, shape, gray, range: { lo, hi },
    render() {
      toValidRgb(irfft2(spectrum, plan, LUCID_FFT, t), rgbOpts, rgb);
      if (!identity) {
        for (let c = 0; c < 3; c++) addScaled(fill(x.channels(c, 1), b[c]), a[c], rgb.channels(src[c], 1));
      }
      return x;
    },
    backward(dx) {
      let d = dx;
      if (dRgb) {
        for (let c = 0; c < 3; c++) scale(dx.channels(c, 1), a[c], dRgb.channels(src[c], 1));
        d = dRgb;
      }
      return irfft2Backward(toValidRgbBackward(rgb, d, rgbOpts, dt), plan, LUCID_FFT, dSpectrum);
    },
    dispose() {
      for (const v of [spectrum, t, rgb, dt, dSpectrum, ...(identity ? [] : [x, dRgb!])]) v.dispose();
      plan.dispose();
    },
  };
}

/** A parameterization by kind. */
export function makeParam(model: Model, kind: ParamKind, o: PixelOptions & FourierOptions): Parameterization {
  if (kind === 'pixel') return pixelParam(model, o);
  if (kind === 'fourier') return fourierParam(model, o);
  throw new Error(`unknown parameterization '${kind}' (${PARAMS.join(', ')})`);
}
