// The image-optimization loops of `npm run bench -- --techniques` (issue 8): one case per
// technique (class-vis, neuron-vis in both parameterizations, fool, deepdream, invert, style),
// each a parameterization + objective + optimizer + penalties, run on our engine through the
// optvis loop (engine/techniques/optvis/loop.ts: optimize()) and written again with TF.js
// (tf_optvis.ts). No transforms on either side (jitter / scale / rotate are not timed); the
// objective is read back at step 1, every 10th step and the last, on both sides.

import type { Model } from '../../engine/index';
import { gram } from '../../engine/ops/gram';
import {
  channelMean, classLogit, featureMatch, fourierParam, gramMatch, inputRange, layerL2, loopSettings, maximize, minimize, optimize, pixelParam, type Objective, type Term,
} from '../../engine/techniques/optvis/index';
import { Tensor } from '../../engine/tensor';
import { randomArray } from '../lib/random';

export type OptvisObjective =
  | { kind: 'class'; index: number }
  | { kind: 'channel'; layer: string; channel: number }
  | { kind: 'l2'; layer: string }
  | { kind: 'feature'; layer: string }
  | { kind: 'gram'; layers: string[] };

export interface OptvisCase {
  technique: 'class-vis' | 'neuron-vis' | 'fool' | 'deepdream' | 'invert' | 'style';
  param: 'pixel' | 'fourier';
  /** Pixel start: zeros, seeded noise, or the (random) reference image. */
  init: 'zeros' | 'noise' | 'image';
  objective: OptvisObjective;
  optimizer: 'ascent' | 'normalized' | 'adam';
  lr: number;
  maximize: boolean;
  l2: number;
  tv: number;
}

/** Layers the cases read, per network: a middle layer and two style layers. */
const LAYERS: Record<string, { mid: string; style: [string, string] }> = {
  tinyvgg: { mid: 'conv_2_1', style: ['conv_1_2', 'conv_2_1'] },
  squeezenet1_1: { mid: 'fire5/concat', style: ['fire2/concat', 'fire4/concat'] },
  googlenet: { mid: 'inception_4a/output', style: ['conv2/3x3', 'inception_3b/output'] },
};

export function optvisCases(network: string): OptvisCase[] {
  const l = LAYERS[network];
  if (!l) throw new Error(`optvis bench: no layers chosen for network '${network}' (known: ${Object.keys(LAYERS).join(', ')})`);
  const base = { param: 'pixel', init: 'noise', optimizer: 'adam', lr: 0.05, maximize: true, l2: 0, tv: 0 } as const;
  return [
    { ...base, technique: 'class-vis', init: 'zeros', objective: { kind: 'class', index: 1 }, optimizer: 'ascent', lr: 1, l2: 1e-3 },
    { ...base, technique: 'neuron-vis', objective: { kind: 'channel', layer: l.mid, channel: 3 } },
    { ...base, technique: 'neuron-vis', param: 'fourier', objective: { kind: 'channel', layer: l.mid, channel: 3 } },
    { ...base, technique: 'fool', init: 'image', objective: { kind: 'class', index: 2 }, optimizer: 'normalized', lr: 0.01 },
    { ...base, technique: 'deepdream', init: 'image', objective: { kind: 'l2', layer: l.mid }, optimizer: 'normalized', lr: 0.01 },
    { ...base, technique: 'invert', objective: { kind: 'feature', layer: l.mid }, maximize: false, tv: 1e-3 },
    { ...base, technique: 'style', objective: { kind: 'gram', layers: [...l.style] }, maximize: false },
  ];
}

export const caseName = (c: OptvisCase): string => `${c.technique} (${c.param})`;

/** The reference image of a case (fool, deepdream start; invert, style targets): seeded, in the valid input range. */
export function referenceImage(model: Pick<Model, 'spec'>, h: number, w: number): Float32Array {
  const { lo, hi } = inputRange(model as Model);
  const hw = h * w;
  const u = randomArray(3 * hw, 31, 0.5);
  return Float32Array.from(u, (v, i) => {
    const c = Math.floor(i / hw);
    return (lo[c] + hi[c]) / 2 + v * (hi[c] - lo[c]);
  });
}

/** The 'noise' start of both sides: seeded, std about 0.06 (1, 3, H, W). */
export const startNoise = (h: number, w: number): Float32Array => randomArray(3 * h * w, 61, 0.1);

/** Our side of one case: the objective (targets from the reference image) bound once, one optimize() per call. */
export interface OurOptvis {
  run(steps: number): Promise<{ last: number | null }>;
  dispose(): void;
}

export function ourOptvis(model: Model, c: OptvisCase, h: number, w: number): OurOptvis {
  const rt = model.rt;
  const owned: Tensor[] = [];
  const image = Tensor.fromData(rt, referenceImage(model, h, w), [1, 3, h, w], 'bench optvis image');
  owned.push(image);
  const target = (layer: string, asGram: boolean): Tensor => {
    model.forward(image, { until: layer });
    const a = model.activation(layer);
    const t = asGram ? gram(a) : Tensor.empty(rt, a.shape, `bench target ${layer}`);
    if (!asGram) a.copyTo(t);
    owned.push(t);
    return t;
  };
  const o = c.objective;
  let terms: Term[];
  if (o.kind === 'class') terms = [classLogit(model, o.index)];
  else if (o.kind === 'channel') terms = [channelMean(o.layer, o.channel)];
  else if (o.kind === 'l2') terms = [layerL2(o.layer)];
  else if (o.kind === 'feature') terms = [featureMatch(o.layer, target(o.layer, false))];
  else terms = o.layers.map((l) => gramMatch(l, target(l, true)));
  const objective: Objective = c.maximize ? maximize(...terms) : minimize(...terms);
  const settings = loopSettings({ lr: c.lr, l2: c.l2, tvWeight: c.tv, clipRange: c.param === 'pixel' });
  return {
    async run(steps) {
      const param = c.param === 'fourier'
        ? fourierParam(model, { height: h, width: w, seed: 1 })
        : pixelParam(model, { height: h, width: w, init: c.init === 'image' ? image : c.init === 'noise' ? startNoise(h, w) : 'zeros' });
      try {
        const r = await optimize({ model, objective, param, optimizer: c.optimizer, steps, settings, objectiveEvery: 10 });
        return { last: r.last };
      } finally {
        param.dispose();
      }
    },
    dispose: () => owned.forEach((t) => t.dispose()),
  };
}
