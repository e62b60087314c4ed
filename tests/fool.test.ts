// Fooling images (engine/techniques/fool.ts) on TinyVGG (real weights, 64x64):
//   - ascent and PGD turn a correctly classified lifeboat into a koala, and the PNG as saved (8-bit,
//     decoded again here, independently of the technique) is still read as a koala, with PSNR >= 35 dB;
//   - PGD stays inside its L-infinity budget; FGSM changes every pixel by at most eps;
//   - the distances are recomputed here from the decoded PNG;
//   - bad options fail naming the option.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, type Model } from '../engine/index';
import { fool, pixelDistance, type FoolOptions, type FoolResult } from '../engine/techniques/fool';
import { defaultOptions, type RgbaImage } from '../engine/techniques/technique';
import { gpu } from './helpers/gpu';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const BOAT = join(SHARED, 'models', 'tinyvgg', 'samples', 'boat_1.jpeg');
const KOALA = 5;
/** The bar for an imperceptible change. */
const MIN_PSNR_DB = 35;

async function picture(bytes: Uint8Array, name: string): Promise<RgbaImage> {
  const d = await decodeImage(bytes, name);
  return { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) };
}

describe('fool (TinyVGG)', () => {
  let model: Model;
  let boat: RgbaImage;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    boat = await picture(readFileSync(BOAT), BOAT);
  }, 60_000);
  afterAll(() => model?.dispose());

  const run = (o: Partial<FoolOptions>) => fool.run({ model, image: boat }, { ...defaultOptions(fool), target: String(KOALA), ...o });

  /** Decode the technique's PNG bytes here and classify them again. */
  async function reclassify(r: FoolResult): Promise<number> {
    const img = await picture(r.png, 'fooled.png');
    expect(img.rgba).toEqual(r.image.rgba);
    const x = model.preprocess(img.rgba, img.width, img.height);
    try {
      const [[top]] = await model.classify(x, 1);
      return top.index;
    } finally {
      x.dispose();
    }
  }

  /** The saved PNG is read as a koala, its distances recomputed here, its views the saved pixels. */
  async function expectFooled(r: FoolResult): Promise<void> {
    expect(r.before[0].label).toBe('lifeboat');
    expect(r.fooledAfterPng).toBe(true);
    expect(await reclassify(r)).toBe(KOALA);
    expect(r.after[0].index).toBe(KOALA);
    expect(pixelDistance(r.image, r.original)).toEqual({ lInf: r.lInf, l2: r.l2, psnr: r.psnr });
    expect(r.lInf).toBeGreaterThan(0);
    expect(r.iterations).toBeGreaterThan(0);
    const p = fool.present(r, { model });
    expect(p.views.map((v) => v.suffix)).toEqual(['', 'diff']);
    expect(p.views[0].image.rgba).toEqual(r.image.rgba);
    expect(p.summary).toMatchObject({ fooledAfterPng: true, target: { index: KOALA }, iterations: r.iterations });
  }

  it('ascent (the lecture): the lifeboat becomes a koala on the saved PNG, PSNR >= 35 dB', async () => {
    // The lecture's lr 1 is for 224 x 224 inputs; the same change per pixel at 64 x 64 is 1 * 64 / 224.
    const r = await run({ lr: 64 / 224 });
    await expectFooled(r);
    expect(r.psnr).toBeGreaterThanOrEqual(MIN_PSNR_DB);
    expect(r.iterations).toBeLessThanOrEqual(100);
  }, 60_000);

  it('pgd: a koala on the saved PNG within the L-infinity budget', async () => {
    const eps = 6;
    const r = await run({ method: 'pgd', eps, steps: 30 });
    await expectFooled(r);
    expect(r.lInf).toBeLessThanOrEqual(eps);
    expect(r.psnr).toBeGreaterThanOrEqual(20 * Math.log10(255 / eps));
  }, 60_000);

  it('fgsm: one sign step, every pixel within eps', async () => {
    const r = await run({ method: 'fgsm', eps: 3 });
    expect(r.iterations).toBe(1);
    expect(r.lInf).toBeLessThanOrEqual(3);
    expect(r.lInf).toBeGreaterThanOrEqual(2);
    expect(typeof r.fooledAfterPng).toBe('boolean');
    expect(await reclassify(r) === KOALA).toBe(r.fooledAfterPng);
  }, 30_000);

  it('bad options fail naming the option', async () => {
    await expect(run({ eps: 0, method: 'pgd' })).rejects.toThrow(/--eps must be a positive number/);
    await expect(run({ target: 'zebra' })).rejects.toThrow(/no class of model 'tinyvgg' matches --target 'zebra'/);
    await expect(run({ method: 'bogus' as never })).rejects.toThrow(/--method 'bogus'.*ascent, fgsm, pgd/);
  });
});
