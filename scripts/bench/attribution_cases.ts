// The attribution rows of `npm run bench -- --techniques` (issue 7): each technique at batch 1 on
// our engine and in TF.js (tf_techniques.ts), both ending with the result on the CPU. Where a
// technique function of engine/techniques/ does only what TF.js does, it is called as is (Grad-CAM:
// gradCam(), occlusion: occlude()); where it reads every batch's gradients back and sums them on
// the CPU (SmoothGrad, integrated gradients), or reads the whole gradient and the input picture
// (saliency, guided), the same computation goes through the engine API instead, reduced on the
// GPU, one read at the end. `how` says which, and is printed beside the row.

import type { Model } from '../../engine/index';
import { broadcastSamples } from '../../engine/ops/batch_input';
import { addScaled, axpy, mul } from '../../engine/ops/elementwise';
import { reduceBatch, reduceChannels } from '../../engine/ops/reduce';
import { blackPixel, channelMeans, type InputImage } from '../../engine/techniques/attribution';
import { gradCam } from '../../engine/techniques/gradcam';
import { occlude } from '../../engine/techniques/occlusion';
import { Tensor } from '../../engine/tensor';
import type * as TF from '@tensorflow/tfjs-core';
import { nchwToNhwc } from './data';
import {
  tfGradCam, tfGuided, tfIntegratedGradients, tfOcclusion, tfOcclusionMasks, tfSaliency, tfSmoothGrad, type TfModel,
} from './tf_techniques';

/** SmoothGrad's n and sigma (fraction of the input range), integrated gradients' m, the batch, the occlusion grid. */
export interface AttributionCounts {
  smoothN: number;
  smoothSigma: number;
  igSteps: number;
  batch: number;
  occlusionGrid: number;
}

/** The settings: SmoothGrad n = 16, IG m = 32, an 8 x 8 grid of occlusion windows. */
export const ATTRIBUTION: AttributionCounts = { smoothN: 16, smoothSigma: 0.15, igSteps: 32, batch: 16, occlusionGrid: 8 };
/** --quick on a CPU adapter (SwiftShader): fewer samples, printed in the rows. */
export const QUICK_ATTRIBUTION: AttributionCounts = { ...ATTRIBUTION, smoothN: 4, igSteps: 4, occlusionGrid: 2 };

/** The row names (each case's `technique`), from the counts alone: the Node side selects rows by them before any model loads. */
export const attributionNames = (k: AttributionCounts) => ({
  saliency: 'saliency', guided: 'guided', gradcam: 'gradcam', occlusion: `occlusion ${k.occlusionGrid}x${k.occlusionGrid}`, smoothgrad: `smoothgrad n=${k.smoothN}`, ig: `ig m=${k.igSteps}`,
});

export interface AttributionCase {
  technique: string;
  /** How our side is computed (technique function or engine API), printed with the row. */
  how: string;
  /** 'chw': ours (C, H, W), TF.js (H, W, C); 'map': both the same (H, W) or flat order. */
  layout: 'chw' | 'map';
  /** Whether it takes a gradient through the network (all but occlusion, which is forward only). */
  backward: boolean;
  ours(): Promise<Float32Array>;
  tfjs: (() => Promise<Float32Array>) | null;
}

export interface AttributionSet {
  cases: AttributionCase[];
  dispose(): void;
}

/** The Grad-CAM layer: the technique's own default (defaultCamLayer). */
export function attributionCases(model: Model, tfm: TfModel | null, x: InputImage, index: number, opts: { camLayer: string; counts?: AttributionCounts }): AttributionSet {
  const rt = model.rt;
  const { c, h, w } = x;
  const image = Tensor.fromData(rt, x.data, [1, c, h, w], 'bench attribution image');
  const black = blackPixel(model);
  const baseData = Float32Array.from({ length: c * h * w }, (_, i) => black[Math.floor(i / (h * w))]);
  const base = Tensor.fromData(rt, baseData, [1, c, h, w], 'bench ig baseline');
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const counts = opts.counts ?? ATTRIBUTION;
  const { batch, smoothN, igSteps, occlusionGrid } = counts;
  const noise = counts.smoothSigma * (hi - lo);
  const patch = Math.floor(Math.min(h, w) / occlusionGrid);

  const read = async (t: Tensor, also: Tensor[] = []): Promise<Float32Array> => {
    try {
      return await t.read();
    } finally {
      [t, ...also].forEach((u) => u.dispose());
    }
  };
  const gradOf = (xb: Tensor, rule: 'vanilla' | 'guided' = 'vanilla'): Tensor => {
    model.forward(xb);
    return model.backward({ kind: 'class', index }, { rule });
  };
  const ours = {
    saliency: () => {
      const g = gradOf(image);
      return read(reduceChannels(g, 'maxAbs'), [g]);
    },
    guided: () => read(gradOf(image, 'guided')),
    gradcam: async () => {
      const r = await gradCam(model, x, index, { layer: opts.camLayer, score: 'logit', guided: false });
      return Float32Array.from([...r.cam, ...r.map]);
    },
    occlusion: async () => (await occlude(model, x, index, { patch, stride: patch, batch, fill: 'mean' })).probs,
    smoothgrad: () => {
      const xb = broadcastSamples(image, smoothN, { noiseSigma: noise, seed: 7 });
      const g = gradOf(xb);
      const m = reduceBatch(g, 'mean');
      return read(reduceChannels(m, 'maxAbs'), [xb, g, m]);
    },
    ig: () => {
      const acc = Tensor.zeros(rt, [1, c, h, w], 'bench ig sum');
      for (let start = 0; start < igSteps; start += batch) {
        const count = Math.min(batch, igSteps - start);
        const xb = broadcastSamples(image, count, { base, scaleX: Array.from({ length: count }, (_, k) => (start + k + 0.5) / igSteps) });
        const g = gradOf(xb);
        const s = reduceBatch(g, 'sum');
        addScaled(acc, 1 / igSteps, s);
        [xb, g, s].forEach((t) => t.dispose());
      }
      const diff = axpy(1, image, -1, base);
      return read(mul(diff, acc, diff), [acc]);
    },
  };

  let tfPart: { x: TF.Tensor4D; base: TF.Tensor4D; occ: ReturnType<typeof tfOcclusionMasks> } | null = null;
  if (tfm) {
    const { tf } = tfm;
    const windows = [{ y: h, x: 0, size: 1 }];
    for (let y = 0; y + patch <= h; y += patch) for (let left = 0; left + patch <= w; left += patch) windows.push({ y, x: left, size: patch });
    tfPart = {
      x: tf.tensor4d(nchwToNhwc(x.data, [1, c, h, w]), [1, h, w, c]),
      base: tf.tensor4d(nchwToNhwc(baseData, [1, c, h, w]), [1, h, w, c]),
      occ: tfOcclusionMasks(tf, h, w, windows, batch, channelMeans(x)),
    };
  }
  const t = tfPart;
  const tfjs = (f: (p: NonNullable<typeof tfPart>, m: TfModel) => Promise<Float32Array>) => (t && tfm ? () => f(t, tfm) : null);
  const name = attributionNames(counts);
  const cases: AttributionCase[] = [
    { technique: name.saliency, backward: true, how: 'engine API: forward, backward, reduceChannels maxAbs, read (H, W)', layout: 'map', ours: ours.saliency, tfjs: tfjs((p, m) => tfSaliency(m, p.x, index)) },
    { technique: name.guided, backward: true, how: "engine API: backward rule 'guided', read (3, H, W)", layout: 'chw', ours: ours.guided, tfjs: tfjs((p, m) => tfGuided(m, p.x, index)) },
    {
      technique: name.gradcam, backward: true, how: `gradCam() (technique function: reads A and dA at ${opts.camLayer}, CAM + resize on the CPU)`, layout: 'map', ours: ours.gradcam,
      tfjs: tfjs(async (p, m) => {
        const r = await tfGradCam(m, p.x, index, opts.camLayer);
        return Float32Array.from([...r.cam, ...r.map]);
      }),
    },
    {
      technique: name.occlusion, backward: false, how: `occlude() (technique function: ${occlusionGrid}x${occlusionGrid} windows of ${patch} px, batches of ${batch}, probabilities read per batch)`, layout: 'map', ours: ours.occlusion,
      tfjs: tfjs(async (p, m) => (await tfOcclusion(m, p.x, index, p.occ)).subarray(1)),
    },
    { technique: name.smoothgrad, backward: true, how: 'engine API: broadcastSamples noise, one batch, reduceBatch mean + maxAbs on the GPU, read (H, W)', layout: 'map', ours: ours.smoothgrad, tfjs: tfjs((p, m) => tfSmoothGrad(m, p.x, index, smoothN, noise, 7)) },
    { technique: name.ig, backward: true, how: `engine API: broadcastSamples path (midpoint), batches of ${batch}, sums on the GPU, read (3, H, W)`, layout: 'chw', ours: ours.ig, tfjs: tfjs((p, m) => tfIntegratedGradients(m, p.x, p.base, index, igSteps, batch)) },
  ];
  return {
    cases,
    dispose() {
      image.dispose();
      base.dispose();
      if (t) [t.x, t.base].forEach((u) => u.dispose());
      t?.occ.dispose();
    },
  };
}
