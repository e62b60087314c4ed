// The Fourier image parameterization (Lucid's fft_image + to_valid_rgb; Mordvintsev et al.,
// Distill 2018): x = sigmoid(decorrelate(irfft2(S(f) * spectrum) / 4)), each step with its
// backward (the adjoint), all on the GPU. A spectrum is (N, C, H, 2K), K = floor(W / 2) + 1,
// real and imaginary parts interleaved; a plan holds the float64-computed twiddles for one H x W.

import { dispatchFftPass, dispatchToRgb, type FftUniforms, type Rows } from '../kernels/fft';
import type { Runtime } from '../runtime';
import { shapeStr, Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { expectPositiveInt, expectShape, opError, outputFor } from './check';

/** Lucid's colour_correlation_svd_sqrt (ImageNet), rows = output channels, and its colour mean. */
export const COLOR_CORRELATION_SVD_SQRT: Rows = [[0.26, 0.09, 0.02], [0.27, 0.0, -0.05], [0.27, -0.09, 0.03]];
export const COLOR_MEAN = [0.48, 0.46, 0.41];
/** Lucid's fft_image settings: 1/f spectral scale, image divided by 4. */
export const LUCID_FFT: IrfftOptions = { decayPower: 1, outScale: 0.25 };

export interface IrfftOptions {
  /** Spectral scale sqrt(HW) / max(f, 1/max(H, W))^decayPower; null or absent: none. */
  decayPower?: number | null;
  /** Multiplies the image; default 1. */
  outScale?: number;
}

export interface FourierPlan { h: number; w: number; k: number; twiddles: Tensor; dispose(): void }

/** The twiddle table for H x W images: cos, sin of 2 pi j / H (j < H), then of 2 pi j / W. */
export function fourierPlan(rt: Runtime, h: number, w: number): FourierPlan {
  expectPositiveInt('fourierPlan', 'h', h);
  expectPositiveInt('fourierPlan', 'w', w);
  const table = new Float32Array(2 * h + 2 * w);
  for (const [n, at] of [[h, 0], [w, 2 * h]]) {
    for (let j = 0; j < n; j++) {
      table[at + j] = Math.cos((2 * Math.PI * j) / n);
      table[at + n + j] = Math.sin((2 * Math.PI * j) / n);
    }
  }
  const twiddles = Tensor.fromData(rt, table, [1, 1, 1, table.length], `fft twiddles ${h}x${w}`);
  return { h, w, k: Math.floor(w / 2) + 1, twiddles, dispose: () => twiddles.dispose() };
}

export function spectrumShape(n: number, c: number, h: number, w: number): [number, number, number, number] {
  return [n, c, h, 2 * (Math.floor(w / 2) + 1)];
}

function uniforms(op: string, plan: FourierPlan, o: IrfftOptions): FftUniforms {
  plan.twiddles.assertLive();
  const decayPower = o.decayPower ?? null;
  const outScale = o.outScale ?? 1;
  if (decayPower !== null && !Number.isFinite(decayPower)) throw opError(op, `decayPower must be finite or null, got ${decayPower}`);
  if (!Number.isFinite(outScale)) throw opError(op, `outScale must be finite, got ${outScale}`);
  return { height: plan.h, width: plan.w, k: plan.k, decayPower, outScale };
}

/** spectrum (N, C, H, 2K) -> image (N, C, H, W) = outScale * irfft2(S * spectrum). */
export function irfft2(spectrum: Tensor, plan: FourierPlan, o: IrfftOptions = {}, out?: Tensor): Tensor {
  const u = uniforms('irfft2', plan, o);
  expectShape('irfft2', 'spectrum', spectrum, spectrumShape(spectrum.n, spectrum.c, plan.h, plan.w));
  expectSeparate('irfft2', out, [spectrum]);
  const x = outputFor('irfft2', spectrum, [spectrum.n, spectrum.c, plan.h, plan.w], out, 'irfft2.x');
  const y = Tensor.empty(spectrum.rt, spectrum.shape, 'irfft2.columns');
  dispatchFftPass(spectrum.rt, 'cols_inverse', u, plan.twiddles, spectrum, y, spectrum.c);
  dispatchFftPass(spectrum.rt, 'rows_c2r', u, plan.twiddles, y, x, spectrum.c);
  y.dispose();
  return x;
}

/** The adjoint: dL/dx (N, C, H, W) -> dL/dspectrum (N, C, H, 2K). */
export function irfft2Backward(dx: Tensor, plan: FourierPlan, o: IrfftOptions = {}, out?: Tensor): Tensor {
  const u = uniforms('irfft2Backward', plan, o);
  if (dx.h !== plan.h || dx.w !== plan.w) throw opError('irfft2Backward', `dx ${shapeStr(dx.shape)} does not match the plan's ${plan.h}x${plan.w} images`);
  const shape = spectrumShape(dx.n, dx.c, plan.h, plan.w);
  expectSeparate('irfft2Backward', out, [dx]);
  const ds = outputFor('irfft2Backward', dx, shape, out, 'irfft2.dspectrum');
  const dy = Tensor.empty(dx.rt, shape, 'irfft2.dcolumns');
  dispatchFftPass(dx.rt, 'rows_adjoint', u, plan.twiddles, dx, dy, dx.c);
  dispatchFftPass(dx.rt, 'cols_adjoint', u, plan.twiddles, dy, ds, dx.c);
  dy.dispose();
  return ds;
}

export interface RgbOptions { decorrelate?: boolean; sigmoid?: boolean }

/** Lucid's decorrelation matrix: COLOR_CORRELATION_SVD_SQRT over its largest column norm (or I). */
export function colorDecorrelation(decorrelate = true): Rows {
  if (!decorrelate) return [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const m = COLOR_CORRELATION_SVD_SQRT;
  const norm = Math.max(...[0, 1, 2].map((j) => Math.hypot(m[0][j], m[1][j], m[2][j])));
  return m.map((r) => r.map((v) => v / norm)) as Rows;
}

function expectRgb(op: string, name: string, t: Tensor): void {
  if (t.c !== 3) throw opError(op, `${name} must have 3 channels (N, 3, H, W), got ${shapeStr(t.shape)}`);
}

/** t (N, 3, H, W) -> sigmoid(R t) (or R t + COLOR_MEAN without the sigmoid, as Lucid does). */
export function toValidRgb(t: Tensor, o: RgbOptions = {}, out?: Tensor): Tensor {
  const { decorrelate = true, sigmoid = true } = o;
  expectRgb('toValidRgb', 't', t);
  expectSeparate('toValidRgb', out, [t]);
  const y = outputFor('toValidRgb', t, t.shape, out, 'rgb');
  dispatchToRgb(t.rt, false, colorDecorrelation(decorrelate), decorrelate && !sigmoid ? COLOR_MEAN : [0, 0, 0], sigmoid, t, null, y);
  return y;
}

/** dL/dt from the forward output y and dL/dy (both (N, 3, H, W)). */
export function toValidRgbBackward(y: Tensor, dy: Tensor, o: RgbOptions = {}, out?: Tensor): Tensor {
  const { decorrelate = true, sigmoid = true } = o;
  expectRgb('toValidRgbBackward', 'y', y);
  expectShape('toValidRgbBackward', 'dy', dy, y.shape);
  expectSeparate('toValidRgbBackward', out, [y, dy]);
  const dt = outputFor('toValidRgbBackward', y, y.shape, out, 'rgb.dt');
  const r = colorDecorrelation(decorrelate);
  dispatchToRgb(y.rt, true, [0, 1, 2].map((i) => r.map((row) => row[i])) as Rows, [0, 0, 0], sigmoid, y, dy, dt);
  return dt;
}
