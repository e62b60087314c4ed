// Feature inversion (Mahendran and Vedaldi, "Understanding Deep Image Representations by Inverting
// Them", CVPR 2015): reconstruct an image from what one layer keeps of it. From seeded noise,
// minimize on the optvis loop (Adam on the pixels, the valid range clipped):
//
//   ||phi(x) - phi0||^2 / ||phi0||^2                       the feature loss (objectives.featureMatch)
//   + tvWeight * TV_beta(x / V) / (H W)                      total variation (WGSL tv / tvBackward),
//                                                            V = B / 6.5 (the paper's normalization)
//   + the alpha-norm prior N_alpha(u) = mean u^alpha,  u = (x - mid-gray) / B, B = 80 levels
//
// The alpha-norm (alpha even, 6 in the paper) is applied as a decoupled step after each update, as
// AdamW applies weight decay: x -= lr * alphaWeight * u^(alpha - 1) (elementwise products on the
// GPU), so pixels far outside +-B are pulled back much harder than those inside.
// `--layers a,b,c` inverts each layer from the same noise and shows them side by side.

import type { Model } from '../models/graph';
import { addScaled, axpy, fill, mul } from '../ops/elementwise';
import { reduceSamples } from '../ops/reduce';
import { grid, rgbFromTensor, type RgbaImage } from '../display/index';
import { Tensor } from '../tensor';
import { inputAt, layerList, levelUnit, levelUnits, lrOption, noiseStart, SEED_OPTION, sizeOption, stepsOption, tvLoopWeight } from './image_opt';
import { featureMatch, minimize, optimize, pixelParam, loopSettings, inputRange } from './optvis/index';
import { liveLoop } from './optvis/live';
import { enlarge, since, TILE_TARGET } from './present';
import { layerChoices, resolveLayer } from './resolve';
import { throwIfAborted, type Technique, type TechniqueContext } from './technique';

/** The paper's pixel range constant B (8-bit levels, mean-subtracted images). */
export const INVERT_B = 80;

export interface InvertOptions extends Record<string, string | number> {
  layer: string;
  layers: string;
  steps: number;
  lr: number;
  alpha: number;
  alphaWeight: number;
  tvWeight: number;
  tvBeta: number;
  noise: number;
  size: number;
  seed: number;
}

export interface Inversion {
  layer: string;
  /** The reconstruction as a picture and as network input (3, H, W). */
  image: RgbaImage;
  input: Float32Array;
  /** The feature loss ||phi(x) - phi0||^2 / ||phi0||^2 at the noise start and at the end. */
  loss: { start: number; end: number };
  iterations: number;
}

export interface InvertResult {
  original: RgbaImage;
  inversions: Inversion[];
  width: number;
  height: number;
  ms: number;
}

/** The default layer: the middle conv layer. */
function defaultLayer(model: Model): string {
  const convs = layerChoices(model, ['conv']);
  return convs.length ? convs[Math.floor((convs.length - 1) / 2)].name : '';
}

/** ||phi(x) - phi0||^2 / ||phi0||^2 of x at `layer` (one forward). */
export async function featureLoss(model: Model, x: Tensor, layer: string, phi0: Tensor): Promise<number> {
  const a = model.forward(x, { until: layer, keep: false });
  const d = axpy(1, a, -1, phi0);
  const num = reduceSamples(d, 'sumSquares');
  const den = reduceSamples(phi0, 'sumSquares');
  try {
    return (await num.read())[0] / Math.max((await den.read())[0], 1e-30);
  } finally {
    for (const t of [d, num, den]) t.dispose();
  }
}

/**
 * The alpha-norm step on pixels x (N, 3, H, W): x -= rate * u^(alpha - 1), u = (x - mid) / B per
 * channel. Scratch allocated once; apply() allocates nothing.
 */
export function alphaNormStep(model: Model, shape: readonly number[], alpha: number): { apply(x: Tensor, rate: number): void; dispose(): void } {
  if (!(Number.isInteger(alpha) && alpha >= 2 && alpha % 2 === 0)) throw new Error(`invert: --alpha must be an even integer >= 2 (the paper: 6), got ${alpha}`);
  const { lo, hi } = inputRange(model);
  const b = levelUnits(model).map((u) => INVERT_B * u);
  const u = Tensor.empty(model.rt, shape, 'alpha-norm u');
  const sq = Tensor.empty(model.rt, shape, 'alpha-norm u^2');
  const p = Tensor.empty(model.rt, shape, 'alpha-norm u^(alpha-1)');
  return {
    apply(x, rate) {
      for (let c = 0; c < 3; c++) addScaled(fill(u.channels(c, 1), -(lo[c] + hi[c]) / 2 / b[c]), 1 / b[c], x.channels(c, 1));
      if (alpha === 2) {
        addScaled(x, -rate, u);
        return;
      }
      mul(u, u, sq);
      mul(u, sq, p);
      for (let k = 3; k < alpha - 1; k += 2) mul(p, sq, p);
      addScaled(x, -rate, p);
    },
    dispose: () => [u, sq, p].forEach((t) => t.dispose()),
  };
}

/** Invert one layer from the noise `start`; phi0 is the image's activation (copied here). */
async function invertLayer(model: Model, x0: Tensor, start: Tensor, layer: string, o: InvertOptions, ctx: TechniqueContext, offset: number, total: number): Promise<Inversion> {
  model.forward(x0, { until: layer, keep: false });
  const act = model.activation(layer);
  const phi0 = Tensor.empty(model.rt, act.shape, `invert phi0 ${layer}`);
  act.copyTo(phi0);
  const [n, , h, w] = start.shape;
  const param = pixelParam(model, { n, height: h, width: w, init: start });
  const lr = o.lr * levelUnit(model);
  const prior = o.alphaWeight > 0 ? alphaNormStep(model, start.shape, o.alpha) : null;
  try {
    const startLoss = await featureLoss(model, start, layer, phi0);
    const settings = loopSettings({ lr, clipRange: true, tvWeight: tvLoopWeight(model, h, w, o.tvWeight, o.tvBeta), tvBeta: o.tvBeta });
    const r = await optimize({
      model, param, objective: minimize(featureMatch(layer, phi0)), optimizer: 'adam', steps: o.steps, settings, signal: ctx.signal,
      // The prior's step follows the loop's lr as it is now (a live run may change it).
      afterStep: prior ? (x) => prior.apply(x, settings.lr * o.alphaWeight) : undefined,
      ...liveLoop(ctx, {
        image: () => param.render(), settings, objectiveEvery: 0, offset, total,
        retune: (v) => ({ lr: Number(v.lr) * levelUnit(model), tvWeight: tvLoopWeight(model, h, w, Number(v.tvWeight), Number(v.tvBeta)), tvBeta: Number(v.tvBeta) }),
        onStep: (s) => ctx.onProgress?.(offset + s.iteration, total),
      }),
    });
    const x = param.params;
    return {
      layer, image: rgbFromTensor(await x.read(), w, h, model.spec.input), input: await x.read(),
      loss: { start: startLoss, end: await featureLoss(model, x, layer, phi0) }, iterations: r.iterations,
    };
  } finally {
    prior?.dispose();
    param.dispose();
    phi0.dispose();
  }
}

export const invert: Technique<InvertOptions, InvertResult> = {
  name: 'invert',
  title: 'Feature inversion',
  group: 'optimization',
  description:
    'Reconstructs an image from one layer\'s features: from noise, find the image whose features match the original\'s, with a total-variation and an alpha-norm prior keeping it natural (Mahendran and Vedaldi, 2015). Shallow layers give the image back almost exactly; deep ones keep what the network needs and lose the rest. Several layers side by side show what each keeps.',
  needsImage: true,
  options: [
    { kind: 'layer', name: 'layer', default: '', help: 'the layer to invert (default: the middle conv layer)' },
    { kind: 'string', name: 'layers', default: '', help: 'several layers, comma-separated, inverted side by side (overrides --layer; default: none)' },
    stepsOption(200),
    lrOption(4, 'Adam step size, in 8-bit levels'),
    { kind: 'int', name: 'alpha', default: 6, min: 2, help: 'exponent of the alpha-norm prior, even (the paper: 6)' },
    { kind: 'number', name: 'alphaWeight', default: 0.01, min: 0, help: 'weight of the alpha-norm step (0: off)' },
    { kind: 'number', name: 'tvWeight', default: 0.002, min: 0, help: 'weight of the normalized total variation TV(x / V) / (H W) (0: off)' },
    { kind: 'number', name: 'tvBeta', default: 2, min: 1, help: 'exponent beta of the total variation (the paper: 2 for images)' },
    { kind: 'number', name: 'noise', default: 20, min: 0, help: 'std of the start noise around mid-gray, in 8-bit levels' },
    sizeOption("image side in pixels (0: the model's input size)"),
    SEED_OPTION,
  ],
  liveOptions: ['lr', 'tvWeight', 'tvBeta'],
  async run(ctx, o) {
    const t0 = performance.now();
    const { model } = ctx;
    if (!ctx.image) throw new Error('invert: needs an input image');
    const names = layerList(o.layers).length ? layerList(o.layers) : [o.layer];
    const layers = names.map((v) => resolveLayer(model, v, 'invert', { fallback: defaultLayer(model), flag: layerList(o.layers).length ? 'layers' : 'layer' }).name);
    const x0 = inputAt(model, ctx.image, o.size);
    const [, , h, w] = x0.shape;
    const start = noiseStart(model, 1, h, w, o.noise, o.seed);
    try {
      const original = rgbFromTensor(await x0.read(), w, h, model.spec.input);
      const inversions: Inversion[] = [];
      for (const [k, layer] of layers.entries()) {
        throwIfAborted(ctx.signal);
        inversions.push(await invertLayer(model, x0, start, layer, o, ctx, k * o.steps, layers.length * o.steps));
      }
      throwIfAborted(ctx.signal);
      return { original, inversions, width: w, height: h, ms: since(t0) };
    } finally {
      x0.dispose();
      start.dispose();
    }
  },
  present(r) {
    const first = r.inversions[0];
    const tiles = [r.original, ...r.inversions.map((v) => v.image)].map((t) => enlarge(t, TILE_TARGET * 2));
    const labels = ['original', ...r.inversions.map((v) => v.layer)];
    const raw = new Float32Array(r.inversions.length * first.input.length);
    r.inversions.forEach((v, i) => raw.set(v.input, i * first.input.length));
    return {
      views: [
        { suffix: '', meaning: `the image reconstructed from layer ${first.layer}'s features (${r.width}x${r.height})`, image: first.image },
        { suffix: 'grid', meaning: `the original and its reconstructions from ${labels.slice(1).join(', ')}`, image: grid(tiles, { labels, pad: 3, cols: tiles.length }) },
      ],
      raw: { data: raw, shape: [r.inversions.length, 3, r.height, r.width], meaning: "the reconstructions as network input (layer, 3, H, W), in the model's channel order and normalization" },
      summary: {
        layers: r.inversions.map((v) => ({ layer: v.layer, featureLoss: v.loss, reduction: v.loss.start / Math.max(v.loss.end, 1e-30), iterations: v.iterations })),
        inputSize: [r.height, r.width], ms: r.ms,
      },
    };
  },
};
