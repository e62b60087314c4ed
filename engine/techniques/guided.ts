// Guided backpropagation (Springenberg, Dosovitskiy, Brox and Riedmiller, "Striving for
// Simplicity: The All Convolutional Net", ICLR workshop 2015) and its relatives, which differ only
// in how the gradient crosses each ReLU y = max(x, 0):
//
//   vanilla    dx = dy * [x > 0]               (the true gradient)
//   deconvnet  dx = dy * [dy > 0]              (Zeiler & Fergus 2014)
//   guided     dx = dy * [x > 0] * [dy > 0]
//
// The seed is a class score, the sum of one channel's map of any layer, one neuron (c, y, x) of a
// layer, or, with `top` K, each of the K most active channels of a layer (mean activation), one
// gradient per channel, as the grid of the lecture's figure. The top-K gradients go through the
// network `batch` at a time: B copies of the image, sample s seeded at its own channel.

import { rgbFromTensor } from '../display/index';
import { Tensor, type Model } from '../index';
import { channelMaxAbs, type ScoreKind } from './attribution';
import { gradientImage, mapViews, since, targetSummary, TILE_TARGET, tileGrid } from './present';
import {
  CLASS_OPTION, firstLayer, forwardTarget, inputTensor, layerOption, resolveChannel, resolveLayer, resolveNeuron, SCORE_OPTION, type Neuron, type Target,
} from './resolve';
import { throwIfAborted, type RgbaImage, type Technique } from './technique';

export const RULES = ['guided', 'deconvnet', 'vanilla'] as const;
export type Rule = (typeof RULES)[number];

export interface GuidedOptions extends Record<string, string | number> {
  rule: Rule;
  class: string;
  score: ScoreKind;
  layer: string;
  channel: number;
  neuron: string;
  top: number;
  batch: number;
}

/** What was backpropagated. */
export type GuidedSeed =
  | { kind: 'class'; index: number; layer: string }
  | { kind: 'channel'; layer: string; channel: number }
  | { kind: 'neuron'; layer: string; neuron: Neuron }
  | { kind: 'top'; layer: string; channels: { channel: number; mean: number }[] };

export interface GuidedResult {
  rule: Rule;
  seed: GuidedSeed;
  /** (K, 3, H, W): one gradient per seed (K = 1 except for top-K), model channel order. */
  gradients: Float32Array;
  count: number;
  width: number;
  height: number;
  channelOrder: 'rgb' | 'bgr';
  image: RgbaImage;
  target: Target;
  ms: number;
}

/** Which seed the options ask for, with every layer / channel / neuron checked. */
function chooseSeed(model: Model, o: GuidedOptions): Exclude<GuidedSeed, { kind: 'top' }> | { kind: 'top'; layer: string; k: number } | { kind: 'class' } {
  const modes = [o.channel >= 0 && '--channel', o.neuron !== '' && '--neuron', o.top > 0 && '--top'].filter(Boolean);
  if (modes.length > 1) throw new Error(`guided: ${modes.join(' and ')} cannot be combined (choose one seed: a class, --channel, --neuron or --top)`);
  if (modes.length === 0) {
    if (o.layer !== '') throw new Error(`guided: --layer '${o.layer}' needs --channel, --neuron or --top (a class seed starts at the scores)`);
    return { kind: 'class' };
  }
  const layer = resolveLayer(model, o.layer, 'guided', { fallback: o.top > 0 ? firstLayer(model, 'conv', true) : undefined });
  if (o.channel >= 0) return { kind: 'channel', layer: layer.name, channel: resolveChannel(layer, o.channel, 'guided') };
  if (o.neuron !== '') return { kind: 'neuron', layer: layer.name, neuron: resolveNeuron(layer, o.neuron, 'guided') };
  if (o.top > layer.shape[0]) throw new Error(`guided: --top ${o.top} is more than layer '${layer.name}''s ${layer.shape[0]} channels`);
  return { kind: 'top', layer: layer.name, k: o.top };
}

/** The K channels of `layer` with the largest mean activation in the last forward (batch 1). */
async function topChannels(model: Model, layer: string, k: number): Promise<{ channel: number; mean: number }[]> {
  const a = await model.readActivation(layer);
  const [c, h, w] = model.layers.find((l) => l.name === layer)!.shape;
  const means = Array.from({ length: c }, (_, ch) => {
    let s = 0;
    for (let i = 0; i < h * w; i++) s += a[ch * h * w + i];
    return { channel: ch, mean: s / (h * w) };
  });
  return means.sort((p, q) => q.mean - p.mean || p.channel - q.channel).slice(0, k);
}

/** One gradient per channel: B copies of the input, sample s seeded with the sum of its channel's map. */
async function channelGradients(model: Model, input: Float32Array, shape: readonly number[], layer: string, channels: number[], batch: number, rule: Rule, signal: AbortSignal | undefined, progress?: (d: number, t: number) => void): Promise<Float32Array> {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`guided: --batch must be a positive integer, got ${batch}`);
  const per = input.length;
  const out = new Float32Array(channels.length * per);
  const [c, h, w] = model.layers.find((l) => l.name === layer)!.shape;
  for (let start = 0; start < channels.length; start += batch) {
    throwIfAborted(signal);
    const n = Math.min(batch, channels.length - start);
    const xs = new Float32Array(n * per);
    for (let s = 0; s < n; s++) xs.set(input, s * per);
    const x = Tensor.fromData(model.rt, xs, [n, ...shape.slice(1)], 'guided batch');
    try {
      model.forward(x);
      const seed = new Float32Array(n * c * h * w);
      for (let s = 0; s < n; s++) seed.fill(1, (s * c + channels[start + s]) * h * w, (s * c + channels[start + s] + 1) * h * w);
      const g = model.backward({ kind: 'gradient', layer, gradient: seed }, { rule });
      try {
        out.set(await g.read(), start * per);
      } finally {
        g.dispose();
      }
    } finally {
      x.dispose();
    }
    progress?.(start + n, channels.length);
  }
  return out;
}

export const guided: Technique<GuidedOptions, GuidedResult> = {
  name: 'guided',
  title: 'Guided backpropagation',
  group: 'gradients',
  description:
    'The input gradient of a class score, a channel or a neuron, with negative gradients stopped at every ReLU (guided backpropagation, Springenberg et al. 2015; deconvnet, Zeiler & Fergus 2014; or the plain gradient). With --top K, one picture per most active channel of a layer.',
  needsImage: true,
  options: [
    { kind: 'enum', name: 'rule', choices: RULES, default: 'guided', help: 'how gradients cross ReLUs: guided (Springenberg et al.), deconvnet (Zeiler & Fergus) or vanilla (the true gradient)' },
    CLASS_OPTION,
    SCORE_OPTION,
    layerOption('layer of a --channel, --neuron or --top seed (for --top default: the last conv layer)'),
    { kind: 'channel', name: 'channel', default: -1, help: 'seed: the sum of this channel\'s map of --layer' },
    { kind: 'neuron', name: 'neuron', default: '', help: 'seed: one neuron c,y,x of --layer' },
    { kind: 'int', name: 'top', default: 0, min: 0, help: 'one gradient for each of the K most active channels of --layer (mean activation), as a grid' },
    { kind: 'int', name: 'batch', default: 8, min: 1, help: 'top-K gradients per forward/backward pass' },
  ],
  presets: {
    lecture: { rule: 'guided', top: 9 },
  },
  async run(ctx, o) {
    const t0 = performance.now();
    const { model } = ctx;
    if (!RULES.includes(o.rule)) throw new Error(`guided: --rule must be one of ${RULES.join(', ')}, got '${o.rule}'`);
    const choice = chooseSeed(model, o);
    const x = inputTensor(model, ctx.image, 'guided');
    try {
      const input = await x.read();
      const image = rgbFromTensor(input, x.w, x.h, model.spec.input);
      const target = await forwardTarget(model, x, o.class, o.score, 'guided');
      const base = { rule: o.rule, width: x.w, height: x.h, channelOrder: model.spec.input.channelOrder, image, target };
      if (choice.kind === 'top') {
        const channels = await topChannels(model, choice.layer, choice.k);
        const gradients = await channelGradients(model, input, x.shape, choice.layer, channels.map((c) => c.channel), o.batch, o.rule, ctx.signal, ctx.onProgress);
        return { ...base, seed: { kind: 'top', layer: choice.layer, channels }, gradients, count: channels.length, ms: since(t0) };
      }
      const seed: GuidedSeed = choice.kind === 'class' ? { kind: 'class', index: target.index, layer: target.seedLayer } : choice;
      const g = model.backward(
        seed.kind === 'neuron' ? { kind: 'neuron', layer: seed.layer, ...seed.neuron } : seed,
        { rule: o.rule },
      );
      try {
        const gradients = await g.read();
        ctx.onProgress?.(1, 1);
        return { ...base, seed, gradients, count: 1, ms: since(t0) };
      } finally {
        g.dispose();
      }
    } finally {
      x.dispose();
    }
  },
  present(r) {
    const { width: w, height: h } = r;
    const per = 3 * w * h;
    const what = seedText(r.seed);
    const summary = { ...targetSummary(r.target), rule: r.rule, seed: r.seed, inputSize: [h, w], ms: r.ms };
    if (r.seed.kind === 'top') {
      const tiles = r.seed.channels.map((_, k) => gradientImage(r.gradients.subarray(k * per, (k + 1) * per), w, h, r.channelOrder));
      return {
        views: [{ suffix: '', meaning: `${r.rule} backprop of each of the ${r.count} most active channels of '${r.seed.layer}' (the sum of its map), gray = 0`, image: tileGrid(tiles, r.seed.channels.map((c) => `CH ${c.channel}`), 2 * TILE_TARGET) }],
        raw: { data: r.gradients, shape: [r.count, 3, h, w], meaning: `d (sum of channel k's map of '${r.seed.layer}') / d x with the ${r.rule} rule, x the preprocessed input, one per channel in summary.seed.channels order, channels in the model's input order (K, 3, H, W)` },
        summary,
      };
    }
    return {
      views: [
        { suffix: '', meaning: `${r.rule} backprop of ${what} as RGB (gray = 0, saturating at the 99.5th percentile of |g|)`, image: gradientImage(r.gradients, w, h, r.channelOrder) },
        ...mapViews(r.image, channelMaxAbs(r.gradients, 3, w * h), w, h, `max over channels of |${r.rule} gradient|`).map((v) => ({ ...v, suffix: v.suffix === '' ? 'overlay' : v.suffix })),
      ],
      raw: { data: r.gradients, shape: [3, h, w], meaning: `d (${what}) / d x with the ${r.rule} rule, x the preprocessed input, channels in the model's input order (${r.channelOrder}) (3, H, W)` },
      summary,
    };
  },
};

function seedText(s: GuidedSeed): string {
  switch (s.kind) {
    case 'class': return `class ${s.index} at '${s.layer}'`;
    case 'channel': return `the sum of channel ${s.channel} of '${s.layer}'`;
    case 'neuron': return `neuron (${s.neuron.channel}, ${s.neuron.y}, ${s.neuron.x}) of '${s.layer}'`;
    case 'top': return `the top ${s.channels.length} channels of '${s.layer}'`;
  }
}
