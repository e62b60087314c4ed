// Integrated gradients (Sundararajan et al., "Axiomatic Attribution for Deep Networks", ICML 2017):
//
//   attr_i = (x_i - x'_i) * integral_0^1 d score / d x_i (x' + a (x - x')) da
//
// with the integral as a Riemann sum over m steps: 'trapezoid' (a = k/m, k = 0..m, end weights
// 1/2m, inner 1/m) or 'midpoint' (a = (k + 1/2)/m, k = 0..m-1, weights 1/m). The baseline x' is
// a black image (0 in pixel space, i.e. (0 - mean) / std in input space) or the image blurred
// (Gaussian, sigma in pixels). Completeness says sum(attr) = f(x) - f(x'); the result reports the
// gap |sum(attr) - (f(x) - f(x'))| / |f(x) - f(x')|, which shrinks as m grows. Path points are
// made on the GPU (broadcastSamples, one dispatch per batch) and go through the network `batch`
// at a time; the pixel map is the sum of attr over channels.

import type { Model } from '../models/graph';
import { broadcastSamples } from '../ops/batch_input';
import { Tensor } from '../tensor';
import { blackPixel, channelSum, gradientBatch, inBatches, uploadImage, type InputImage, type ScoreKind } from './attribution';
import { blurred } from './faithfulness';
import { attributionViews, finish, prepare, presentAttribution, type AttributionBase } from './attribution_present';
import { FAITHFULNESS_OPTIONS } from './faithfulness';
import { CLASS_OPTION, SCORE_OPTION } from './resolve';
import type { Options, Technique, TechniqueContext } from './technique';

export type IgBaseline = 'black' | 'blurred';
export type IgRule = 'trapezoid' | 'midpoint';

export interface IgOptions {
  steps: number;
  baseline: IgBaseline;
  /** Blur sigma of the 'blurred' baseline, in input pixels. */
  blurSigma: number;
  rule: IgRule;
  batch: number;
  score: ScoreKind;
}

export interface IgMap {
  /** Attributions (C, H, W). */
  attributions: Float32Array;
  /** Sum over channels, (H, W). */
  map: Float32Array;
  /** f(x), f(x'), sum(attr) and the relative completeness gap. */
  score: number;
  baselineScore: number;
  sum: number;
  gap: number;
}

/** The path's alphas and their Riemann weights. */
export function pathPoints(steps: number, rule: IgRule): { alphas: number[]; weights: number[] } {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`integrated-gradients: --steps must be a positive integer, got ${steps}`);
  if (rule === 'midpoint') return { alphas: Array.from({ length: steps }, (_, k) => (k + 0.5) / steps), weights: new Array(steps).fill(1 / steps) };
  const alphas = Array.from({ length: steps + 1 }, (_, k) => k / steps);
  return { alphas, weights: alphas.map((_, k) => (k === 0 || k === steps ? 0.5 : 1) / steps) };
}

export async function baselineOf(model: Model, x: InputImage, kind: IgBaseline, sigma: number): Promise<Float32Array> {
  if (kind === 'blurred') return blurred(model, x, sigma);
  const black = blackPixel(model);
  const hw = x.h * x.w;
  return Float32Array.from({ length: x.data.length }, (_, i) => black[Math.floor(i / hw)]);
}

export async function integratedGradients(model: Model, x: InputImage, index: number, o: IgOptions, ctx: TechniqueContext = { model }): Promise<IgMap> {
  const base = await baselineOf(model, x, o.baseline, o.blurSigma);
  const { alphas, weights } = pathPoints(o.steps, o.rule);
  const n = x.data.length;
  // Samples 0 and 1 are x and x' themselves (their scores), then the path.
  const total = alphas.length + 2;
  const acc = new Float64Array(n);
  const ends = [0, 0];
  const alpha = [1, 0, ...alphas];
  const image = uploadImage(model, x, 'integrated-gradients image');
  const baseT = Tensor.fromData(model.rt, base, [1, x.c, x.h, x.w], 'integrated-gradients baseline');
  await inBatches(model, x, {
    total,
    batch: o.batch,
    make: (start, count) => broadcastSamples(image, count, { base: baseT, scaleX: alpha.slice(start, start + count) }),
    use: async (batch, start, count) => {
      const { grad, scores } = await gradientBatch(model, batch, index, o.score);
      for (let s = 0; s < count; s++) {
        const k = start + s;
        if (k < 2) ends[k] = scores[s];
        else for (let i = 0; i < n; i++) acc[i] += weights[k - 2] * grad[s * n + i];
      }
    },
  }, ctx, 'integrated-gradients').finally(() => {
    image.dispose();
    baseT.dispose();
  });
  const attributions = Float32Array.from(acc, (g, i) => g * (x.data[i] - base[i]));
  let sum = 0;
  for (const v of attributions) sum += v;
  const diff = ends[0] - ends[1];
  return { attributions, map: channelSum(attributions, x.c, x.h * x.w), score: ends[0], baselineScore: ends[1], sum, gap: Math.abs(sum - diff) / Math.abs(diff) };
}

// ---- the technique ------------------------------------------------------------------------------

export interface IgResult extends AttributionBase {
  ig: IgMap;
}

export const integratedGradientsTechnique: Technique<Options, IgResult> = {
  name: 'integrated-gradients',
  title: 'Integrated gradients',
  group: 'gradients',
  description: 'Sundararajan et al. (2017): integrate the gradient along the straight path from a baseline (black or blurred) to the image and multiply by the difference; the attributions add up to the change in score (completeness).',
  needsImage: true,
  options: [
    CLASS_OPTION,
    SCORE_OPTION,
    { kind: 'int', name: 'steps', help: 'Riemann steps m along the path (paper: 20-300)', default: 50, min: 1 },
    { kind: 'enum', name: 'baseline', choices: ['black', 'blurred'], help: 'path start: a black image, or the image blurred', default: 'black' },
    { kind: 'number', name: 'baselineBlur', help: "blurred baseline's Gaussian sigma, in input pixels", default: 5, min: 0 },
    { kind: 'enum', name: 'rule', choices: ['trapezoid', 'midpoint'], help: 'Riemann rule of the path integral', default: 'trapezoid' },
    { kind: 'int', name: 'batch', help: 'path points per forward / backward pass', default: 16, min: 1 },
    ...FAITHFULNESS_OPTIONS,
  ],
  async run(ctx, o) {
    const { x, target, t0 } = await prepare(ctx, o, 'integrated-gradients');
    const ig = await integratedGradients(ctx.model, x, target.index, {
      steps: Number(o.steps), baseline: o.baseline as IgBaseline, blurSigma: Number(o.baselineBlur), rule: o.rule as IgRule, batch: Number(o.batch), score: target.score,
    }, ctx);
    return { ...(await finish(ctx, o, x, target, ig.map, t0)), ig };
  },
  present(r, ctx) {
    const { h, w, c } = r.input;
    const { attributions, map, score, baselineScore, sum, gap } = r.ig;
    const views = attributionViews(ctx.model, r.input, map, w, h, 'integrated gradients summed over channels', { normalize: 'symmetric' });
    return presentAttribution(r, views, { data: attributions, shape: [c, h, w], meaning: "attributions (C, H, W), channels in the model's input order" }, {
      scoreAtInput: score, scoreAtBaseline: baselineScore, sumOfAttributions: sum, completenessGap: gap,
    });
  },
};
