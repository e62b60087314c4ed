// Texture synthesis and style transfer (engine/techniques/style.ts) on TinyVGG (real weights):
//   - texture synthesis from noise lowers its relative Gram loss at least tenfold, recomputed here
//     with the float64 Gram reference from fresh forwards of the source and the result;
//   - style transfer lowers the style loss while the content loss stays small;
//   - equal seeds give bit-identical textures, another seed another one;
//   - a missing style image or a bad layer fails naming the option.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, Tensor, type Model } from '../engine/index';
import { defaultStyleLayers, style, texture, type StyleOptions, type TextureOptions } from '../engine/techniques/style';
import { defaultOptions, type RgbaImage } from '../engine/techniques/technique';
import { gpu, track } from './helpers/gpu';
import { gram } from './reference/gram';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared', 'models', 'tinyvgg', 'samples');
const PIZZA = join(SAMPLES, 'pizza_1.jpeg');
const ORANGE = join(SAMPLES, 'orange_1.jpeg');
/** The bar: the Gram loss falls at least this many times. */
const MIN_REDUCTION = 10;
/** A 40 x 40 result: the conv layers run at any size and Gram matrices do not depend on it. */
const SIZE = 40;

async function picture(file: string): Promise<RgbaImage> {
  const d = await decodeImage(readFileSync(file), file);
  return { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) };
}

describe('texture and style (TinyVGG)', () => {
  let model: Model;
  let pizza: RgbaImage;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    pizza = await picture(PIZZA);
  }, 60_000);
  afterAll(() => model?.dispose());

  /** Float64 Grams of every layer for network input data (1, 3, h, w). */
  async function grams(data: Float32Array, h: number, w: number, layers: string[]): Promise<Float64Array[]> {
    const x = track(Tensor.fromData(model.rt, data, [1, 3, h, w], 'gram input'));
    model.forward(x, { keep: true, until: layers[layers.length - 1] });
    return Promise.all(layers.map(async (l) => {
      const a = model.activation(l);
      return gram(1, a.c, a.h * a.w, await a.read());
    }));
  }

  /** sum_l ||G_l(x) - G_l(t)||^2 / (L ||G_l(t)||^2), in float64. */
  const relLoss = (g: Float64Array[], t: Float64Array[]) =>
    g.reduce((s, gl, l) => s + gl.reduce((a, v, i) => a + (v - t[l][i]) ** 2, 0) / t[l].reduce((a, v) => a + v * v, 0), 0) / g.length;

  const runTexture = (o: Partial<TextureOptions>) => texture.run({ model, image: pizza }, { ...defaultOptions(texture), size: SIZE, ...o } as TextureOptions);

  it('texture synthesis from noise lowers the Gram loss at least tenfold (float64 recomputation)', async () => {
    const r = await runTexture({ steps: 80 });
    const layers = defaultStyleLayers(model);
    expect(r.layers).toEqual(['conv_1_1', 'conv_1_2', 'conv_2_1', 'conv_2_2']);
    const x0 = track(model.preprocess(pizza.rgba, pizza.width, pizza.height));
    const target = await grams(await x0.read(), 64, 64, layers);
    const end = relLoss(await grams(r.input, SIZE, SIZE, layers), target);
    expect(Math.abs(end - r.loss.end.style)).toBeLessThanOrEqual(1e-3 * end + 1e-6);
    expect(r.loss.start.style / end, `${r.loss.start.style} -> ${end}`).toBeGreaterThanOrEqual(MIN_REDUCTION);
    const p = texture.present(r, { model });
    expect(p.views.map((v) => v.suffix)).toEqual(['', 'grid']);
    expect([p.views[0].image.width, p.views[0].image.height]).toEqual([SIZE, SIZE]);
  }, 90_000);

  it('equal seeds give bit-identical textures, another seed another one', async () => {
    const a = await runTexture({ steps: 3, seed: 5 });
    const b = await runTexture({ steps: 3, seed: 5 });
    const c = await runTexture({ steps: 3, seed: 6 });
    expect(b.input).toEqual(a.input);
    expect(c.input).not.toEqual(a.input);
  }, 60_000);

  it('style transfer lowers the style loss and keeps the content close', async () => {
    const orange = await picture(ORANGE);
    const o = { ...defaultOptions(style), styleImage: PIZZA, steps: 30, size: SIZE } as StyleOptions;
    const r = await style.run({ model, image: orange }, o);
    expect(r.contentLayer).toBe('conv_2_1');
    expect(r.loss.start.content).toBe(0);
    expect(r.loss.end.style).toBeLessThan(0.5 * r.loss.start.style);
    expect(r.loss.end.content!).toBeLessThan(0.5);
    expect(style.present(r, { model }).views[1].image.width).toBeGreaterThan(3 * SIZE);
  }, 90_000);

  it('a missing style image or a bad layer fails naming the option', async () => {
    await expect(style.run({ model, image: pizza }, { ...defaultOptions(style), steps: 1 } as StyleOptions)).rejects.toThrow(/--style-image needs an image/);
    await expect(style.run({ model, image: pizza }, { ...defaultOptions(style), styleImage: '/nonexistent.png', steps: 1 } as StyleOptions)).rejects.toThrow(/--style-image '\/nonexistent.png'/);
    await expect(runTexture({ layers: 'conv_1_1,bogus', steps: 1 })).rejects.toThrow(/no layer 'bogus'.*--layers/);
  });
});
