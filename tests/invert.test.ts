// Feature inversion (engine/techniques/invert.ts) on TinyVGG (real weights, at 48x48):
//   - from noise, the feature loss ||phi(x) - phi0||^2 / ||phi0||^2 falls at least tenfold at two
//     layers run side by side (--layers), recomputed here in float64 from a fresh forward;
//   - the alpha-norm step equals its float64 reference (x -= rate * ((x - mid) / B)^(alpha - 1));
//   - equal seeds give bit-identical reconstructions, another seed another one;
//   - bad layers and exponents fail naming the option.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, Tensor, type Model } from '../engine/index';
import { networkImage } from '../engine/techniques/image_opt';
import { alphaNormStep, INVERT_B, invert, type InvertOptions } from '../engine/techniques/invert';
import { defaultOptions, type RgbaImage } from '../engine/techniques/technique';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { gpu, track } from './helpers/gpu';
import { randomArray } from './helpers/random';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BOAT = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared', 'models', 'tinyvgg', 'samples', 'boat_1.jpeg');
/** The bar: the feature loss falls at least this many times. */
const MIN_REDUCTION = 10;
/** Below TinyVGG's 64: the conv layers run at any size. */
const SIZE = 48;

describe('invert (TinyVGG)', () => {
  let model: Model;
  let boat: RgbaImage;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    const d = await decodeImage(readFileSync(BOAT), BOAT);
    boat = { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) };
  }, 60_000);
  afterAll(() => model?.dispose());

  const run = (o: Partial<InvertOptions>) => invert.run({ model, image: boat }, { ...defaultOptions(invert), ...o } as InvertOptions);

  /** Float64 ||phi(x) - phi(x0)||^2 / ||phi(x0)||^2 at `layer`. */
  async function loss64(x: Float32Array, layer: string): Promise<number> {
    const feats = async (t: Tensor) => Float64Array.from(await model.forward(t, { until: layer, keep: false }).read());
    const x0 = track(networkImage(model, boat, SIZE, SIZE));
    const f0 = await feats(x0);
    const f = await feats(track(Tensor.fromData(model.rt, x, x0.shape, 'reconstruction')));
    return f.reduce((s, v, i) => s + (v - f0[i]) ** 2, 0) / f0.reduce((s, v) => s + v * v, 0);
  }

  it('lowers the feature loss at least tenfold at conv_1_2 and conv_2_2 (side by side)', async () => {
    const r = await run({ layers: 'conv_1_2, conv_2_2', steps: 60, size: SIZE });
    expect(r.inversions.map((v) => v.layer)).toEqual(['conv_1_2', 'conv_2_2']);
    for (const v of r.inversions) {
      const end = await loss64(v.input, v.layer);
      expect(Math.abs(end - v.loss.end)).toBeLessThanOrEqual(1e-4 + 1e-3 * end);
      expect(v.loss.start / end, `${v.layer}: ${v.loss.start} -> ${end}`).toBeGreaterThanOrEqual(MIN_REDUCTION);
      expect(v.input.every((p) => p >= 0 && p <= 1)).toBe(true);
    }
    const p = invert.present(r, { model });
    expect(p.views.map((v) => v.suffix)).toEqual(['', 'grid']);
    expect(p.views[0].image.rgba).toEqual(r.inversions[0].image.rgba);
    expect(p.raw.shape).toEqual([2, 3, SIZE, SIZE]);
  }, 90_000);

  it('the alpha-norm step equals its float64 reference', async () => {
    const shape = [1, 3, 5, 7];
    // Pixels in [-0.5, 1.5]: inside and outside TinyVGG's valid [0, 1].
    const data = Float32Array.from(randomArray(105, 11), (v) => 0.5 + v);
    const x = track(Tensor.fromData(model.rt, data, shape, 'x'));
    for (const alpha of [2, 6]) {
      const step = alphaNormStep(model, shape, alpha);
      const y = track(Tensor.fromData(model.rt, data, shape, 'y'));
      step.apply(y, 0.01);
      step.dispose();
      // TinyVGG: mid-gray 0.5 and B = 80 / 255 in every channel.
      const want = Array.from(data, (v) => v - 0.01 * ((v - 0.5) / (INVERT_B / 255)) ** (alpha - 1));
      expectClose(await y.read(), want, FORWARD_TOL, shape, `alpha ${alpha} step`);
    }
    expect(x.isDisposed).toBe(false);
  });

  it('equal seeds give bit-identical reconstructions, another seed another one', async () => {
    const a = await run({ steps: 4, seed: 3 });
    const b = await run({ steps: 4, seed: 3 });
    const c = await run({ steps: 4, seed: 4 });
    expect(b.inversions[0].input).toEqual(a.inversions[0].input);
    expect(c.inversions[0].input).not.toEqual(a.inversions[0].input);
  }, 60_000);

  it('bad options fail naming them', async () => {
    await expect(run({ layers: 'conv_1_2,nope', steps: 1 })).rejects.toThrow(/no layer 'nope'.*--layers/);
    await expect(run({ alpha: 5, steps: 1 })).rejects.toThrow(/--alpha must be an even integer/);
  });
});
