// Total variation TV_beta (Mahendran & Vedaldi 2015) of an image x (N, C, H, W), per sample, and
// its gradient: the smoothness prior of feature inversion and style transfer. beta = 2 by default;
// other betas use eps (default 1e-8) inside the power so the gradient stays finite.

import { dispatchTv, dispatchTvGrad, type TvUniforms } from '../kernels/tv';
import { Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { expectShape, opError, outputFor } from './check';

export interface TvOptions {
  beta?: number;
  /** Added to dx^2 + dy^2 before the power; default 0 for beta = 2, 1e-8 otherwise. */
  eps?: number;
}

function uniforms(op: string, o: TvOptions, weight = 1, accumulate = false): TvUniforms {
  const beta = o.beta ?? 2;
  const eps = o.eps ?? (beta === 2 ? 0 : 1e-8);
  if (!(beta > 0 && Number.isFinite(beta))) throw opError(op, `beta must be a positive number, got ${beta}`);
  if (!(eps >= 0 && Number.isFinite(eps))) throw opError(op, `eps must be >= 0, got ${eps}`);
  if (beta < 2 && eps === 0) throw opError(op, `beta ${beta} < 2 needs eps > 0 (the gradient is infinite where the image is flat)`);
  if (!Number.isFinite(weight)) throw opError(op, `weight must be finite, got ${weight}`);
  return { beta, eps, weight, accumulate };
}

/** Per-sample TV_beta(x) -> (N, 1, 1, 1); `out` may be a view. */
export function tv(x: Tensor, o: TvOptions = {}, out?: Tensor): Tensor {
  const u = uniforms('tv', o);
  expectSeparate('tv', out, [x]);
  const value = outputFor('tv', x, [x.n, 1, 1, 1], out, 'tv.value');
  const terms = Tensor.empty(x.rt, x.shape, 'tv.terms');
  dispatchTv(x.rt, x, terms, value, u);
  terms.dispose();
  return value;
}

/**
 * weight * dTV/dx -> like x; with `accumulate` it is added into `out` (e.g. the image gradient of
 * an objective). out may be a view but not share x's buffer.
 */
export function tvBackward(x: Tensor, o: TvOptions & { weight?: number; accumulate?: boolean } = {}, out?: Tensor): Tensor {
  const u = uniforms('tvBackward', o, o.weight ?? 1, o.accumulate ?? false);
  if (u.accumulate && !out) throw opError('tvBackward', 'accumulate needs out (the gradient to add into)');
  if (out) expectShape('tvBackward', 'out', out, x.shape);
  expectSeparate('tvBackward', out, [x]);
  const g = outputFor('tvBackward', x, x.shape, out, 'tv.grad');
  dispatchTvGrad(x.rt, x, g, u);
  return g;
}
