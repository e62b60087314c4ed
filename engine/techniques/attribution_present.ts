// The frame every attribution technique (occlusion, Grad-CAM, SmoothGrad, integrated gradients)
// shares around its own numerics: the image as input data plus the explained class (prepare),
// the optional faithfulness block (deletion / insertion curves of its pixel map), and the views:
// the map as an overlay on the input and alone with its colour scale (presentAttribution).

import type { HeatmapOptions } from '../display/heatmap';
import { rgbFromTensor } from '../display/tensor';
import type { Model } from '../models/graph';
import type { InputImage } from './attribution';
import { faithfulness, faithfulnessSummary, type FaithfulnessScores } from './faithfulness';
import { curvePlot } from './faithfulness_plot';
import { mapViews, since, targetSummary } from './present';
import { forwardTarget, inputTensor, type Target } from './resolve';
import type { Options, Presentation, TechniqueContext, View } from './technique';

/** What every attribution result carries besides its own data. */
export interface AttributionBase {
  model: string;
  target: Target;
  input: InputImage;
  /** The pixel map (H, W) that faithfulness orders pixels by (higher = more important). */
  attributionMap: Float32Array;
  faithfulness?: FaithfulnessScores;
  /** The options it ran with (the summary lists them). */
  options: Options;
  ms: number;
}

/** The image as input data and the explained class (option `class`, default the top-1), scored as `score`. */
export async function prepare(ctx: TechniqueContext, o: Options, technique: string): Promise<{ x: InputImage; target: Target; t0: number }> {
  const t0 = performance.now();
  const t = inputTensor(ctx.model, ctx.image, technique);
  try {
    const target = await forwardTarget(ctx.model, t, String(o.class ?? ''), o.score === 'prob' ? 'prob' : 'logit', technique);
    return { x: { data: await t.read(), c: t.c, h: t.h, w: t.w }, target, t0 };
  } finally {
    t.dispose();
  }
}

/** The result's common part, with the faithfulness curves of `map` when option `faithfulness` is on. */
export async function finish(ctx: TechniqueContext, o: Options, x: InputImage, target: Target, map: Float32Array, t0: number): Promise<AttributionBase> {
  const base: AttributionBase = { model: ctx.model.spec.name, target, input: x, attributionMap: map, options: o, ms: 0 };
  if (o.faithfulness === true) {
    base.faithfulness = await faithfulness(ctx.model, x, target.index, map, {
      steps: Number(o.faithSteps), batch: Number(o.batch ?? 16), blurSigma: Number(o.faithBlur), seed: 0, region: Number(o.faithRegion ?? 1),
    }, ctx);
  }
  base.ms = since(t0);
  return base;
}

/**
 * Views of an attribution map (h, w), any size, drawn at the input's size over the picture the
 * network saw (present.ts mapViews: '' the overlay, 'heatmap' the map with its colour scale).
 */
export function attributionViews(model: Model, x: InputImage, values: Float32Array, w: number, h: number, what: string, opts: HeatmapOptions = {}): View[] {
  return mapViews(rgbFromTensor(x.data, x.w, x.h, model.spec.input), values, w, h, what, opts);
}

/** The summary fields every attribution technique reports. */
export function baseSummary(r: AttributionBase): Record<string, unknown> {
  return {
    model: r.model,
    ...targetSummary(r.target),
    input: { height: r.input.h, width: r.input.w },
    ms: r.ms,
    ...(r.faithfulness ? { faithfulness: faithfulnessSummary(r.faithfulness) } : {}),
  };
}

/** A Presentation from views, the raw array and the technique's own summary fields (plus the curves' plot). */
export function presentAttribution(r: AttributionBase, views: View[], raw: Presentation['raw'], own: Record<string, unknown>): Presentation {
  const plot: View[] = r.faithfulness ? [{ suffix: 'faithfulness', meaning: 'deletion / insertion curves: class probability vs fraction of pixels changed', image: curvePlot(r.faithfulness) }] : [];
  return { views: [...views, ...plot], raw, summary: { ...baseSummary(r), ...own } };
}
