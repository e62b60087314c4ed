// DeepDream (Mordvintsev, Olah and Tyka, "Inceptionism: Going Deeper into Neural Networks", 2015,
// and their deepdream.ipynb): amplify whatever a layer sees in an image. The objective is
// 0.5 ||A||^2 of the layer (its gradient seed is the activation itself), or of one channel, or,
// with a guide image, the dot product of A with the guide's features (here the guide's feature
// vector averaged over positions, at every position: the notebook instead matches each position to
// its best guide position). On the optvis loop, per octave, coarse to fine:
//
//   base_i   = the image resized by 1 / octaveScale^i (i = octaves-1 .. 0; bilinear on the GPU)
//   x        = base_i + detail (upscaled from the coarser octave; 0 at the coarsest)
//   steps x:   roll by a random (dy, dx) in [-jitter, jitter], forward to the layer, backward,
//              x += lr * g / mean|g| (the normalized step), pixels clipped to the valid range
//   detail   = x - base_i
//
// GoogLeNet's original settings are the defaults: inception_4c/output, step 1.5 (8-bit levels, as
// Caffe's 0..255 input), jitter 32, 10 steps per octave, 4 octaves, octave scale 1.4. Octaves
// smaller than the layer's smallest input are skipped (and reported).

import type { Model } from '../models/graph';
import { axpy, fill, scale } from '../ops/elementwise';
import { reduceSamples } from '../ops/reduce';
import { affine, affineMatrices } from '../ops/transform';
import { grid, rgbFromTensor, type RgbaImage } from '../display/index';
import { Tensor, type Shape4 } from '../tensor';
import { levelUnit, lrOption, networkImage, readImageOption, SEED_OPTION, sizeOption, stepsOption } from './image_opt';
import { dot, layerL2, maximize, optimize, pixelParam, loopSettings, rollJitter, type Objective, type Term } from './optvis/index';
import { liveLoop } from './optvis/live';
import { enlarge, since, TILE_TARGET } from './present';
import { inputTensor, resolveChannel, resolveLayer } from './resolve';
import { throwIfAborted, type OptionSpec, type Technique } from './technique';

export interface DeepDreamOptions extends Record<string, string | number> {
  layer: string;
  channel: number;
  steps: number;
  lr: number;
  jitter: number;
  octaves: number;
  octaveScale: number;
  guide: string;
  size: number;
  seed: number;
}

export interface DeepDreamResult {
  layer: string;
  channel: number | null;
  guided: boolean;
  /** The dream at the image's size, and as network input (3, H, W). */
  image: RgbaImage;
  input: Float32Array;
  /** The image after each octave, coarse to fine, with its (H, W). */
  octaves: { size: [number, number]; image: RgbaImage }[];
  /** Octaves skipped because the layer needs a larger input. */
  skipped: number;
  /** ||A|| of the objective's activation (layer, or channel) on the input and on the dream. */
  norm: { before: number; after: number };
  iterations: number;
  width: number;
  height: number;
  ms: number;
}

/** 0.5 ||A[:, c]||^2 of one channel (DeepDream on a channel; its gradient is A[:, c], zero elsewhere). */
export function channelL2(layer: string, channel: number, o: { weight?: number; preRelu?: boolean } = {}): Term {
  const weight = o.weight ?? 1;
  const name = `L2 ${layer}[${channel}]`;
  return {
    name, layer, preRelu: o.preRelu, weight,
    bind(rt, shape: Shape4) {
      if (!Number.isInteger(channel) || channel < 0 || channel >= shape[1]) throw new Error(`objective ${name}: channel ${channel} is outside the layer's ${shape[1]} channels`);
      const v = Tensor.empty(rt, [shape[0], 1, 1, 1], `${name} value`);
      return {
        gradient(act, grad, accumulate) {
          const a = act.channels(channel, 1);
          const g = grad.channels(channel, 1);
          if (accumulate) axpy(weight, a, 1, g, g);
          else {
            fill(grad, 0);
            scale(a, weight, g);
          }
        },
        value: (act) => scale(reduceSamples(act.channels(channel, 1), 'sumSquares', v), weight / 2, v),
        dispose: () => v.dispose(),
      };
    },
  };
}

/** x (N, C, H, W) resized to (height, width), bilinear with pixel centres aligned; caller-owned. */
export function resizeImage(x: Tensor, height: number, width: number): Tensor {
  const sx = x.w / width;
  const sy = x.h / height;
  const m = affineMatrices(x.rt, Array.from({ length: x.n }, () => [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5]));
  try {
    return affine(x, m, { pad: 'reflect', height, width });
  } finally {
    m.dispose();
  }
}

/** The default layer: GoogLeNet's inception_4c/output, else the conv / concat layer at 60% depth. */
function defaultLayer(model: Model): string {
  if (model.layers.some((l) => l.name === 'inception_4c/output')) return 'inception_4c/output';
  const ls = model.layers.filter((l) => l.type === 'conv' || l.type === 'concat');
  return ls.length ? ls[Math.floor(0.6 * (ls.length - 1))].name : '';
}

/** The guide's features at `layer` averaged over positions, one value per channel. */
async function guideMeans(model: Model, guide: RgbaImage, layer: string): Promise<Float32Array> {
  const x = inputTensor(model, guide, 'deepdream');
  try {
    const a = model.forward(x, { until: layer, keep: false });
    const [, c, h, w] = a.shape;
    const data = await a.read();
    return Float32Array.from({ length: c }, (_, k) => data.subarray(k * h * w, (k + 1) * h * w).reduce((s, v) => s + v, 0) / (h * w));
  } finally {
    x.dispose();
  }
}

/** ||A|| of the layer (or one channel) on input x. */
async function activationNorm(model: Model, x: Tensor, layer: string, channel: number | null): Promise<number> {
  const a = model.forward(x, { until: layer, keep: false });
  const ss = reduceSamples(channel === null ? a : a.channels(channel, 1), 'sumSquares');
  try {
    return Math.sqrt((await ss.read())[0]);
  } finally {
    ss.dispose();
  }
}

const OPTIONS: OptionSpec[] = [
  { kind: 'layer', name: 'layer', default: '', help: 'the layer to amplify (default: inception_4c/output on GoogLeNet, else the conv / concat layer at 60% depth)' },
  { kind: 'channel', name: 'channel', default: -1, help: 'amplify only this channel of the layer (-1: the whole layer)' },
  stepsOption(10, 'gradient steps per octave'),
  lrOption(1.5, 'step size lr in x += lr * g / mean|g|, in 8-bit levels'),
  { kind: 'int', name: 'jitter', default: 32, min: 0, help: 'random roll of the image before each step, up to this many pixels' },
  { kind: 'int', name: 'octaves', default: 4, min: 1, max: 12, help: 'number of scales, coarse to fine' },
  { kind: 'number', name: 'octaveScale', default: 1.4, min: 1, help: 'size ratio between octaves' },
  { kind: 'string', name: 'guide', default: '', help: "a guide image (file path or URL): maximize the dot product with its features instead (default: none)" },
  sizeOption("the image's shorter side in pixels (0: the image's own size)"),
  SEED_OPTION,
];

export const deepdream: Technique<DeepDreamOptions, DeepDreamResult> = {
  name: 'deepdream',
  title: 'DeepDream',
  group: 'optimization',
  description:
    'Amplifies what a layer sees in an image: gradient ascent on the squared norm of the layer\'s activation (its own activation is the gradient seed), over several octaves with random jitter, so the patterns the layer detects grow into the picture (Mordvintsev, Olah and Tyka, "Inceptionism", 2015). Optionally one channel, or a guide image whose features are amplified instead.',
  needsImage: true,
  options: OPTIONS,
  liveOptions: ['lr'],
  presets: {
    inceptionism: { layer: 'inception_4c/output', lr: 1.5, jitter: 32, steps: 10, octaves: 4, octaveScale: 1.4 },
  },
  async run(ctx, o) {
    const t0 = performance.now();
    const { model } = ctx;
    if (!ctx.image) throw new Error('deepdream: needs an input image');
    const info = resolveLayer(model, o.layer, 'deepdream', { fallback: defaultLayer(model) });
    const layer = info.name;
    const channel = o.channel >= 0 ? resolveChannel(info, o.channel, 'deepdream') : null;
    if (!(o.octaveScale >= 1) || !Number.isInteger(o.octaves) || o.octaves < 1) throw new Error(`deepdream: --octaves must be a positive integer and --octave-scale >= 1, got ${o.octaves} and ${o.octaveScale}`);
    const guide = o.guide.trim() !== '' ? await guideMeans(model, await readImageOption(o.guide, 'deepdream', 'guide'), layer) : null;
    const img = ctx.image;
    const f = o.size > 0 ? o.size / Math.min(img.width, img.height) : 1;
    const [h, w] = [Math.max(1, Math.round(img.height * f)), Math.max(1, Math.round(img.width * f))];
    const min = model.minInputSize(layer);
    const all = Array.from({ length: o.octaves }, (_, i) => [Math.round(h / o.octaveScale ** i), Math.round(w / o.octaveScale ** i)] as [number, number]);
    const sizes = all.filter(([a, b]) => Math.min(a, b) >= min).reverse();
    if (sizes.length === 0) throw new Error(`deepdream: a ${w}x${h} image is smaller than layer '${layer}' needs (${min}x${min}); give a larger --size or an earlier --layer`);
    const base = networkImage(model, img, h, w);
    const live: Tensor[] = [base];
    const octaves: DeepDreamResult['octaves'] = [];
    let detail: Tensor | null = null;
    let dream: Tensor | null = null;
    let iterations = 0;
    try {
      const before = await activationNorm(model, base, layer, channel);
      for (const [i, [oh, ow]] of sizes.entries()) {
        throwIfAborted(ctx.signal);
        const octaveBase = oh === h && ow === w ? base : resizeImage(base, oh, ow);
        if (octaveBase !== base) live.push(octaveBase);
        let start = octaveBase;
        if (detail) {
          const up = resizeImage(detail, oh, ow);
          start = axpy(1, up, 1, octaveBase);
          live.push(up, start);
        }
        const [c, lh, lw] = model.layerShape(layer, oh, ow);
        const guideT = guide ? Tensor.fromData(model.rt, Float32Array.from({ length: c * lh * lw }, (_, k) => guide[Math.floor(k / (lh * lw))]), [1, c, lh, lw], 'deepdream guide') : null;
        const objective: Objective = maximize(guideT ? dot(layer, guideT) : channel !== null ? channelL2(layer, channel) : layerL2(layer));
        const param = pixelParam(model, { height: oh, width: ow, init: start });
        try {
          const settings = loopSettings({ lr: o.lr * levelUnit(model), clipRange: true });
          const r = await optimize({
            model, param, objective, optimizer: 'normalized', transforms: rollJitter(o.jitter), steps: o.steps,
            seed: (o.seed + i * 7919) >>> 0, settings, signal: ctx.signal,
            ...liveLoop(ctx, {
              image: () => param.render(), settings, objectiveEvery: 0, offset: iterations, total: sizes.length * o.steps,
              retune: (v) => ({ lr: Number(v.lr) * levelUnit(model) }),
              onStep: (s) => ctx.onProgress?.(iterations + s.iteration, sizes.length * o.steps),
            }),
          });
          iterations += r.iterations;
          throwIfAborted(ctx.signal);
          dream = Tensor.empty(model.rt, param.shape, 'deepdream image');
          live.push(dream);
          param.params.copyTo(dream);
          detail = axpy(1, dream, -1, octaveBase);
          live.push(detail);
          octaves.push({ size: [oh, ow], image: rgbFromTensor(await dream.read(), ow, oh, model.spec.input) });
        } finally {
          param.dispose();
          guideT?.dispose();
        }
      }
      const after = await activationNorm(model, dream!, layer, channel);
      return {
        layer, channel, guided: guide !== null, image: octaves[octaves.length - 1].image, input: await dream!.read(), octaves,
        skipped: o.octaves - sizes.length, norm: { before, after }, iterations, width: w, height: h, ms: since(t0),
      };
    } finally {
      for (const t of live) t.dispose();
    }
  },
  present(r) {
    const what = `${r.guided ? 'guided ' : ''}${r.channel === null ? `layer ${r.layer}` : `channel ${r.channel} of ${r.layer}`}`;
    return {
      views: [
        { suffix: '', meaning: `the dream (${r.width}x${r.height}): the image changed to amplify ${what}`, image: r.image },
        { suffix: 'octaves', meaning: 'the image after each octave, coarse to fine', image: grid(r.octaves.map((t) => enlarge(t.image, TILE_TARGET)), { labels: r.octaves.map((t) => `${t.size[1]}x${t.size[0]}`), pad: 3 }) },
      ],
      raw: { data: r.input, shape: [3, r.height, r.width], meaning: "the dream as network input (3, H, W), in the model's channel order and normalization" },
      summary: {
        layer: r.layer, channel: r.channel, guided: r.guided, norm: r.norm, gain: r.norm.after / Math.max(r.norm.before, 1e-30),
        octaves: r.octaves.map((t) => t.size), skippedOctaves: r.skipped, iterations: r.iterations, inputSize: [r.height, r.width], ms: r.ms,
      },
    };
  },
};
