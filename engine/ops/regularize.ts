// The class-visualization regularizer (Simonyan et al.; Yosinski et al. 2015) in place on an image
// x (N, C, H, W), C <= 4, given its gradient g: L2 decay, an optional Gaussian blur (the caller's
// loop passes blurSigma on every k-th step), norm and contribution clipping at per-sample
// percentiles found on the GPU, and the per-channel valid-range clip. At most six dispatches
// (blur rows, blur columns + decay + norms, norm percentile, contributions, contribution
// percentile, clip), as few as one (decay and range clip only); with `scratch` nothing is allocated.

import { dispatchBlurPass } from '../kernels/image';
import { dispatchRegularizePass, type RegularizeUniforms } from '../kernels/regularize';
import type { Vec4 } from '../kernels/elementwise';
import { Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { expectShape, opError } from './check';
import { percentile } from './reduce';

export interface RegularizeOptions {
  /** L2 decay: x *= 1 - decay. Default 0. */
  decay?: number;
  /** Blur this step with this sigma (radius ceil(3 sigma)); 0 or absent: no blur. */
  blurSigma?: number;
  /** Zero pixels whose channel norm is below this percentile (0-100); absent: off. */
  pNorm?: number;
  /** Zero pixels whose |sum_c x g| is below this percentile (0-100); absent: off. */
  pContrib?: number;
  /** Valid range per channel (a number or one per channel); both or neither. */
  lo?: number | readonly number[];
  hi?: number | readonly number[];
}

/** Scratch for regularize: tmp like x, stats (N, 2, H, W), thresholds (N, 2, 1, 1). */
export interface RegularizeScratch { tmp: Tensor; stats: Tensor; thresholds: Tensor; dispose(): void }

export function regularizeScratch(x: Tensor): RegularizeScratch {
  const tmp = Tensor.empty(x.rt, x.shape, 'regularize.tmp');
  const stats = Tensor.empty(x.rt, [x.n, 2, x.h, x.w], 'regularize.stats');
  const thresholds = Tensor.empty(x.rt, [x.n, 2, 1, 1], 'regularize.thresholds');
  return { tmp, stats, thresholds, dispose: () => [tmp, stats, thresholds].forEach((t) => t.dispose()) };
}

function range(v: number | readonly number[], c: number, name: string): Vec4 {
  const a = typeof v === 'number' ? Array<number>(c).fill(v) : [...v];
  if (a.length !== c || a.some((b) => Number.isNaN(b))) throw opError('regularize', `${name} must be a number or ${c} numbers (one per channel), got ${JSON.stringify(v)}`);
  return [a[0], a[1] ?? 0, a[2] ?? 0, a[3] ?? 0];
}

function percent(name: string, p: number | undefined): void {
  if (p !== undefined && !(p >= 0 && p <= 100)) throw opError('regularize', `${name} must be a percentile in [0, 100], got ${p}`);
}

export function regularize(x: Tensor, g: Tensor, o: RegularizeOptions, scratch?: RegularizeScratch): Tensor {
  const { decay = 0, blurSigma = 0, pNorm, pContrib } = o;
  if (x.c > 4) throw opError('regularize', `x has ${x.c} channels, at most 4 are supported`);
  expectShape('regularize', 'g', g, x.shape);
  expectSeparate('regularize', x, [g]);
  if (!(decay >= 0 && decay <= 1)) throw opError('regularize', `decay must be in [0, 1], got ${decay}`);
  if (!(blurSigma >= 0 && Number.isFinite(blurSigma))) throw opError('regularize', `blurSigma must be >= 0, got ${blurSigma}`);
  percent('pNorm', pNorm);
  percent('pContrib', pContrib);
  if ((o.lo === undefined) !== (o.hi === undefined)) throw opError('regularize', 'lo and hi go together: give both or neither');
  const lo = o.lo === undefined ? null : range(o.lo, x.c, 'lo');
  const hi = o.hi === undefined ? null : range(o.hi, x.c, 'hi');
  const s = scratch ?? regularizeScratch(x);
  expectShape('regularize', 'scratch.tmp', s.tmp, x.shape);
  expectShape('regularize', 'scratch.stats', s.stats, [x.n, 2, x.h, x.w]);
  expectShape('regularize', 'scratch.thresholds', s.thresholds, [x.n, 2, 1, 1]);
  if (!s.stats.isContiguous) throw opError('regularize', 'scratch.stats must be a dense tensor');
  const rt = x.rt;
  const radius = blurSigma > 0 ? Math.ceil(3 * blurSigma) : 0;
  if (radius > 0) dispatchBlurPass(rt, x, s.tmp, blurSigma, radius, false);
  const u: RegularizeUniforms = { radius, sigma: blurSigma, scale: 1 - decay, fromTmp: radius > 0, useNorm: pNorm !== undefined, useContrib: pContrib !== undefined, lo, hi };
  const pass = (p: 'cols_norm' | 'contribution' | 'apply') => dispatchRegularizePass(rt, p, u, x, g, s.tmp, s.stats, s.thresholds);
  const select = (channel: number, p: number) => percentile(s.stats.channels(channel, 1), p, { abs: false, out: s.thresholds.channels(channel, 1) });
  // cols_norm folds in the contributions when there is no norm clip, and the range clip when
  // there is no clip at all (see shaders/regularize.wgsl).
  pass('cols_norm');
  if (pNorm !== undefined) select(0, pNorm);
  if (pContrib !== undefined) {
    if (pNorm !== undefined) pass('contribution');
    select(1, pContrib);
  }
  if (pNorm !== undefined || pContrib !== undefined) pass('apply');
  if (!scratch) s.dispose();
  return x;
}
