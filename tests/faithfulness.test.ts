// Faithfulness (deletion / insertion curves, Petsiuk et al.): the curve mechanics on TinyVGG
// (their end points are the probabilities of the image, the deleted image and the blurred copy),
// the ordering and area helpers, and on real images (SqueezeNet) that saliency and Grad-CAM delete
// the class faster than a random pixel order.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../engine/io/decode';
import type { Model } from '../engine/models/graph';
import { loadModel } from '../engine/models/load';
import type { ModelSpec } from '../engine/models/spec';
import { readInput, readScores, type InputImage } from '../engine/techniques/attribution';
import { areaUnder, blurred, faithfulness, faithfulnessTechnique, randomPixels, rankPixels, regionMeans, regionOrder } from '../engine/techniques/faithfulness';
import { gradcam } from '../engine/techniques/gradcam';
import { saliency } from '../engine/techniques/saliency';
import { defaultOptions, type RgbaImage } from '../engine/techniques/technique';
import { Tensor } from '../engine/tensor';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { gpu } from './helpers/gpu';
import { randomArray } from './helpers/random';

const SHARED = process.env.CNNVIS_SHARED ?? '../shared';
/** SqueezeNet on SwiftShader: about 45 forwards at 113x113 (up to a second each on a loaded 2-core machine). */
const REAL_TIMEOUT = 180_000;

async function image(file: string): Promise<RgbaImage> {
  const d = await decodeImage(new Uint8Array(readFileSync(file)), file);
  return { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba.buffer, d.rgba.byteOffset, d.rgba.length) };
}

describe('helpers', () => {
  it('rankPixels orders by attribution, highest first, ties by index', () => {
    expect(Array.from(rankPixels([0.1, 3, -2, 3, 0.5]))).toEqual([1, 3, 4, 0, 2]);
  });

  it('randomPixels is a seeded permutation', () => {
    const a = randomPixels(1000, 5);
    expect(Array.from(a).sort((p, q) => p - q)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(randomPixels(1000, 5))).toEqual(Array.from(a));
    expect(Array.from(randomPixels(1000, 6))).not.toEqual(Array.from(a));
  });

  it('regions: ranked by their mean attribution, each taken whole in raster order (edge blocks clipped)', () => {
    // 3x5 map, 2x2 regions: blocks (0,0) (0,1) (0,2) / (1,0) (1,1) (1,2); the last column and row are partial.
    const map = [0, 0, 1, 1, 9, 0, 0, 1, 1, 0, 5, 5, 0, 0, 0];
    const means = regionMeans(map, 3, 5, 2);
    expect(Array.from(means)).toEqual([0, 1, 4.5, 5, 0, 0]);
    expect(Array.from(regionOrder(rankPixels(means), 3, 5, 2))).toEqual([10, 11, 4, 9, 2, 3, 7, 8, 0, 1, 5, 6, 12, 13, 14]);
  });

  it('areaUnder is the trapezoid over [0, 1] (RISE auc)', () => {
    expect(areaUnder([1, 0])).toBeCloseTo(0.5, 12);
    expect(areaUnder([1, 0.5, 0.5, 0])).toBeCloseTo((0.75 + 0.5 + 0.25) / 3, 12);
  });
});

describe('curves on TinyVGG', () => {
  let model: Model;
  let x: InputImage;
  beforeAll(async () => {
    model = await loadModel(await gpu(), 'weights/tinyvgg');
    x = await readInput(model, await image(`${SHARED}/models/tinyvgg/samples/pizza_1.jpeg`), 'test');
  });
  afterAll(() => model?.dispose());

  it('start and end at the image, the deleted image and the blurred copy; one curve point per step', async () => {
    const cls = 2; // pizza
    const map = randomArray(x.h * x.w, 9);
    const f = await faithfulness(model, x, cls, map, { steps: 5, batch: 7, blurSigma: 3, seed: 1 });
    const blur = await blurred(model, x, 3);
    const ends = new Float32Array(3 * x.data.length);
    ends.set(x.data, 0);
    ends.set(blur, 2 * x.data.length);
    const t = Tensor.fromData(model.rt, ends, [3, 3, x.h, x.w], 'ends');
    model.forward(t, { keep: false });
    const [pImage, pDeleted, pBlurred] = await readScores(model, cls, 'prob');
    t.dispose();
    const got = [f.deletion, f.randomDeletion, f.insertion, f.randomInsertion].flatMap((c) => [c.probs[0], c.probs[5]]);
    expectClose(got, [pImage, pDeleted, pImage, pDeleted, pBlurred, pImage, pBlurred, pImage], FORWARD_TOL, [4, 2], 'curve end points');
    expect(f.fractions).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1].map((v) => Math.round(v * 4096) / 4096));
    for (const c of [f.deletion, f.insertion, f.randomDeletion, f.randomInsertion]) expect(c.auc).toBeCloseTo(areaUnder(c.probs), 12);
    // The ranked and the random order really differ in between.
    expect(f.deletion.probs.slice(1, 5)).not.toEqual(f.randomDeletion.probs.slice(1, 5));
  });

  it('a map of the wrong size fails naming both sizes', async () => {
    await expect(faithfulness(model, x, 0, new Float32Array(10), { steps: 2, batch: 2, blurSigma: 1, seed: 0 })).rejects.toThrow(/map has 10 values, expected 64 x 64 = 4096/);
  });

  it('the faithfulness technique scores another technique by name (--method)', async () => {
    const ctx = { model, image: await image(`${SHARED}/models/tinyvgg/samples/pizza_1.jpeg`) };
    const o = { ...defaultOptions(faithfulnessTechnique), method: 'gradcam', faithSteps: 4, batch: 10 };
    const r = await faithfulnessTechnique.run(ctx, o);
    expect(r.target.label).toBe('pizza');
    const p = faithfulnessTechnique.present(r, ctx);
    expect(p.raw.shape).toEqual([4, 5]);
    expect(p.summary).toMatchObject({ method: 'gradcam', class: { label: 'pizza' } });
    expect(r.scores.deletion.auc).toBeGreaterThan(0);
    await expect(faithfulnessTechnique.run(ctx, { ...o, method: 'nope' })).rejects.toThrow(/unknown technique 'nope'.*saliency/);
  });
});

describe('real images (SqueezeNet 1.1 at 113x113)', () => {
  // SqueezeNet is fully convolutional: at 113x113 (short side resized to 128) it still recognizes
  // these images and costs a quarter of 227x227 on SwiftShader. The random order's curve is the
  // deletion curve of a random map (the same for both methods).
  it('the deletion AUC of saliency and of Grad-CAM is below that of a random order', async () => {
    const dir = 'weights/squeezenet1_1';
    const spec = JSON.parse(readFileSync(`${dir}/model.json`, 'utf8')) as ModelSpec;
    spec.input = { ...spec.input, height: 113, width: 113, resizeShortSide: 128 };
    const model = await loadModel(await gpu(), { spec, weights: new Uint8Array(readFileSync(`${dir}/weights.safetensors`)) });
    // 8x8 regions over the first quarter of the pixels: scattered single-pixel holes would destroy
    // the class whatever their order, and the curves differ in their first part.
    const o = { steps: 6, batch: 7, blurSigma: 5, seed: 0, curves: ['deletion'] as const, random: false, upTo: 0.25, region: 8 };
    try {
      // The labelled class of each image (ILSVRC index; both are SqueezeNet's top-1 at 113x113, p > 0.9).
      for (const [f, cls] of [['n01443537_goldfish.JPEG', '1'], ['n01614925_bald_eagle.JPEG', '22']]) {
        const ctx = { model, image: await image(`${SHARED}/images/imagenet-samples/${f}`) };
        const x = await readInput(model, ctx.image, 'test');
        const sal = await saliency.run(ctx, { class: cls, score: 'logit' });
        const cam = await gradcam.run(ctx, { ...defaultOptions(gradcam), class: cls });
        expect([sal.target.index, cam.target.index]).toEqual([Number(cls), Number(cls)]);
        const random = await faithfulness(model, x, sal.target.index, randomArray(x.h * x.w, 11), o);
        for (const [name, map] of [['saliency', sal.map], ['gradcam', cam.attributionMap]] as const) {
          const s = await faithfulness(model, x, sal.target.index, map, o);
          expect(s.deletion.auc, `${f} ${name}: deletion AUC ${s.deletion.auc}, random ${random.deletion.auc}`).toBeLessThan(random.deletion.auc);
        }
      }
    } finally {
      model.dispose();
    }
  }, REAL_TIMEOUT);
});
