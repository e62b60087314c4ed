// Class visualization (engine/techniques/class_vis.ts) on TinyVGG (real weights, 64 x 64):
//   - from a blank image it raises the class logit many-fold, and the SAVED PNG, decoded and fed
//     back to the network, is classified as the class (top-1);
//   - --param fourier runs Lucid's parameterization and transforms (the canvas falls back to the
//     image's size, since TinyVGG's classifier needs 64 x 64) and raises the logit too;
//   - presets carry the published settings, 'auto' defaults follow the parameterization, the stem
//     is the class name, and a wrong class fails listing the choices.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../engine/display/index';
import { decodeImage, loadModel, type Model } from '../engine/index';
import { classVis, type ClassVisOptions } from '../engine/techniques/class_vis';
import { visPlan } from '../engine/techniques/optvis/vis';
import { defaultOptions, parseOptions, type TechniqueContext } from '../engine/techniques/technique';
import { gpu } from './helpers/gpu';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** "Many-fold": the final logit against the larger of |the starting logit| and 1. */
const GAIN = 5;

describe('class-vis', () => {
  let model: Model;
  let ctx: TechniqueContext;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    ctx = { model };
  });
  const options = (o: Partial<ClassVisOptions>, preset?: string): ClassVisOptions => ({ ...defaultOptions(classVis, preset), ...o }) as ClassVisOptions;

  it('raises the class logit many-fold and the saved 8-bit PNG is classified as the class', async () => {
    // CS231n's settings, with the jitter scaled to a 64-pixel image (16 is for 224).
    const r = await classVis.run(ctx, options({ class: 'pizza', jitter: 4, lr: 5, steps: 60 }, 'cs231n'));
    expect(r.loop.iterations).toBe(60);
    const p = classVis.present(r, ctx);
    expect(p.views[0].suffix).toBe('');
    expect([p.views[0].image.width, p.views[0].image.height]).toEqual([64, 64]);
    const png = await decodeImage(await encodePng(p.views[0].image), 'pizza.class-vis.png');
    const [top] = await model.classify(model.preprocess(png.rgba, png.width, png.height));
    const logits = await model.readActivation(model.spec.logits);
    expect(top[0].label).toBe('pizza');
    expect(logits[2]).toBeGreaterThan(GAIN * Math.max(Math.abs(r.loop.first!), 1));
    expect(p.summary.pictureTop1IsClass).toBe(true);
    expect(p.summary.pictureLogit).toBeCloseTo(logits[2], 3);
    expect(p.raw.shape).toEqual([3, 64, 64]);
  }, 90_000);

  it('--param fourier (Adam, Lucid transforms on the image-sized canvas) raises the logit', async () => {
    const r = await classVis.run(ctx, options({ class: 'koala', param: 'fourier', steps: 30, lr: 0.05 }));
    expect(r.plan).toMatchObject({ optimizer: 'adam', transformSet: 'lucid', height: 64, width: 64 });
    expect(r.loop.last!).toBeGreaterThan(r.loop.first! + 5);
    expect(r.pictureLogits![5]).toBeGreaterThan(r.loop.first! + 5);
  }, 60_000);

  it('presets, auto defaults, the stem and a wrong class', () => {
    const cs = parseOptions(classVis, {}, 'cs231n');
    expect(cs).toMatchObject({ l2: 1e-3, lr: 25, steps: 100, blurSigma: 0.5, blurEvery: 10, jitter: 16 });
    expect(parseOptions(classVis, {}, 'yosinski3')).toMatchObject({ decay: 1e-4, blurSigma: 1, blurEvery: 4, steps: 1000, lr: 100 });
    expect(parseOptions(classVis, {}, 'yosinski4')).toMatchObject({ contribPercentile: 90, blurEvery: 4 });
    expect(visPlan(model, parseOptions(classVis, { param: 'fourier' }))).toMatchObject({ optimizer: 'adam', lr: 0.05, steps: 512, transformSet: 'lucid' });
    expect(visPlan(model, parseOptions(classVis, {}))).toMatchObject({ optimizer: 'l2norm', lr: 25, steps: 100, transformSet: 'jitter 16' });
    expect(classVis.stem!(model, parseOptions(classVis, { class: 'red panda' }))).toBe('red_panda');
    expect(() => parseOptions(classVis, { param: 'wavelet' })).toThrow(/--param needs one of pixel, fourier, got 'wavelet'/);
    expect(() => parseOptions(classVis, {}, 'lucid2')).toThrow(/unknown preset 'lucid2' \(presets: cs231n, yosinski1, yosinski2, yosinski3, yosinski4, lucid\)/);
    return expect(classVis.run(ctx, options({ class: 'pizzza' }))).rejects.toThrow(/no class of model 'tinyvgg' matches --class 'pizzza'.*similar: 2 'pizza'/);
  });
});
