// The first four techniques (engine/techniques/{filters,activations,saliency,guided}.ts) and the
// choice of layers / channels / classes (resolve.ts), proved rather than just run:
//   - saliency and guided backprop of SqueezeNet (real weights) equal the engine's own gradients;
//   - the vanilla gradient matches central finite differences of the float32 network (TinyVGG);
//   - guided and deconvnet (class, channel and batched top-K seeds) follow the float64 reference
//     network's rules on a small generated network;
//   - filters' raw array is the weights, activations' the layer's output, top-K in order;
//   - a wrong layer, channel, neuron or class fails listing the valid choices.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, Tensor, type Model } from '../engine/index';
import { activations } from '../engine/techniques/activations';
import { filters } from '../engine/techniques/filters';
import { guided, type GuidedOptions, type GuidedResult } from '../engine/techniques/guided';
import { TECHNIQUES } from '../engine/techniques/index';
import { resolveClass } from '../engine/techniques/resolve';
import { saliency } from '../engine/techniques/saliency';
import { defaultOptions, type RgbaImage, type Technique, type TechniqueContext } from '../engine/techniques/technique';
import { EXACT, expectClose, GRAD_TOL, type Tolerance } from './helpers/close';
import { gpu } from './helpers/gpu';
import { build, INCEPTION, refName } from './helpers/model_specs';
import { rng } from './helpers/random';
import { networkBackward, networkForward } from './reference/network';
import type { ModelSpec } from '../engine/models/spec';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const GOLDFISH = join(SHARED, 'images', 'imagenet-samples', 'n01443537_goldfish.JPEG');
const BOAT = join(SHARED, 'models', 'tinyvgg', 'samples', 'boat_1.jpeg');

/** A technique's result vs the same engine calls made by hand: the same kernels, so nearly exact. */
const SAME_ENGINE_TOL: Tolerance = { atol: 1e-7, rtol: 1e-5 };
/**
 * Float32 central differences of the logit: truncation O(eps^2) plus rounding ~ 1e-7 |logit| / eps,
 * and a ReLU kink inside +-eps now and then; compared at pixels with a clear gradient.
 */
const FD32_EPS = 2e-3;
const FD32_TOL: Tolerance = { atol: 2e-3, rtol: 3e-2 };

async function image(file: string): Promise<RgbaImage> {
  const d = await decodeImage(readFileSync(file), file);
  return { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) };
}

function run<O extends Record<string, unknown>, R>(t: Technique<any, R>, ctx: TechniqueContext, o: Partial<O> = {}): Promise<R> {
  return t.run(ctx, { ...defaultOptions(t), ...o });
}

/** max over channels of |g| for (3, H, W), written out here rather than imported. */
function maxAbsOverChannels(g: Float32Array, hw: number): Float32Array {
  const m = new Float32Array(hw);
  for (let i = 0; i < hw; i++) m[i] = Math.max(Math.abs(g[i]), Math.abs(g[hw + i]), Math.abs(g[2 * hw + i]));
  return m;
}

describe('registry', () => {
  it('lists every technique once, each with options the CLI can turn into flags', () => {
    const names = TECHNIQUES.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['filters', 'activations', 'saliency', 'guided']) expect(names).toContain(n);
    for (const t of TECHNIQUES) for (const o of t.options) expect(o.help.length, `${t.name} --${o.name}`).toBeGreaterThan(5);
  });
});

/** SqueezeNet's real weights at a smaller input (131x131, short side resized to 148): a third of the work. */
const SQ_SIZE = 131;

describe('SqueezeNet 1.1 (real weights): the techniques equal the engine\'s gradients', () => {
  let model: Model;
  let img: RgbaImage;
  beforeAll(async () => {
    const dir = join(ROOT, 'weights', 'squeezenet1_1');
    const spec = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelSpec;
    spec.input = { ...spec.input, height: SQ_SIZE, width: SQ_SIZE, resizeShortSide: 148 };
    model = await loadModel(await gpu(), { spec, weights: readFileSync(join(dir, 'weights.safetensors')) });
    img = await image(GOLDFISH);
  }, 120_000);
  afterAll(() => model?.dispose());

  it('saliency = max over channels of |backward of the top-1 logit|', async () => {
    const r = await run(saliency, { model, image: img });
    expect(r.target.seedLayer).toBe('pool10');
    expect([r.width, r.height]).toEqual([SQ_SIZE, SQ_SIZE]);
    const top1 = r.target.top[0].index;
    expect(r.target.index).toBe(top1);
    const x = model.preprocess(img.rgba, img.width, img.height);
    try {
      model.forward(x);
      const [[best]] = await model.classify(x, 1);
      expect(best.index).toBe(top1);
      model.forward(x);
      const g = model.backward({ kind: 'class', index: top1 }, { rule: 'vanilla' });
      const want = await g.read();
      g.dispose();
      expectClose(r.gradient, want, SAME_ENGINE_TOL, [3, SQ_SIZE, SQ_SIZE], 'saliency gradient');
      expectClose(r.map, maxAbsOverChannels(want, SQ_SIZE * SQ_SIZE), SAME_ENGINE_TOL, [SQ_SIZE, SQ_SIZE], 'saliency map');
      expect(r.map.some((v) => v > 0)).toBe(true);
    } finally {
      x.dispose();
    }
  }, 120_000);

  it('guided backprop of the most active channel of fire9 (top 1) equals the engine\'s guided backward', async () => {
    const layer = 'fire9/expand3x3';
    const r = await run<GuidedOptions, GuidedResult>(guided, { model, image: img }, { layer, top: 1 });
    const x = model.preprocess(img.rgba, img.width, img.height);
    try {
      model.forward(x);
      const a = await model.readActivation(layer);
      const [c, h, w] = model.layers.find((l) => l.name === layer)!.shape;
      const sums = Array.from({ length: c }, (_, k) => a.subarray(k * h * w, (k + 1) * h * w).reduce((p, q) => p + q, 0));
      const best = sums.indexOf(Math.max(...sums));
      expect(r.seed).toMatchObject({ kind: 'top', layer, channels: [{ channel: best }] });
      const g = model.backward({ kind: 'channel', layer, channel: best }, { rule: 'guided' });
      const want = await g.read();
      g.dispose();
      expect(want.some((v) => v !== 0)).toBe(true);
      expectClose(r.gradients, want, SAME_ENGINE_TOL, [3, SQ_SIZE, SQ_SIZE], 'guided gradient');
    } finally {
      x.dispose();
    }
  }, 120_000);
});

describe('TinyVGG: the vanilla gradient vs central finite differences', () => {
  it('matches at the 12 pixels with the largest gradient and 12 random ones', async () => {
    const model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    try {
      const img = await image(BOAT);
      const r = await run(saliency, { model, image: img });
      const x0 = model.preprocess(img.rgba, img.width, img.height);
      const x = await x0.read();
      x0.dispose();
      const order = Array.from(r.gradient.keys()).sort((a, b) => Math.abs(r.gradient[b]) - Math.abs(r.gradient[a]));
      const rand = rng(5);
      const idx = [...order.slice(0, 12), ...Array.from({ length: 12 }, () => order[Math.floor(rand() * order.length)])];
      // One batch: x + eps e_i and x - eps e_i for each sampled element.
      const per = x.length;
      const batch = new Float32Array(2 * idx.length * per);
      idx.forEach((i, k) => {
        batch.set(x, 2 * k * per);
        batch.set(x, (2 * k + 1) * per);
        batch[2 * k * per + i] += FD32_EPS;
        batch[(2 * k + 1) * per + i] -= FD32_EPS;
      });
      const xt = Tensor.fromData(model.rt, batch, [2 * idx.length, 3, 64, 64], 'fd batch');
      model.forward(xt, { keep: false });
      const logits = await model.readActivation(model.spec.logits);
      xt.dispose();
      const k = logits.length / (2 * idx.length);
      const c = r.target.index;
      // The step actually taken in float32.
      const num = idx.map((i, j) => (logits[2 * j * k + c] - logits[(2 * j + 1) * k + c]) / (Math.fround(x[i] + FD32_EPS) - Math.fround(x[i] - FD32_EPS)));
      expectClose(idx.map((i) => r.gradient[i]), num, FD32_TOL, undefined, 'd logit / d x vs finite differences');
      expect(Math.abs(r.gradient[order[0]])).toBeGreaterThan(1e-3);
    } finally {
      model.dispose();
    }
  }, 120_000);
});

describe('guided and deconvnet follow the float64 reference rules (small generated network)', () => {
  /** INCEPTION with [0, 1] inputs (pixel / 255) and labels. */
  const SPEC: ModelSpec = { ...INCEPTION, labels: ['alpha', 'beta', 'gamma', 'delta', 'epsilon'], input: { ...INCEPTION.input, scale: 1 / 255 } };

  it.each(['guided', 'deconvnet', 'vanilla'] as const)('%s: class, channel and batched top-K seeds', async (rule) => {
    const rt = await gpu();
    const c = await build(rt, SPEC, 1, 11);
    try {
      const r = rng(21);
      const { width, height } = SPEC.input;
      const img: RgbaImage = { width, height, rgba: Uint8ClampedArray.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : Math.floor(r() * 256))) };
      const input = Float64Array.from({ length: 3 * width * height }, (_, i) => img.rgba[(i % (width * height)) * 4 + Math.floor(i / (width * height))] / 255);
      const ref = networkForward(SPEC, c.weights, input, 1);
      const logits = ref.acts.get(SPEC.logits)!.data;
      const top1 = logits.indexOf(Math.max(...logits));
      const seedAt = (layer: string, fill: (g: Float64Array) => void) => {
        const g = new Float64Array(ref.acts.get(layer)!.data.length);
        fill(g);
        return networkBackward(SPEC, c.weights, ref, layer, g, rule);
      };

      const cls = await run<GuidedOptions, GuidedResult>(guided, { model: c.model, image: img }, { rule });
      expect(cls.target.index).toBe(top1);
      const wantCls = seedAt(SPEC.logits, (g) => (g[top1] = 1));
      expect(wantCls.some((v) => v !== 0)).toBe(true);
      expectClose(cls.gradients, wantCls, GRAD_TOL, [3, height, width], `${rule} class`);

      const layer = 'a/3x3';
      const ref3 = refName(c.model, layer);
      const [ch, h, w] = ref.acts.get(ref3)!.shape.slice(1);
      const one = await run<GuidedOptions, GuidedResult>(guided, { model: c.model, image: img }, { rule, layer, channel: 2 });
      expectClose(one.gradients, seedAt(ref3, (g) => g.fill(1, 2 * h * w, 3 * h * w)), GRAD_TOL, [3, height, width], `${rule} channel 2`);

      // Top 4 of 5 channels in batches of 3 (a full batch and a partial one), ranked by mean activation.
      const top = await run<GuidedOptions, GuidedResult>(guided, { model: c.model, image: img }, { rule, layer, top: 4, batch: 3 });
      const act = ref.acts.get(ref3)!.data;
      const means = Array.from({ length: ch }, (_, k) => act.slice(k * h * w, (k + 1) * h * w).reduce((a, b) => a + b, 0));
      const want = Array.from(means.keys()).sort((a, b) => means[b] - means[a]).slice(0, 4);
      expect(top.seed.kind === 'top' && top.seed.channels.map((s) => s.channel)).toEqual(want);
      const per = 3 * height * width;
      want.forEach((k, i) => {
        expectClose(top.gradients.subarray(i * per, (i + 1) * per), seedAt(ref3, (g) => g.fill(1, k * h * w, (k + 1) * h * w)), GRAD_TOL, [3, height, width], `${rule} top-${i} (channel ${k})`);
      });
    } finally {
      c.model.dispose();
    }
  }, 120_000);
});

describe('filters and activations on TinyVGG', () => {
  let model: Model;
  let img: RgbaImage;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    img = await image(BOAT);
  }, 120_000);
  afterAll(() => model?.dispose());

  it('filters: the first conv layer as RGB tiles, raw = its weights; a deeper layer as grayscale rows', async () => {
    const first = await run(filters, { model });
    expect(first.layer).toBe('conv_1_1');
    expect(first.rgb).toBe(true);
    const p = filters.present(first, { model });
    expect(p.raw.shape).toEqual([10, 3, 3, 3]);
    expectClose(p.raw.data, await model.weight('conv_1_1.weight').read(), EXACT, p.raw.shape, 'filters raw');
    const deep = await run(filters, { model }, { layer: 'conv_2_1', count: 4, inputs: 5 });
    expect(deep.rgb).toBe(false);
    const q = filters.present(deep, { model });
    expect(q.raw.shape).toEqual([10, 10, 3, 3]);
    expectClose(q.raw.data, await model.weight('conv_2_1.weight').read(), EXACT, q.raw.shape, 'filters raw conv_2_1');
    expect(q.views[0].image.width).toBeGreaterThan(q.views[0].image.height);
  });

  it('activations: raw = the layer output (C, H, W); top K are the largest means, in order', async () => {
    const all = await run(activations, { model, image: img }, { layer: 'conv_1_2' });
    const x = model.preprocess(img.rgba, img.width, img.height);
    model.forward(x);
    const want = await model.readActivation('conv_1_2');
    x.dispose();
    expectClose(all.data, want, EXACT, [10, 60, 60], 'activations raw');
    expect(all.channels.map((c) => c.channel)).toEqual([...Array(10).keys()]);
    const top = await run(activations, { model, image: img }, { layer: 'conv_1_2', top: 3, scale: 'tile' });
    const means = all.channels.map((c) => c.mean);
    expect(top.channels.map((c) => c.channel)).toEqual(Array.from(means.keys()).sort((a, b) => means[b] - means[a]).slice(0, 3));
    expect(activations.present(top, { model }).raw.shape).toEqual([10, 60, 60]);
  });

  it('a wrong layer, channel, neuron or class fails listing the valid choices', async () => {
    const ctx = { model, image: img };
    await expect(run(activations, ctx, { layer: 'conv9' })).rejects.toThrow(/no layer 'conv9' in model 'tinyvgg'; --layer takes a name or an index: 0 conv_1_1 \(10, 62, 62\), 1 relu_1_1 \(10, 62, 62\), .*max_pool_2 \(10, 13, 13\)/);
    await expect(run(filters, { model }, { layer: 'max_pool_1' })).rejects.toThrow(/layer 'max_pool_1' is a maxpool layer, not one of \(conv layers\).*conv_1_1 \(10, 62, 62\), 1 conv_1_2/);
    await expect(run(guided, ctx, { layer: 'conv_2_2', channel: 10 })).rejects.toThrow(/--channel 10 is not a channel of layer 'conv_2_2' \(10, 26, 26\): valid channels are 0\.\.9/);
    await expect(run(guided, ctx, { layer: 'conv_2_2', neuron: '1,26,0' })).rejects.toThrow(/--neuron 1,26,0 is outside layer 'conv_2_2' \(10, 26, 26\): valid are channel 0\.\.9, y 0\.\.25, x 0\.\.25/);
    await expect(run(guided, ctx, { layer: 'conv_2_2', channel: 1, top: 3 })).rejects.toThrow(/--channel and --top cannot be combined/);
    await expect(run(saliency, ctx, { class: '10' })).rejects.toThrow(/--class 10 is outside model 'tinyvgg''s 10 classes \(0\.\.9\)/);
    await expect(run(saliency, ctx, { class: 'an' })).rejects.toThrow(/--class 'an' is ambiguous in model 'tinyvgg', it matches 2 classes: 7 'red panda', 8 'orange'/);
    await expect(run(saliency, ctx, { class: 'pizzza' })).rejects.toThrow(/no class of model 'tinyvgg' matches --class 'pizzza' .*similar: 2 'pizza'/);
    const r = await run(saliency, ctx, { class: 'koala' });
    expect(r.target).toMatchObject({ index: 5, label: 'koala' });
  });

  it('the layer may be given by index, and a channel seed uses it', async () => {
    const r = await run<GuidedOptions, GuidedResult>(guided, { model, image: img }, { layer: '7', channel: 0, rule: 'vanilla' });
    expect(r.seed).toMatchObject({ kind: 'channel', layer: 'conv_2_2', channel: 0 });
  });
});

describe('resolveClass on ImageNet labels', () => {
  it('an exact synonym wins over substrings; ambiguous substrings list the candidates', async () => {
    const spec = JSON.parse(readFileSync(join(ROOT, 'weights', 'squeezenet1_1', 'model.json'), 'utf8')) as ModelSpec;
    const fake = { spec, layers: [{ name: 'pool10', type: 'globalavgpool', inputs: [], shape: [1000, 1, 1] }] } as unknown as Model;
    expect(resolveClass(fake, 'tench', 't')).toBe(0);
    expect(resolveClass(fake, 'Goldfish', 't')).toBe(1);
    expect(resolveClass(fake, '', 't')).toBe(null);
    expect(resolveClass(fake, '340', 't')).toBe(340);
    expect(() => resolveClass(fake, 'shark', 't')).toThrow(/'shark' is ambiguous in model 'squeezenet1_1', it matches \d+ classes: 2 'great white shark/);
  });
});
