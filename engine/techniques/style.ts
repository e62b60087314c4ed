// Texture synthesis and style transfer (Gatys, Ecker and Bethge: "Texture Synthesis Using
// Convolutional Neural Networks", NIPS 2015; "Image Style Transfer Using Convolutional Neural
// Networks", CVPR 2016). A texture is summarized by the Gram matrices G_l = F_l F_l^T / (H W) of
// several layers (WGSL gram / gramBackward); on the optvis loop (Adam on the pixels, the valid range
// clipped) we minimize
//
//   texture   sum_l w_l ||G_l(x) - G_l(texture)||^2                      from seeded noise
//   style     contentWeight ||F(x) - F(content)||^2 / ||F(content)||^2    at the content layer
//             + styleWeight sum_l w_l ||G_l(x) - G_l(style)||^2            from the content image
//             + tvWeight TV(x / V) / (H W)                                 (Mahendran and Vedaldi's TV)
//
// with w_l = 1 / (L ||G_l(target)||^2): every layer's term is its relative Gram error, so the
// weights mean the same on every network whatever its activation scale (Gatys et al. use
// 1 / (4 N_l^2 M_l^2) on unnormalized Grams and a content / style ratio of 1e-3 .. 1e-4).
// The texture (or style) image is read at the model's input size; the result has any size.

import type { Model } from '../models/graph';
import { gram, gramLoss } from '../ops/gram';
import { grid, rgbFromTensor, type RgbaImage } from '../display/index';
import { Tensor } from '../tensor';
import { inputAt, layerList, levelUnit, lrOption, noiseStart, readImageOption, SEED_OPTION, sizeOption, stepsOption, tvLoopWeight } from './image_opt';
import { featureLoss } from './invert';
import { featureMatch, gramMatch, minimize, optimize, pixelParam, loopSettings, type Term } from './optvis/index';
import { liveLoop } from './optvis/live';
import { enlarge, since, TILE_TARGET } from './present';
import { layerChoices, resolveLayer } from './resolve';
import { throwIfAborted, type OptionSpec, type Technique, type TechniqueContext } from './technique';

export interface TextureOptions extends Record<string, string | number> {
  layers: string;
  steps: number;
  lr: number;
  tvWeight: number;
  noise: number;
  size: number;
  seed: number;
}

export interface StyleOptions extends TextureOptions {
  styleImage: string;
  /** The content layer. */
  layer: string;
  contentWeight: number;
  styleWeight: number;
  init: 'content' | 'noise';
}

/** One Gram target: the layer, G (1, 1, C, C) of the texture / style image, and ||G||^2. */
export interface GramTarget {
  layer: string;
  gram: Tensor;
  norm2: number;
}

export interface SynthesisResult {
  kind: 'texture' | 'style';
  layers: string[];
  contentLayer: string | null;
  /** The synthesized image and its network input (3, H, W). */
  image: RgbaImage;
  input: Float32Array;
  /** The texture / style source and, for style, the content image, as the network saw them. */
  source: RgbaImage;
  content: RgbaImage | null;
  /** sum_l w_l ||G_l(x) - G_l(target)||^2 (w_l = 1 / (L ||G_l(target)||^2)) and the content loss, at the start and the end. */
  loss: { start: { style: number; content: number | null }; end: { style: number; content: number | null } };
  iterations: number;
  width: number;
  height: number;
  ms: number;
}

/** Default Gram layers: GoogLeNet's early inception outputs, else up to 5 conv (or module) layers spread over the net's first 70%. */
export function defaultStyleLayers(model: Model): string[] {
  const g = ['conv1/7x7_s2', 'conv2/3x3', 'inception_3a/output', 'inception_3b/output', 'inception_4a/output'];
  if (g.every((n) => model.layers.some((l) => l.name === n))) return g;
  const convs = layerChoices(model, ['conv']);
  const concats = layerChoices(model, ['concat']);
  const cands = (concats.length >= 4 ? [convs[0], ...concats] : convs).map((l) => l.name);
  if (cands.length <= 5) return cands;
  const upto = cands.slice(0, Math.ceil(0.7 * cands.length));
  return Array.from(new Set(Array.from({ length: 5 }, (_, i) => upto[Math.round((i * (upto.length - 1)) / 4)])));
}

/** Gram targets of `x` (1, 3, H, W) at `layers`, from one forward; caller disposes the grams. */
export async function gramTargets(model: Model, x: Tensor, layers: readonly string[]): Promise<GramTarget[]> {
  const order = new Map(model.layers.map((l, i) => [l.name, i]));
  const deepest = [...layers].sort((a, b) => order.get(b)! - order.get(a)!)[0];
  model.forward(x, { until: deepest, keep: layers });
  const targets: GramTarget[] = [];
  for (const layer of layers) {
    const g = gram(model.activation(layer));
    targets.push({ layer, gram: g, norm2: (await g.read()).reduce((s, v) => s + v * v, 0) });
  }
  return targets;
}

/** Gram terms with weights scale / (L ||G_l||^2). */
function gramTerms(targets: readonly GramTarget[], scale: number): Term[] {
  return targets.map((t) => gramMatch(t.layer, t.gram, { weight: scale / (targets.length * Math.max(t.norm2, 1e-30)) }));
}

/** sum_l w_l ||G_l(x) - G_l(target)||^2 for x (1, 3, H, W), w_l = 1 / (L ||G_l(target)||^2). */
export async function styleLoss(model: Model, x: Tensor, targets: readonly GramTarget[]): Promise<number> {
  const layers = targets.map((t) => t.layer);
  const order = new Map(model.layers.map((l, i) => [l.name, i]));
  model.forward(x, { until: [...layers].sort((a, b) => order.get(b)! - order.get(a)!)[0], keep: layers });
  let sum = 0;
  for (const t of targets) {
    const g = gram(model.activation(t.layer));
    const { value, grad } = gramLoss(g, t.gram, { weight: 1 / (targets.length * Math.max(t.norm2, 1e-30)) });
    sum += (await value.read())[0];
    for (const v of [g, value, grad]) v.dispose();
  }
  return sum;
}

function resolveLayers(model: Model, text: string, technique: string): string[] {
  const names = layerList(text);
  return (names.length ? names : defaultStyleLayers(model)).map((n) => resolveLayer(model, n, technique, { flag: 'layers' }).name);
}

interface Synthesis {
  model: Model;
  kind: 'texture' | 'style';
  sourceX: Tensor;
  contentX: Tensor | null;
  layers: string[];
  contentLayer: string | null;
  o: TextureOptions & Partial<StyleOptions>;
  ctx: TechniqueContext;
}

/** The shared run of texture and style: targets, start, the loop, the losses. */
async function synthesize(s: Synthesis): Promise<SynthesisResult> {
  const t0 = performance.now();
  const { model, o, ctx } = s;
  const { height, width } = model.spec.input;
  const [h, w] = s.contentX ? [s.contentX.h, s.contentX.w] : o.size > 0 ? [o.size, o.size] : [height, width];
  const live: Tensor[] = [];
  try {
    const targets = await gramTargets(model, s.sourceX, s.layers);
    live.push(...targets.map((t) => t.gram));
    let content: { layer: string; phi: Tensor } | null = null;
    if (s.contentX && s.contentLayer) {
      const phi = Tensor.empty(model.rt, [1, ...model.layerShape(s.contentLayer, h, w)], 'style content features');
      live.push(phi);
      model.forward(s.contentX, { until: s.contentLayer, keep: false }).copyTo(phi);
      content = { layer: s.contentLayer, phi };
    }
    const start = s.contentX && o.init !== 'noise' ? s.contentX : noiseStart(model, 1, h, w, o.noise, o.seed);
    if (start !== s.contentX) live.push(start);
    const terms = [...(content ? [featureMatch(content.layer, content.phi, { weight: o.contentWeight ?? 1 })] : []), ...gramTerms(targets, o.styleWeight ?? 1)];
    const lossOf = async (x: Tensor) => ({ style: await styleLoss(model, x, targets), content: content ? await featureLoss(model, x, content.layer, content.phi) : null });
    const startLoss = await lossOf(start);
    const param = pixelParam(model, { height: h, width: w, init: start });
    try {
      const settings = loopSettings({ lr: o.lr * levelUnit(model), clipRange: true, tvWeight: tvLoopWeight(model, h, w, o.tvWeight, 2) });
      const r = await optimize({
        model, param, objective: minimize(...terms), optimizer: 'adam', steps: o.steps, seed: o.seed, settings, signal: ctx.signal,
        ...liveLoop(ctx, {
          image: () => param.render(), settings, objectiveEvery: 0, onStep: (st) => ctx.onProgress?.(st.iteration, o.steps),
          retune: (v) => ({ lr: Number(v.lr) * levelUnit(model), tvWeight: tvLoopWeight(model, h, w, Number(v.tvWeight), 2) }),
        }),
      });
      throwIfAborted(ctx.signal);
      const input = await param.params.read();
      return {
        kind: s.kind, layers: s.layers, contentLayer: content?.layer ?? null,
        image: rgbFromTensor(input, w, h, model.spec.input), input,
        source: rgbFromTensor(await s.sourceX.read(), s.sourceX.w, s.sourceX.h, model.spec.input),
        content: s.contentX ? rgbFromTensor(await s.contentX.read(), w, h, model.spec.input) : null,
        loss: { start: startLoss, end: await lossOf(param.params) }, iterations: r.iterations, width: w, height: h, ms: since(t0),
      };
    } finally {
      param.dispose();
    }
  } finally {
    for (const t of live) t.dispose();
  }
}

function present(r: SynthesisResult) {
  const tiles = [r.source, ...(r.content ? [r.content] : []), r.image].map((t) => enlarge(t, TILE_TARGET * 2));
  const labels = [r.kind === 'texture' ? 'texture' : 'style', ...(r.content ? ['content'] : []), 'result'];
  const what = r.kind === 'texture' ? 'a new texture with the source\'s Gram matrices' : 'the content image repainted with the style image\'s Gram matrices';
  return {
    views: [
      { suffix: '', meaning: `${what} (${r.width}x${r.height}), layers ${r.layers.join(', ')}`, image: r.image },
      { suffix: 'grid', meaning: `${labels.join(', ')} side by side`, image: grid(tiles, { labels, pad: 3, cols: tiles.length }) },
    ],
    raw: { data: r.input, shape: [3, r.height, r.width], meaning: "the synthesized image as network input (3, H, W), in the model's channel order and normalization" },
    summary: {
      layers: r.layers, contentLayer: r.contentLayer, loss: r.loss, styleReduction: r.loss.start.style / Math.max(r.loss.end.style, 1e-30),
      iterations: r.iterations, inputSize: [r.height, r.width], ms: r.ms,
    },
  };
}

const COMMON: OptionSpec[] = [
  { kind: 'string', name: 'layers', default: '', help: 'Gram layers, comma-separated (default: up to 5 layers spread over the early network; GoogLeNet: conv1 .. inception_4a)' },
  stepsOption(200),
  lrOption(4, 'Adam step size, in 8-bit levels'),
  { kind: 'number', name: 'noise', default: 20, min: 0, help: 'std of the start noise around mid-gray, in 8-bit levels' },
  sizeOption("the result's side in pixels (texture: default 0 = the model's input size; style: the content's side, 0 = the model's input size)"),
  SEED_OPTION,
];

export const texture: Technique<TextureOptions, SynthesisResult> = {
  name: 'texture',
  title: 'Texture synthesis',
  group: 'optimization',
  description:
    'Synthesizes a new texture from noise whose Gram matrices (the correlations between feature maps) at several layers match those of the input image: the network\'s statistics of the texture, without its layout (Gatys, Ecker and Bethge, 2015).',
  needsImage: true,
  options: [...COMMON, { kind: 'number', name: 'tvWeight', default: 0, min: 0, help: 'weight of the normalized total variation (0: off)' }],
  liveOptions: ['lr', 'tvWeight'],
  async run(ctx, o) {
    const { model } = ctx;
    if (!ctx.image) throw new Error('texture: needs an input image (the texture)');
    const layers = resolveLayers(model, o.layers, 'texture');
    const sourceX = model.preprocess(ctx.image.rgba, ctx.image.width, ctx.image.height);
    try {
      return await synthesize({ model, kind: 'texture', sourceX, contentX: null, layers, contentLayer: null, o, ctx });
    } finally {
      sourceX.dispose();
    }
  },
  present,
};

export const style: Technique<StyleOptions, SynthesisResult> = {
  name: 'style',
  title: 'Style transfer',
  group: 'optimization',
  description:
    'Repaints the input image (the content) in the style of another: its features at a deep layer are kept while the Gram matrices at several layers are matched to the style image\'s, with a total-variation prior (Gatys, Ecker and Bethge, 2016).',
  needsImage: true,
  options: [
    { kind: 'string', name: 'styleImage', default: '', help: 'the style image: a file path or a URL (required)' },
    { kind: 'layer', name: 'layer', default: '', help: 'the content layer, whose features are kept (default: the conv / module layer at 60% depth)' },
    { kind: 'number', name: 'contentWeight', default: 1, min: 0, help: 'weight of the relative content loss' },
    { kind: 'number', name: 'styleWeight', default: 10, min: 0, help: 'weight of the relative Gram (style) loss' },
    { kind: 'number', name: 'tvWeight', default: 0.002, min: 0, help: 'weight of the normalized total variation (0: off)' },
    { kind: 'enum', name: 'init', choices: ['content', 'noise'], default: 'content', help: 'start from the content image or from noise' },
    ...COMMON,
  ],
  liveOptions: ['lr', 'tvWeight'],
  async run(ctx, o) {
    const { model } = ctx;
    if (!ctx.image) throw new Error('style: needs an input image (the content)');
    const layers = resolveLayers(model, o.layers, 'style');
    const convs = layerChoices(model, ['conv', 'concat']);
    const contentLayer = resolveLayer(model, o.layer, 'style', { fallback: convs[Math.round(0.6 * (convs.length - 1))]?.name }).name;
    const styleImage = await readImageOption(o.styleImage, 'style', 'style-image');
    const sourceX = model.preprocess(styleImage.rgba, styleImage.width, styleImage.height);
    const contentX = inputAt(model, ctx.image, o.size);
    try {
      return await synthesize({ model, kind: 'style', sourceX, contentX, layers, contentLayer, o, ctx });
    } finally {
      sourceX.dispose();
      contentX.dispose();
    }
  },
  present,
};
