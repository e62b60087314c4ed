// Saliency maps (Simonyan, Vedaldi and Zisserman, "Deep Inside Convolutional Networks: Visualising
// Image Classification Models and Saliency Maps", ICLR workshop 2014, section 3.1):
//
//   M(i, j) = max over channels c of | d S / d x(c, i, j) |
//
// S the class score (the logit by default, as in the paper, or the probability) and x the
// network's preprocessed input. One forward and one vanilla backward.

import type { Model } from '../index';
import { rgbFromTensor } from '../display/index';
import { channelMaxAbs, type ScoreKind } from './attribution';
import { mapViews, since, targetSummary } from './present';
import { CLASS_OPTION, forwardTarget, inputTensor, SCORE_OPTION, type Target } from './resolve';
import type { RgbaImage, Technique, TechniqueContext } from './technique';

export interface SaliencyOptions extends Record<string, string> {
  class: string;
  score: ScoreKind;
}

export interface SaliencyResult {
  /** max_c |d score / d x|, (H, W). */
  map: Float32Array;
  /** d score / d x, (3, H, W) in the model's channel order. */
  gradient: Float32Array;
  width: number;
  height: number;
  /** The network's input as a picture (after resize and crop). */
  image: RgbaImage;
  target: Target;
  ms: number;
}

/** The input gradient of the target's score (vanilla backward) and the image the network saw. */
export async function classGradient(model: Model, ctx: TechniqueContext, cls: string, score: ScoreKind, technique: string): Promise<{ gradient: Float32Array; image: RgbaImage; target: Target; width: number; height: number }> {
  const x = inputTensor(model, ctx.image, technique);
  try {
    const image = rgbFromTensor(await x.read(), x.w, x.h, model.spec.input);
    const target = await forwardTarget(model, x, cls, score, technique);
    const g = model.backward({ kind: 'class', index: target.index, layer: target.seedLayer }, { rule: 'vanilla' });
    try {
      return { gradient: await g.read(), image, target, width: x.w, height: x.h };
    } finally {
      g.dispose();
    }
  } finally {
    x.dispose();
  }
}

export const saliency: Technique<SaliencyOptions, SaliencyResult> = {
  name: 'saliency',
  title: 'Saliency map',
  group: 'gradients',
  description:
    'Which input pixels the class score is most sensitive to: the largest absolute gradient of the score over the three colour channels at each pixel (Simonyan, Vedaldi and Zisserman, 2014).',
  needsImage: true,
  options: [CLASS_OPTION, SCORE_OPTION],
  async run(ctx, o) {
    const t0 = performance.now();
    ctx.onProgress?.(0, 1);
    const r = await classGradient(ctx.model, ctx, o.class, o.score, 'saliency');
    ctx.onProgress?.(1, 1);
    return { ...r, map: channelMaxAbs(r.gradient, 3, r.width * r.height), ms: since(t0) };
  },
  present(r) {
    return {
      views: mapViews(r.image, r.map, r.width, r.height, `saliency |d ${r.target.score} / d input|`),
      raw: { data: r.map, shape: [r.height, r.width], meaning: `max over input channels of |d ${r.target.score}(class ${r.target.index}) / d x|, x the preprocessed input (H, W)` },
      summary: { ...targetSummary(r.target), inputSize: [r.height, r.width], mapMax: r.map.reduce((a, b) => Math.max(a, b), 0), ms: r.ms },
    };
  },
};
