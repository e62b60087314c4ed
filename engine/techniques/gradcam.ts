// Grad-CAM and guided Grad-CAM (Selvaraju et al., ICCV 2017) on any conv layer (or a concat of
// conv branches); the default is the last feature layer: the last conv / concat with a spatial map
// that is not the classifier itself (SqueezeNet: fire9/concat, GoogLeNet: inception_5b/output,
// TinyVGG: conv_2_2). One forward, one backward to the layer (model.gradients), the arithmetic in
// gradcam_math.ts; guided Grad-CAM adds one guided-backprop backward to the input.

import { resizeMap } from '../display/image';
import type { Model } from '../models/graph';
import { scoreLayer, uploadImage, type InputImage, type ScoreKind } from './attribution';
import { attributionViews, finish, prepare, presentAttribution, type AttributionBase } from './attribution_present';
import { FAITHFULNESS_OPTIONS } from './faithfulness';
import { camFromGradients, guidedCam } from './gradcam_math';
import { gradientImage } from './present';
import { CLASS_OPTION, layerOption, resolveLayer, SCORE_OPTION } from './resolve';
import type { Options, Technique } from './technique';

export interface GradCamOptions {
  /** '' = the default feature layer. */
  layer: string;
  score: ScoreKind;
  guided: boolean;
}

export interface GradCamMap {
  layer: string;
  /** The layer's (C, h, w). */
  shape: [number, number, number];
  /** alpha_c per channel. */
  weights: Float64Array;
  /** ReLU(sum_c alpha_c A_c), (h, w). */
  cam: Float32Array;
  /** cam upsampled to the input, (H, W). */
  map: Float32Array;
  /** Guided Grad-CAM (C, H, W) when asked for. */
  guided?: Float32Array;
  score: number;
}

export const CAM_LAYER_TYPES = ['conv', 'concat'] as const;

/**
 * The conv that computes the class scores, when the classifier is one (SqueezeNet's conv10): found
 * walking back from the logits through layers that are neither conv nor linear.
 */
function classifierConv(model: Model): string | undefined {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  let l = byName.get(model.spec.logits);
  while (l && l.type !== 'conv' && l.type !== 'linear' && l.inputs.length === 1) l = byName.get(l.inputs[0]);
  return l?.type === 'conv' ? l.name : undefined;
}

/** The last conv / concat with a spatial output that is not the classifier itself. */
export function defaultCamLayer(model: Model): string {
  const skip = classifierConv(model);
  const cands = model.layers.filter((l) => (CAM_LAYER_TYPES as readonly string[]).includes(l.type) && l.shape[1] * l.shape[2] > 1 && l.name !== skip);
  if (cands.length === 0) throw new Error(`gradcam: model '${model.spec.name}' has no conv layer with a spatial map`);
  return cands[cands.length - 1].name;
}

/** The layer option's value as a Grad-CAM layer ('' = the default), failing with the valid choices. */
export function camLayer(model: Model, value: string): string {
  return resolveLayer(model, value, 'gradcam', { types: CAM_LAYER_TYPES, fallback: defaultCamLayer(model) }).name;
}

export async function gradCam(model: Model, x: InputImage, index: number, o: GradCamOptions): Promise<GradCamMap> {
  const layer = camLayer(model, o.layer);
  const t = uploadImage(model, x, 'gradcam input');
  const seed = { kind: 'class' as const, index, layer: scoreLayer(model, o.score) };
  try {
    model.forward(t);
    const logits = await model.readActivation(seed.layer);
    const a = model.activation(layer);
    const [c, h, w] = [a.c, a.h, a.w];
    const aData = await a.read();
    const grads = model.gradients(seed, { layers: [layer] });
    const dA = grads.get(layer)!;
    const daData = await dA.read();
    dA.dispose();
    const { weights, cam } = camFromGradients(aData, daData, c, h, w);
    const map = resizeMap(cam, w, h, x.w, x.h, 'bilinear');
    let guided: Float32Array | undefined;
    if (o.guided) {
      const g = model.backward(seed, { rule: 'guided' });
      guided = guidedCam(await g.read(), map, x.c);
      g.dispose();
    }
    return { layer, shape: [c, h, w], weights, cam, map, guided, score: logits[index] };
  } finally {
    t.dispose();
  }
}

// ---- the technique ------------------------------------------------------------------------------

export interface GradCamResult extends AttributionBase {
  cam: GradCamMap;
}

export const gradcam: Technique<Options, GradCamResult> = {
  name: 'gradcam',
  title: 'Grad-CAM',
  group: 'gradients',
  description: 'Selvaraju et al. (2017): weight each channel of a conv layer by the mean gradient of the class score over it, sum, keep the positive part and upsample: where the class evidence sits. Guided Grad-CAM multiplies it into guided backprop for a sharp, class-specific picture.',
  needsImage: true,
  options: [
    CLASS_OPTION,
    SCORE_OPTION,
    layerOption('conv / concat layer (default: the last feature layer, e.g. fire9/concat, inception_5b/output)', CAM_LAYER_TYPES),
    { kind: 'bool', name: 'guided', help: 'also compute guided Grad-CAM (the map times the guided-backprop gradient)', default: false },
    ...FAITHFULNESS_OPTIONS,
  ],
  async run(ctx, o) {
    const { x, target, t0 } = await prepare(ctx, o, 'gradcam');
    const cam = await gradCam(ctx.model, x, target.index, { layer: String(o.layer), score: target.score, guided: o.guided === true });
    return { ...(await finish(ctx, o, x, target, cam.map, t0)), cam };
  },
  present(r, ctx) {
    const { layer, shape, weights, cam, map, guided } = r.cam;
    const { h, w } = r.input;
    const views = attributionViews(ctx.model, r.input, map, w, h, `Grad-CAM at ${layer}`, { normalize: 'minmax' });
    if (guided) views.push({ suffix: 'guided', meaning: 'guided Grad-CAM (guided backprop times the map) as RGB, 0 = mid-gray', image: gradientImage(guided, w, h, ctx.model.spec.input.channelOrder) });
    return presentAttribution(r, views, { data: map, shape: [h, w], meaning: `Grad-CAM at ${layer} upsampled to the input (H, W)` }, {
      layer, layerShape: shape, camAtLayer: Array.from(cam), channelWeights: Array.from(weights),
    });
  },
};
