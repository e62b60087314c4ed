// SmoothGrad (Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017): the input
// gradient averaged over n noisy copies of the image,
//
//   g = (1 / n) sum_k d score / d x (x + eps_k),   eps_k ~ N(0, (sigma (max x - min x))^2) per element,
//
// sigma a fraction of the input's range (the paper: 10-20%, n = 50). The map is max over channels
// of |g|, like saliency; with sigma = 0 it is exactly the saliency map. The noisy copies are made
// on the GPU (broadcastSamples: counter-based Gaussian noise, one dispatch per batch) and go
// through the network `batch` at a time.

import type { Model } from '../models/graph';
import { extent } from '../display/normalize';
import { broadcastSamples } from '../ops/batch_input';
import { channelMaxAbs, gradientBatch, inBatches, uploadImage, type InputImage, type ScoreKind } from './attribution';
import { attributionViews, finish, prepare, presentAttribution, type AttributionBase } from './attribution_present';
import { FAITHFULNESS_OPTIONS } from './faithfulness';
import { CLASS_OPTION, SCORE_OPTION } from './resolve';
import type { Options, Technique, TechniqueContext } from './technique';

export interface SmoothGradOptions {
  /** Noise standard deviation as a fraction of (max x - min x). */
  sigma: number;
  samples: number;
  batch: number;
  score: ScoreKind;
  seed: number;
}

export interface SmoothGradMap {
  /** The mean gradient (C, H, W). */
  gradient: Float32Array;
  /** max_c |gradient|, (H, W). */
  map: Float32Array;
  /** The noise standard deviation in input units. */
  noise: number;
}

export async function smoothGrad(model: Model, x: InputImage, index: number, o: SmoothGradOptions, ctx: TechniqueContext = { model }): Promise<SmoothGradMap> {
  if (!(o.sigma >= 0)) throw new Error(`smoothgrad: --sigma must be >= 0 (a fraction of the input range), got ${o.sigma}`);
  if (!Number.isInteger(o.samples) || o.samples < 1) throw new Error(`smoothgrad: --samples must be a positive integer, got ${o.samples}`);
  const [lo, hi] = extent(x.data);
  const noise = o.sigma * (hi - lo);
  const sum = new Float64Array(x.data.length);
  const image = uploadImage(model, x, 'smoothgrad image');
  try {
    await inBatches(model, x, {
      total: o.samples,
      batch: o.batch,
      // Batch b's noise stream is seed (o.seed, b): a run is reproducible for a given seed and batch size.
      make: (start, count) => broadcastSamples(image, count, { noiseSigma: noise, seed: (Math.imul(o.seed, 0x9e3779b1) + start) >>> 0 }),
      use: async (batch, _start, count) => {
        const { grad } = await gradientBatch(model, batch, index, o.score);
        for (let s = 0; s < count; s++) for (let i = 0; i < sum.length; i++) sum[i] += grad[s * sum.length + i];
      },
    }, ctx, 'smoothgrad');
  } finally {
    image.dispose();
  }
  const gradient = Float32Array.from(sum, (v) => v / o.samples);
  return { gradient, map: channelMaxAbs(gradient, x.c, x.h * x.w), noise };
}

// ---- the technique ------------------------------------------------------------------------------

export interface SmoothGradResult extends AttributionBase {
  smooth: SmoothGradMap;
}

export const smoothgrad: Technique<Options, SmoothGradResult> = {
  name: 'smoothgrad',
  title: 'SmoothGrad',
  group: 'gradients',
  description: 'Smilkov et al. (2017): average the saliency gradient over many copies of the image with Gaussian noise added; the noise cancels and the object stands out.',
  needsImage: true,
  options: [
    CLASS_OPTION,
    SCORE_OPTION,
    { kind: 'number', name: 'sigma', help: 'noise standard deviation as a fraction of the input range (paper: 0.1-0.2)', default: 0.15, min: 0, step: 0.01 },
    { kind: 'int', name: 'samples', help: 'noisy copies averaged (paper: 50)', default: 50, min: 1 },
    { kind: 'int', name: 'batch', help: 'copies per forward / backward pass', default: 16, min: 1 },
    { kind: 'int', name: 'seed', help: 'seed of the noise', default: 0, min: 0 },
    ...FAITHFULNESS_OPTIONS,
  ],
  async run(ctx, o) {
    const { x, target, t0 } = await prepare(ctx, o, 'smoothgrad');
    const smooth = await smoothGrad(ctx.model, x, target.index, {
      sigma: Number(o.sigma), samples: Number(o.samples), batch: Number(o.batch), score: target.score, seed: Number(o.seed),
    }, ctx);
    return { ...(await finish(ctx, o, x, target, smooth.map, t0)), smooth };
  },
  present(r, ctx) {
    const { h, w } = r.input;
    const views = attributionViews(ctx.model, r.input, r.smooth.map, w, h, 'SmoothGrad |mean gradient|');
    return presentAttribution(r, views, { data: r.smooth.map, shape: [h, w], meaning: 'max over channels of |mean d score / d x| over the noisy copies (H, W)' }, { noiseStd: r.smooth.noise });
  },
};
