// top-patches (engine/techniques/top_patches.ts) on the 20 TinyVGG sample images:
//   - each reported activation is the activation recomputed at the crop's source position (the
//     image run alone), and the maximum of that channel's map;
//   - the top-k are sorted and are the true top-k of the gallery; channels by selectivity;
//   - each crop is the unit's receptive field: its size, and the network input's pixels there;
//   - a second run takes the gallery pass from the cache; a chosen channel; a bad channel's error.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, type Model } from '../engine/index';
import { rgbFromTensor, type RgbaImage } from '../engine/display/index';
import { defaultOptions } from '../engine/techniques/technique';
import { cropBox, defaultPatchLayer, topPatches, type TopPatchesOptions, type TopPatchesResult } from '../engine/techniques/top_patches';
import { receptiveFields } from '../engine/techniques/receptive_field';
import { alexnetTorchvisionSpec } from '../engine/models/alexnet';
import { EXACT, expectClose } from './helpers/close';
import { gpu } from './helpers/gpu';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const SAMPLES = join(SHARED, 'models', 'tinyvgg', 'samples');
/** Gallery batches vs an image run alone: the same kernels, only the batch differs. */
const SAME_ENGINE_TOL = { atol: 1e-6, rtol: 1e-5 };
const LAYER = 'conv_2_1';

let model: Model;
let cache: string;
let first: TopPatchesResult;
const options = (o: Partial<TopPatchesOptions> = {}): TopPatchesOptions => ({ ...defaultOptions(topPatches), gallery: SAMPLES, cache, layer: LAYER, channels: 3, k: 4, ...o });

/** Layer activation (C, H, W) and network-input picture of one image file run alone. */
async function alone(file: string): Promise<{ act: Float32Array; picture: RgbaImage }> {
  const d = await decodeImage(readFileSync(file), file);
  const x = model.preprocess(d.rgba, d.width, d.height);
  try {
    const { height, width, ...t } = model.spec.input;
    const picture = rgbFromTensor(await x.read(), width, height, t);
    return { act: await model.forward(x, { until: LAYER, keep: false }).read(), picture };
  } finally {
    x.dispose();
  }
}

beforeAll(async () => {
  const rt = await gpu();
  model = await loadModel(rt, join(ROOT, 'weights', 'tinyvgg'));
  cache = mkdtempSync(join(tmpdir(), 'cnnvis-patches-'));
  first = await topPatches.run({ model }, options());
});

afterAll(() => {
  model?.dispose();
  rmSync(cache, { recursive: true, force: true });
});

describe('top-patches', () => {
  it('reports activations recomputed at the source position, sorted, the true top-k of the gallery', async () => {
    const [c, h, w] = model.layerShape(LAYER, 64, 64);
    expect(first.layer).toBe(LAYER);
    expect(first.gallery.count).toBe(20);
    expect(first.channels.map((x) => x.selectivity)).toEqual([...first.channels.map((x) => x.selectivity)].sort((a, b) => b - a));
    const runs = new Map<string, Awaited<ReturnType<typeof alone>>>();
    for (const ch of first.channels) {
      expect(ch.patches).toHaveLength(4);
      const acts = ch.patches.map((p) => p.activation);
      expect(acts).toEqual([...acts].sort((a, b) => b - a));
      for (const p of ch.patches) {
        if (!runs.has(p.file)) runs.set(p.file, await alone(p.file));
        const map = runs.get(p.file)!.act.subarray(ch.channel * h * w, (ch.channel + 1) * h * w);
        expectClose([p.activation], [map[p.y * w + p.x]], SAME_ENGINE_TOL, [1], `${p.file} channel ${ch.channel} at (${p.y}, ${p.x})`);
        expect(p.activation).toBeGreaterThanOrEqual(Math.max(...map) - 1e-5);
      }
    }
    expect(c).toBeGreaterThan(first.channels[0].channel);
  });

  it('the top-k are the gallery top-k (every image run alone)', async () => {
    const { readdirSync } = await import('node:fs');
    const [, h, w] = model.layerShape(LAYER, 64, 64);
    const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.jpeg')).sort().map((f) => join(SAMPLES, f));
    const maxima = new Map<string, Float32Array>();
    for (const f of files) maxima.set(f, (await alone(f)).act);
    for (const ch of first.channels) {
      const best = files.map((f) => Math.max(...maxima.get(f)!.subarray(ch.channel * h * w, (ch.channel + 1) * h * w))).sort((a, b) => b - a);
      expectClose(ch.patches.map((p) => p.activation), best.slice(0, 4), SAME_ENGINE_TOL, [4], `channel ${ch.channel} top-4`);
    }
  });

  it("crops the unit's exact receptive field from the network input, gray past the image", async () => {
    const fields = receptiveFields(model.spec).find((l) => l.name === LAYER)!;
    expect(fields.fields[0].size).toEqual([10, 10]);
    for (const ch of first.channels) {
      for (const p of ch.patches) {
        expect([p.crop.height, p.crop.width]).toEqual(ch.field.size);
        expect([p.box[2] - p.box[0] + 1, p.box[3] - p.box[1] + 1]).toEqual(ch.field.size);
        // TinyVGG's convs are unpadded: unit (0, 0)'s field starts at pixel 0, unit (y, x)'s at stride * (y, x).
        expect([p.box[0], p.box[1]]).toEqual([p.y * ch.field.stride[0], p.x * ch.field.stride[1]]);
        const { picture } = await alone(p.file);
        for (let y = 0; y < p.crop.height; y++) {
          for (let x = 0; x < p.crop.width; x++) {
            const [sy, sx] = [p.box[0] + y, p.box[1] + x];
            const inside = sy >= 0 && sx >= 0 && sy < picture.height && sx < picture.width;
            const want = inside ? Array.from(picture.rgba.subarray((sy * picture.width + sx) * 4, (sy * picture.width + sx) * 4 + 4)) : [128, 128, 128, 255];
            expect(Array.from(p.crop.rgba.subarray((y * p.crop.width + x) * 4, (y * p.crop.width + x) * 4 + 4))).toEqual(want);
          }
        }
      }
    }
    // Padding: a box reaching past the top-left corner.
    const img = { width: 3, height: 2, rgba: new Uint8ClampedArray(24).map((_, i) => i) };
    const crop = cropBox(img, [-1, -1, 0, 1]);
    expect([crop.width, crop.height]).toEqual([3, 2]);
    expect(Array.from(crop.rgba.subarray(0, 4))).toEqual([128, 128, 128, 255]);
    expect(Array.from(crop.rgba.subarray(16, 24))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('a second run reads the gallery pass from the cache; present gives one grid per channel', async () => {
    const again = await topPatches.run({ model }, options());
    expect([again.gallery.cached, again.gallery.computed, again.gallery.forwardPasses]).toEqual([20, 0, 0]);
    expectClose(again.channels.flatMap((c) => c.patches.map((p) => p.activation)), first.channels.flatMap((c) => c.patches.map((p) => p.activation)), EXACT, undefined, 'cached run');
    const p = topPatches.present(again, { model });
    expect(p.views.map((v) => v.suffix)).toEqual(again.channels.map((c) => `c${c.channel}`));
    expect(p.raw.shape).toEqual([3, 4]);
    const summary = p.summary.channels as { patches: Record<string, unknown>[] }[];
    expect(Object.keys(summary[0].patches[0]).sort()).toEqual(['activation', 'box', 'file', 'index', 'rank', 'x', 'y']);
  });

  it('takes one chosen channel; a channel outside the layer fails naming the valid ones', async () => {
    const one = await topPatches.run({ model }, options({ channel: 5, k: 2 }));
    expect(one.channels.map((c) => [c.channel, c.patches.length])).toEqual([[5, 2]]);
    const c = model.layerShape(LAYER, 64, 64)[0];
    await expect(topPatches.run({ model }, options({ channel: c }))).rejects.toThrow(new RegExp(`--channel ${c} is not a channel of layer '${LAYER}'.*0\\.\\.${c - 1}`));
  });

  it('defaults to the last spatial layer whose field is at most half the input', () => {
    expect(defaultPatchLayer(receptiveFields(model.spec), 64)).toBe('max_pool_2');
    expect(defaultPatchLayer(receptiveFields(alexnetTorchvisionSpec([])), 224)).toBe('features.6');
  });
});
