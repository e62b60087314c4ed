// Attribution techniques (occlusion, Grad-CAM, SmoothGrad, integrated gradients) proved on their
// defining properties, on TinyVGG (64x64) and a small random network with a float64 reference.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../engine/io/decode';
import type { Model } from '../engine/models/graph';
import { loadModel } from '../engine/models/load';
import { channelMaxAbs, readInput, type InputImage } from '../engine/techniques/attribution';
import { resolveClass } from '../engine/techniques/resolve';
import { gradcam } from '../engine/techniques/gradcam';
import { integratedGradientsTechnique } from '../engine/techniques/integrated_gradients';
import { occlusion } from '../engine/techniques/occlusion';
import { smoothgrad } from '../engine/techniques/smoothgrad';
import { TECHNIQUES } from '../engine/techniques/index';
import { defaultOptions, parseOptions, type RgbaImage, type Technique } from '../engine/techniques/technique';
import { camLayer, defaultCamLayer, gradCam } from '../engine/techniques/gradcam';
import { integratedGradients } from '../engine/techniques/integrated_gradients';
import { occlude } from '../engine/techniques/occlusion';
import { smoothGrad } from '../engine/techniques/smoothgrad';
import { expectedTensors } from '../engine/models/load';
import { writeSafetensors } from '../engine/models/safetensors';
import type { LayerSpec, ModelSpec } from '../engine/models/spec';
import { Tensor } from '../engine/tensor';
import { expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { gpu } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { refGradcam } from './reference/gradcam';
import { networkBackward, networkForward } from './reference/network';

const SHARED = process.env.CNNVIS_SHARED ?? '../shared';

let model: Model;
let x: InputImage;
let cls: number;
let picture: RgbaImage;

beforeAll(async () => {
  const rt = await gpu();
  model = await loadModel(rt, 'weights/tinyvgg');
  const file = `${SHARED}/models/tinyvgg/samples/boat_1.jpeg`;
  const img = await decodeImage(new Uint8Array(readFileSync(file)), file);
  picture = { width: img.width, height: img.height, rgba: new Uint8ClampedArray(img.rgba) };
  x = await readInput(model, img, 'test');
  cls = resolveClass(model, 'lifeboat', 'test')!;
});
afterAll(() => model?.dispose());

describe('occlusion (TinyVGG)', () => {
  it('batched windows equal one window at a time', async () => {
    const o = { patch: 16, stride: 12, fill: 'mean' as const };
    const batched = await occlude(model, x, cls, { ...o, batch: 7 });
    const single = await occlude(model, x, cls, { ...o, batch: 1 });
    expect([batched.rows, batched.cols]).toEqual([5, 5]);
    expect(batched.windows[6]).toMatchObject({ y: 12, x: 12, size: 16 });
    expectClose(batched.probs, single.probs, FORWARD_TOL, [5, 5], 'occlusion probs, batch 7 vs 1');
    // The mean-colour patch must change something, or the comparison above proves nothing.
    expect(Math.max(...Array.from(batched.probs, (p) => Math.abs(p - batched.prob)))).toBeGreaterThan(1e-3);
  });

  it('a patch of the image own pixels changes nothing', async () => {
    const r = await occlude(model, x, cls, { patch: 20, stride: 11, fill: 'image', batch: 8 });
    expectClose(r.probs, new Float32Array(r.probs.length).fill(r.prob), FORWARD_TOL, [r.rows, r.cols], 'occlusion with fill = image');
    expectClose(r.map, new Float32Array(r.map.length), FORWARD_TOL, [x.h, x.w], 'pixel map');
  });
});

describe('SmoothGrad (TinyVGG)', () => {
  it('with sigma 0 equals saliency (max over channels of |d logit / d x|)', async () => {
    const t = Tensor.fromData(model.rt, x.data, [1, 3, x.h, x.w], 'x');
    model.forward(t);
    const g = model.backward({ kind: 'class', index: cls }, { rule: 'vanilla' });
    const saliency = channelMaxAbs(await g.read(), 3, x.h * x.w);
    g.dispose();
    t.dispose();
    const r = await smoothGrad(model, x, cls, { sigma: 0, samples: 3, batch: 2, score: 'logit', seed: 1 });
    expectClose(r.map, saliency, GRAD_TOL, [x.h, x.w], 'smoothgrad sigma 0 vs saliency');
    expect(Math.max(...saliency)).toBeGreaterThan(0);
  });

  it('with noise differs from saliency, is reproducible from its seed, and another seed differs', async () => {
    const o = { sigma: 0.15, samples: 4, batch: 2, score: 'logit' as const, seed: 3 };
    const a = await smoothGrad(model, x, cls, o);
    const b = await smoothGrad(model, x, cls, o);
    expectClose(a.map, b.map, GRAD_TOL, [x.h, x.w], 'same seed');
    const differs = (p: Float32Array, q: Float32Array) => Array.from(p).some((v, i) => Math.abs(v - q[i]) > 1e-3 * Math.max(...q));
    expect(differs(a.map, (await smoothGrad(model, x, cls, { ...o, seed: 4 })).map)).toBe(true);
    expect(differs(a.map, (await smoothGrad(model, x, cls, { ...o, sigma: 0 })).map)).toBe(true);
    expect(a.noise).toBeCloseTo(0.15 * (Math.max(...x.data) - Math.min(...x.data)), 6);
  });
});

describe('integrated gradients (TinyVGG)', () => {
  it('completeness gap < 1% at m = 64 with the black baseline (trapezoid rule)', async () => {
    const r = await integratedGradients(model, x, cls, { steps: 64, baseline: 'black', blurSigma: 5, rule: 'trapezoid', batch: 33, score: 'logit' });
    expect(Math.abs(r.score - r.baselineScore)).toBeGreaterThan(0.1);
    expect(r.gap).toBeLessThan(0.01);
  });

  it('blurred baseline, midpoint rule: gap < 1% at m = 64, and a coarse m = 2 path is worse', async () => {
    const o = { steps: 64, baseline: 'blurred' as const, blurSigma: 4, rule: 'midpoint' as const, batch: 33, score: 'logit' as const };
    const fine = await integratedGradients(model, x, cls, o);
    const coarse = await integratedGradients(model, x, cls, { ...o, steps: 2 });
    expect(fine.gap).toBeLessThan(0.01);
    expect(coarse.gap).toBeGreaterThan(fine.gap);
  });
});

// ---- Grad-CAM vs the float64 reference ---------------------------------------------------------

const conv = (name: string, input: string, inC: number, outC: number, k: number, pad: number): LayerSpec => ({
  type: 'conv', name, inputs: [input], inChannels: inC, outChannels: outC, kernel: [k, k], stride: [1, 1], pad: [pad, pad, pad, pad], groups: 1, bias: true,
});
const relu = (name: string, input: string): LayerSpec => ({ type: 'relu', name, inputs: [input] });

/** conv+relu, max pool, two conv+relu branches concatenated, conv+relu, linear, softmax; odd sizes. */
const MINI: ModelSpec = {
  format: 'cnnvis-model', version: 1, name: 'mini_cam', source: 'test', logits: 'fc', labels: ['a', 'b', 'c', 'd'],
  input: { name: 'data', channels: 3, height: 13, width: 11, channelOrder: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
  layers: [
    conv('conv1', 'data', 3, 6, 3, 1), relu('relu1', 'conv1'),
    { type: 'maxpool', name: 'pool1', inputs: ['relu1'], kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false },
    conv('b1', 'pool1', 6, 3, 1, 0), relu('relu_b1', 'b1'),
    conv('b3', 'pool1', 6, 4, 3, 1), relu('relu_b3', 'b3'),
    { type: 'concat', name: 'cat', inputs: ['relu_b1', 'relu_b3'] },
    conv('conv3', 'cat', 7, 5, 3, 1), relu('relu3', 'conv3'),
    { type: 'flatten', name: 'flat', inputs: ['relu3'] },
    { type: 'linear', name: 'fc', inputs: ['flat'], inFeatures: 150, outFeatures: 4, bias: true },
    { type: 'softmax', name: 'prob', inputs: ['fc'] },
  ],
};

describe('Grad-CAM (small network vs float64 reference)', () => {
  let mini: Model;
  let weights: Map<string, Float32Array>;
  const input = randomArray(3 * 13 * 11, 77);
  const xi: InputImage = { data: input, c: 3, h: 13, w: 11 };
  beforeAll(async () => {
    const tensors = MINI.layers.flatMap(expectedTensors).map((t, i) => {
      const fanIn = t.shape.length === 1 ? 4 : t.shape.slice(1).reduce((a, b) => a * b, 1);
      return { ...t, data: randomArray(t.shape.reduce((a, b) => a * b, 1), 300 + i, 1.5 / Math.sqrt(fanIn)) };
    });
    weights = new Map(tensors.map((t) => [t.name, t.data]));
    mini = await loadModel(await gpu(), { spec: MINI, weights: writeSafetensors(tensors) });
  });
  afterAll(() => mini?.dispose());

  it.each([
    { layer: 'conv3', ref: 'relu3', score: 'logit' as const, index: 2 },
    { layer: 'cat', ref: 'cat', score: 'logit' as const, index: 0 },
    { layer: 'conv1', ref: 'relu1', score: 'prob' as const, index: 1 },
  ])('at $layer, class $index, score $score: weights, cam and upsampled map equal the reference', async ({ layer, ref, score, index }) => {
    const r = await gradCam(mini, xi, index, { layer, score, guided: false });
    const want = refGradcam(MINI, weights, input, 1, ref, score === 'logit' ? 'fc' : 'prob', index);
    const [, c, h, w] = want.shape;
    expect(r.shape).toEqual([c, h, w]);
    const alpha = Float64Array.from({ length: c }, (_, ch) => want.da.subarray(ch * h * w, (ch + 1) * h * w).reduce((a, b) => a + b, 0) / (h * w));
    expectClose(r.weights, alpha, GRAD_TOL, [c], `${layer} alpha`);
    expectClose(r.cam, want.cam, GRAD_TOL, [h, w], `${layer} cam`);
    expectClose(r.map, want.up, GRAD_TOL, [13, 11], `${layer} upsampled cam`);
    expect(r.score).toBeCloseTo(want.scores[0], 4);
    // A map that is zero everywhere would pass trivially.
    expect(Math.max(...want.cam)).toBeGreaterThan(1e-5);
  });

  it('guided Grad-CAM is the guided-backprop gradient times the upsampled map', async () => {
    const r = await gradCam(mini, xi, 2, { layer: 'conv3', score: 'logit', guided: true });
    const fwd = networkForward(MINI, weights, input, 1);
    const seed = new Float64Array(4);
    seed[2] = 1;
    const guided = networkBackward(MINI, weights, fwd, 'fc', seed, 'guided');
    const up = refGradcam(MINI, weights, input, 1, 'relu3', 'fc', 2).up;
    const want = guided.map((g, i) => g * up[i % up.length]);
    expectClose(r.guided!, want, GRAD_TOL, [3, 13, 11], 'guided Grad-CAM');
    expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(1e-5);
  });

  it('defaults to the last feature layer and names the valid layers for a wrong one', () => {
    expect(defaultCamLayer(mini)).toBe('conv3');
    expect(defaultCamLayer(model)).toBe('conv_2_2');
    expect(() => camLayer(mini, 'fc')).toThrow(/gradcam: layer 'fc' is a linear layer.*0 conv1 \(6, 13, 11\), 1 b1 .*4 conv3 \(5, 6, 5\)/);
    expect(camLayer(mini, '3')).toBe('cat');
  });
});

// ---- the techniques as the CLI and the app drive them --------------------------------------------

/** Distinct colours in a picture (a blank or one-colour picture has 1). */
function colours(img: RgbaImage): number {
  const seen = new Set<number>();
  for (let i = 0; i < img.rgba.length; i += 4) seen.add((img.rgba[i] << 16) | (img.rgba[i + 1] << 8) | img.rgba[i + 2]);
  return seen.size;
}

describe('techniques (TinyVGG, small settings)', () => {
  it.each([
    { t: occlusion as Technique<any, any>, raw: 'patch=16 stride=16 batch=9', shape: [4, 4], views: ['', 'heatmap'] },
    { t: gradcam, raw: 'guided=true class=ladybug faithfulness=true faith-steps=3', shape: [64, 64], views: ['', 'heatmap', 'guided', 'faithfulness'] },
    { t: smoothgrad, raw: 'samples=4 batch=4', shape: [64, 64], views: ['', 'heatmap'] },
    { t: integratedGradientsTechnique, raw: 'steps=4 batch=6 baseline=blurred', shape: [3, 64, 64], views: ['', 'heatmap'] },
  ])('$t.name runs from CLI-style options and presents real pictures', async ({ t, raw, shape, views }) => {
    const o = parseOptions(t, Object.fromEntries(raw.split(' ').map((kv) => kv.split('='))));
    const progress: number[] = [];
    const ctx = { model, image: picture, onProgress: (d: number) => progress.push(d) };
    const p = t.present(await t.run(ctx, o), ctx);
    expect(p.views.map((v) => v.suffix)).toEqual(views);
    // Maps have many colours; the curve plot has its background, axes and four lines.
    for (const v of p.views) expect(colours(v.image), `${t.name} view '${v.suffix}'`).toBeGreaterThan(v.suffix === 'faithfulness' ? 5 : 16);
    expect(p.raw.shape).toEqual(shape);
    expect(p.raw.data.length).toBe(shape.reduce((a, b) => a * b, 1));
    expect(p.summary).toMatchObject({ model: 'tinyvgg', class: { label: o.class === 'ladybug' ? 'ladybug' : 'lifeboat' } });
    if (t.name !== 'gradcam') expect(progress.length).toBeGreaterThan(0);
    if (o.faithfulness) expect(p.summary.faithfulness).toMatchObject({ deletion: expect.any(Array), randomDeletion: expect.any(Array) });
  });

  it('are all in the registry, with paper defaults and valid-choice errors', () => {
    for (const name of ['occlusion', 'gradcam', 'smoothgrad', 'integrated-gradients', 'faithfulness']) expect(TECHNIQUES.map((t) => t.name)).toContain(name);
    expect(defaultOptions(smoothgrad)).toMatchObject({ sigma: 0.15, samples: 50 });
    expect(defaultOptions(integratedGradientsTechnique)).toMatchObject({ steps: 50, baseline: 'black', rule: 'trapezoid' });
    expect(() => parseOptions(integratedGradientsTechnique, { baseline: 'white' })).toThrow(/--baseline needs one of black, blurred, got 'white'/);
    expect(() => camLayer(model, 'output')).toThrow(/layer 'output' is a linear layer.*conv_2_2/);
  });

  it('a wrong class fails with the valid choices', async () => {
    const o = { ...defaultOptions(occlusion), class: 'giraffe' };
    await expect(occlusion.run({ model, image: picture }, o)).rejects.toThrow(/no class of model 'tinyvgg' matches --class 'giraffe'/);
  });
});
