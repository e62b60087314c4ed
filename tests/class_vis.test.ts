// Class visualization (engine/techniques/class_vis.ts) on TinyVGG (real weights, 64 x 64) and
// SqueezeNet 1.1 (real Caffe weights, 0..255 input, at a reduced 96 x 96):
//   - from a blank image it raises the class logit many-fold, and the SAVED PNG, decoded and fed
//     back to the network, is classified as the class (top-1), on both input scales with the same
//     CS231n settings (pixel settings are in ImageNet-std units, converted per network), and the
//     picture is not a flat grey (its pixels spread over many 8-bit levels);
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
import { loopValue, pixelUnit, visPlan } from '../engine/techniques/optvis/vis';
import { defaultOptions, parseOptions, type TechniqueContext } from '../engine/techniques/technique';
import { gpu } from './helpers/gpu';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** "Many-fold": the final logit against the larger of |the starting logit| and 1. */
const GAIN = 5;
/** A real picture: the standard deviation of its 8-bit RGB values (a flat grey is ~0). */
const MIN_PICTURE_STD = 12;
/** pixelUnit against the hand-computed ImageNet std (0.226 mean over channels). */
const UNIT_RTOL = 1e-6;

function pictureStd(rgba: Uint8Array | Uint8ClampedArray): number {
  let m = 0, m2 = 0, n = 0;
  for (let i = 0; i < rgba.length; i++) {
    if (i % 4 === 3) continue;
    m += rgba[i];
    m2 += rgba[i] * rgba[i];
    n++;
  }
  return Math.sqrt(m2 / n - (m / n) ** 2);
}

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
    const r = await classVis.run(ctx, options({ class: 'pizza', jitter: 4, steps: 60 }, 'cs231n'));
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
    expect(pictureStd(png.rgba)).toBeGreaterThan(MIN_PICTURE_STD);
  }, 90_000);

  it('SqueezeNet (Caffe 0..255 input) at 96 px: the same CS231n settings make a real picture classified as the class', async () => {
    const squeeze = await loadModel(model.rt, join(ROOT, 'weights', 'squeezenet1_1'));
    try {
      const sctx = { model: squeeze };
      const r = await classVis.run(sctx, options({ class: 'goldfish', size: 96, jitter: 6, steps: 40 }, 'cs231n'));
      const p = classVis.present(r, sctx);
      const png = await decodeImage(await encodePng(p.views[0].image), 'goldfish.class-vis.png');
      expect(pictureStd(png.rgba)).toBeGreaterThan(MIN_PICTURE_STD);
      expect(p.summary).toMatchObject({ pictureTop1IsClass: true, units: 'std' });
      expect(r.pictureLogits![1]).toBeGreaterThan(GAIN * Math.max(Math.abs(r.loop.first!), 1));
    } finally {
      squeeze.dispose();
    }
  }, 120_000);

  it('pixel units: one ImageNet std or one 8-bit level in each network\'s input units, and the loop values', () => {
    const fake = (scale: number, std: number[], channelOrder: 'rgb' | 'bgr') => ({ spec: { input: { scale, std, mean: [0, 0, 0], channelOrder } } }) as unknown as Model;
    const sigma = (0.229 + 0.224 + 0.225) / 3;
    const caffe = fake(1, [1, 1, 1], 'bgr');
    const torch = fake(1 / 255, [0.229, 0.224, 0.225], 'rgb');
    const cases: [Model, string, number][] = [
      [caffe, 'std', 255 * sigma], [caffe, 'level', 1], [caffe, 'input', 1],
      [model, 'std', sigma], [model, 'level', 1 / 255],
      [torch, 'std', 1], [torch, 'level', (1 / 255) * (1 / 0.229 + 1 / 0.224 + 1 / 0.225) / 3],
    ];
    for (const [m, units, want] of cases) expect(Math.abs(pixelUnit(m, units as 'std') - want)).toBeLessThan(UNIT_RTOL * want);
    const plan = visPlan(caffe, parseOptions(classVis, {}, 'cs231n'));
    expect(plan).toMatchObject({ units: 'std', lr: 25 });
    expect(loopValue(plan, 'lr', 25)).toBeCloseTo(25 * 255 * sigma, 6);
    expect(loopValue(plan, 'l2', 1e-3)).toBeCloseTo(1e-3 / (255 * sigma) ** 2, 12);
    expect(loopValue(plan, 'blurSigma', 0.5)).toBe(0.5);
    // A live lr of 0 is the parameterization's default (25), not the lr the run started with.
    expect(loopValue(visPlan(caffe, parseOptions(classVis, { lr: '10' })), 'lr', 0)).toBeCloseTo(25 * 255 * sigma, 6);
    const ascent = visPlan(model, parseOptions(classVis, {}, 'yosinski3'));
    expect(ascent).toMatchObject({ units: 'level', optimizer: 'ascent' });
    expect(loopValue(ascent, 'lr', 100)).toBeCloseTo(100 / 255 ** 2, 10);
    expect(loopValue(visPlan(model, parseOptions(classVis, { param: 'fourier' })), 'l2', 1e-3)).toBe(0);
    expect(() => parseOptions(classVis, { units: 'pixels' })).toThrow(/--units needs one of std, level, input, got 'pixels'/);
  });

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
