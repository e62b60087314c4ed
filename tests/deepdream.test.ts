// DeepDream (engine/techniques/deepdream.ts) on TinyVGG (real weights), small and few steps:
//   - the dream raises the chosen layer's activation norm (recomputed here in float64 from a fresh
//     forward of the returned image), over octaves of different sizes;
//   - one channel: that channel's norm rises;
//   - a guide image: the dot product with the guide's mean features rises;
//   - equal seeds give bit-identical images, another seed (other jitter) a different one;
//   - pixels stay in the valid range; too small an input fails naming the layer and the size.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, Tensor, type Model } from '../engine/index';
import { deepdream, resizeImage, type DeepDreamOptions } from '../engine/techniques/deepdream';
import { defaultOptions, type RgbaImage } from '../engine/techniques/technique';
import { expectClose, type Tolerance } from './helpers/close';
import { gpu, track } from './helpers/gpu';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared', 'models', 'tinyvgg', 'samples');
const BOAT = join(SAMPLES, 'boat_1.jpeg');
const KOALA = join(SAMPLES, 'koala_1.jpeg');
/** The technique's float32 GPU norm vs the float64 sum of the same activation read back. */
const NORM_TOL: Tolerance = { atol: 1e-4, rtol: 1e-4 };
/** Bilinear resizing: float32 interpolation weights. */
const RESIZE_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };
const SMALL: Partial<DeepDreamOptions> = { octaves: 2, jitter: 4, layer: 'conv_2_1' };

async function picture(file: string): Promise<RgbaImage> {
  const d = await decodeImage(readFileSync(file), file);
  return { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) };
}

/** Float64 activations of `layer` for network input data (1, 3, H, W). */
async function activation(model: Model, data: Float32Array, h: number, w: number, layer: string): Promise<{ a: Float64Array; c: number; hw: number }> {
  const x = Tensor.fromData(model.rt, data, [1, 3, h, w], 'test input');
  try {
    const y = model.forward(x, { until: layer, keep: false });
    return { a: Float64Array.from(await y.read()), c: y.c, hw: y.h * y.w };
  } finally {
    x.dispose();
  }
}

const sumSquares = (a: ArrayLike<number>, from = 0, to = a.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i] * a[i];
  return s;
};

describe('deepdream (TinyVGG)', () => {
  let model: Model;
  let boat: RgbaImage;
  let x0: Float32Array;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    boat = await picture(BOAT);
    const x = model.preprocess(boat.rgba, boat.width, boat.height);
    x0 = await x.read();
    x.dispose();
  }, 60_000);
  afterAll(() => model?.dispose());

  const run = (o: Partial<DeepDreamOptions> = {}) => deepdream.run({ model, image: boat }, { ...defaultOptions(deepdream), ...SMALL, ...o } as DeepDreamOptions);

  it('raises the layer\'s activation norm over two octaves (64x64 and 46x46)', async () => {
    const r = await run();
    expect(r.octaves.map((t) => t.size)).toEqual([[46, 46], [64, 64]]);
    expect(r.iterations).toBe(20);
    const before = await activation(model, x0, 64, 64, 'conv_2_1');
    const after = await activation(model, r.input, 64, 64, 'conv_2_1');
    expectClose([r.norm.before, r.norm.after], [Math.sqrt(sumSquares(before.a)), Math.sqrt(sumSquares(after.a))], NORM_TOL, [2], 'norms');
    expect(r.norm.after).toBeGreaterThan(1.3 * r.norm.before);
    expect(r.input.every((v) => v >= 0 && v <= 1)).toBe(true);
    const p = deepdream.present(r, { model });
    expect(p.views.map((v) => v.suffix)).toEqual(['', 'octaves']);
    expect([p.views[0].image.width, p.views[0].image.height]).toEqual([64, 64]);
  }, 60_000);

  it('one channel: raises that channel\'s norm', async () => {
    const channel = 3;
    const r = await run({ channel, octaves: 1 });
    const before = await activation(model, x0, 64, 64, 'conv_2_1');
    const after = await activation(model, r.input, 64, 64, 'conv_2_1');
    const plane = (a: Float64Array, hw: number) => Math.sqrt(sumSquares(a, channel * hw, (channel + 1) * hw));
    expectClose([r.norm.before, r.norm.after], [plane(before.a, before.hw), plane(after.a, after.hw)], NORM_TOL, [2], 'channel norms');
    expect(r.norm.after).toBeGreaterThan(1.5 * r.norm.before);
  }, 60_000);

  it('a guide image: the dot product with the guide\'s mean features rises', async () => {
    const koala = await picture(KOALA);
    const xg = model.preprocess(koala.rgba, koala.width, koala.height);
    const g = await activation(model, await xg.read(), 64, 64, 'conv_2_1');
    xg.dispose();
    const means = Array.from({ length: g.c }, (_, c) => g.a.subarray(c * g.hw, (c + 1) * g.hw).reduce((s, v) => s + v, 0) / g.hw);
    const dotWithGuide = (a: Float64Array, hw: number) => a.reduce((s, v, i) => s + v * means[Math.floor(i / hw)], 0);
    const r = await run({ guide: KOALA, octaves: 1 });
    expect(r.guided).toBe(true);
    const before = await activation(model, x0, 64, 64, 'conv_2_1');
    const after = await activation(model, r.input, 64, 64, 'conv_2_1');
    expect(dotWithGuide(after.a, after.hw)).toBeGreaterThan(1.1 * dotWithGuide(before.a, before.hw));
  }, 60_000);

  it('equal seeds give bit-identical dreams, another seed another one', async () => {
    const o = { octaves: 1, steps: 3 };
    const a = await run({ ...o, seed: 7 });
    const b = await run({ ...o, seed: 7 });
    const c = await run({ ...o, seed: 8 });
    expect(b.input).toEqual(a.input);
    expect(c.input).not.toEqual(a.input);
  }, 60_000);

  it('an AbortSignal stops the run with an AbortError', async () => {
    const stop = new AbortController();
    let steps = 0;
    const onProgress = (done: number) => {
      steps = done;
      if (done === 2) stop.abort();
    };
    const o = { ...defaultOptions(deepdream), ...SMALL } as DeepDreamOptions;
    await expect(deepdream.run({ model, image: boat, signal: stop.signal, onProgress }, o)).rejects.toMatchObject({ name: 'AbortError' });
    expect(steps).toBe(2);
  }, 30_000);

  it('resizeImage is bilinear with pixel centres aligned (a linear ramp stays a ramp)', async () => {
    const [h, w] = [6, 10];
    const data = Float32Array.from({ length: h * w }, (_, i) => 2 * (i % w) + 0.5 * Math.floor(i / w));
    const x = track(Tensor.fromData(model.rt, data, [1, 1, h, w], 'ramp'));
    const y = track(resizeImage(x, 12, 20));
    // Output pixel (oy, ox) samples input ((ox + 0.5) / 2 - 0.5, (oy + 0.5) / 2 - 0.5); compared
    // where that lies inside the image (the border ring depends on the padding).
    const src = (o: number) => (o + 0.5) / 2 - 0.5;
    const inside = Array.from({ length: 12 * 20 }, (_, i) => i).filter((i) => src(i % 20) >= 0 && src(i % 20) <= w - 1 && src(Math.floor(i / 20)) >= 0 && src(Math.floor(i / 20)) <= h - 1);
    const got = await y.read();
    expect(inside.length).toBe(10 * 18);
    const want = inside.map((i) => 2 * src(i % 20) + 0.5 * src(Math.floor(i / 20)));
    expectClose(inside.map((i) => got[i]), want, RESIZE_TOL, [inside.length], 'resized ramp (inside)');
  });

  it('fails naming the layer when the image is too small for it, and on a bad channel', async () => {
    await expect(run({ size: 4 })).rejects.toThrow(/smaller than layer 'conv_2_1' needs/);
    await expect(run({ channel: 99 })).rejects.toThrow(/--channel 99 is not a channel of layer 'conv_2_1'/);
  });
});
