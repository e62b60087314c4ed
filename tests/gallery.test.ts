// Gallery features (engine/techniques/gallery.ts) on a small gallery of TinyVGG samples:
//   - the features equal the layer's activation of each image run alone (flatten, avg, max, argmax);
//   - a second run reads everything from the cache with no forward pass, bit for bit;
//   - an image whose bytes change is recomputed (and only it);
//   - an interrupted run resumes from the chunks it saved;
//   - the default feature layer of each network, chunk validation, gallery listing errors.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, type Model } from '../engine/index';
import { encodePng } from '../engine/display/index';
import { alexnetCaffeSpec, alexnetTorchvisionSpec } from '../engine/models/alexnet';
import type { ModelSpec } from '../engine/models/spec';
import { cacheGroup, decodeChunk, defaultFeatureLayer, encodeChunk, extractGalleryFeatures, type GalleryPool, type GalleryProgress } from '../engine/techniques/gallery';
import { galleryFeatures } from '../engine/techniques/gallery_features';
import { nodeGallery } from '../engine/techniques/gallery_source';
import { DirectoryStore, MemoryStore } from '../engine/techniques/gallery_store';
import { defaultOptions } from '../engine/techniques/technique';
import { EXACT, expectClose, FORWARD_TOL } from './helpers/close';
import { generatedWeights, weightsFile } from './helpers/generated_weights';
import { gpu } from './helpers/gpu';
import { rng } from './helpers/random';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const SAMPLES = join(SHARED, 'models', 'tinyvgg', 'samples');
const NAMES = ['boat_1', 'bug_1', 'bus_1', 'car_1', 'espresso_1', 'koala_1', 'orange_1', 'panda_1', 'pepper_1', 'pizza_1'].map((n) => `${n}.jpeg`);
/** Features vs the same layer run image by image: the same kernels, only the batch differs. */
const SAME_ENGINE_TOL = { atol: 1e-6, rtol: 1e-5 };

let model: Model;
let dir: string;

beforeAll(async () => {
  const rt = await gpu();
  model = await loadModel(rt, join(ROOT, 'weights', 'tinyvgg'));
  dir = mkdtempSync(join(tmpdir(), 'cnnvis-gallery-'));
  mkdirSync(join(dir, 'images'));
  for (const n of NAMES) copyFileSync(join(SAMPLES, n), join(dir, 'images', n));
});

afterAll(() => {
  model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The layer's activation (C, H, W) of one image file run alone. */
async function alone(file: string, layer: string): Promise<Float32Array> {
  const d = await decodeImage(readFileSync(file), file);
  const x = model.preprocess(d.rgba, d.width, d.height);
  try {
    return await model.forward(x, { until: layer, keep: false }).read();
  } finally {
    x.dispose();
  }
}

/** CPU pooling of one image's (C, H, W) activation, as gallery.ts documents it. */
function pooled(a: Float32Array, [c, h, w]: readonly number[], pool: GalleryPool): Float64Array {
  if (pool === 'flatten') return Float64Array.from(a);
  const out = new Float64Array(pool === 'max-argmax' ? 2 * c : c);
  for (let ch = 0; ch < c; ch++) {
    const m = a.subarray(ch * h * w, (ch + 1) * h * w);
    if (pool === 'avg') out[ch] = m.reduce((s, v) => s + v, 0) / (h * w);
    else {
      const best = m.indexOf(Math.max(...m));
      out[ch] = m[best];
      if (pool === 'max-argmax') out[c + ch] = best;
    }
  }
  return out;
}

describe('gallery features', () => {
  it.each([
    ['flatten', 'max_pool_2'],
    ['avg', 'conv_2_1'],
    ['max', 'max_pool_1'],
    ['max-argmax', 'conv_1_2'],
  ] as const)('pool %s at %s equals each image run alone', async (pool, layer) => {
    const items = await nodeGallery(join(dir, 'images'), 5);
    const f = await extractGalleryFeatures(model, items, { layer, pool, batch: 3 });
    expect(f.files).toEqual(NAMES.slice(0, 5).map((n) => join(dir, 'images', n)));
    expect(f.forwardPasses).toBe(2);
    const shape = model.layerShape(layer, 64, 64);
    expect(f.layerShape).toEqual(shape);
    for (const [i, file] of f.files.entries()) {
      const want = pooled(await alone(file, layer), shape, pool);
      const got = f.features.subarray(i * f.dim, (i + 1) * f.dim);
      if (pool === 'max-argmax') {
        const c = shape[0];
        // Maxima within the tolerance; argmax positions exactly (a near-tie could flip one: none here).
        expectClose(got.subarray(0, c), want.subarray(0, c), SAME_ENGINE_TOL, [c], `${file} maxima`);
        expectClose(got.subarray(c), want.subarray(c), EXACT, [c], `${file} argmax`);
      } else expectClose(got, want, pool === 'avg' ? FORWARD_TOL : SAME_ENGINE_TOL, [f.dim], `${file} ${pool}`);
    }
  });

  it('is reused on a second run (no forward pass) and recomputes only an image whose bytes changed', async () => {
    const cache = join(dir, 'cache-a');
    const items = await nodeGallery(join(dir, 'images'));
    const first = await extractGalleryFeatures(model, items, { pool: 'avg', batch: 4, store: new DirectoryStore(cache) });
    expect([first.layer, first.cached, first.computed, first.forwardPasses]).toEqual(['max_pool_2', 0, NAMES.length, 3]);

    const progress: GalleryProgress[] = [];
    const second = await extractGalleryFeatures(model, items, { pool: 'avg', batch: 4, store: new DirectoryStore(cache), onProgress: (p) => progress.push(p) });
    expect([second.cached, second.computed, second.forwardPasses]).toEqual([NAMES.length, 0, 0]);
    expect(second.group).toBe(first.group);
    expectClose(second.features, first.features, EXACT, [NAMES.length, first.dim], 'cached features');
    expect(progress.at(-1)).toMatchObject({ done: NAMES.length, total: NAMES.length, cached: NAMES.length });

    // Another pooling is another cache group: computed again.
    const max = await extractGalleryFeatures(model, items, { pool: 'max', batch: 4, store: new DirectoryStore(cache) });
    expect(max.group).not.toBe(first.group);
    expect(max.forwardPasses).toBe(3);

    // New bytes for image 3 (a random picture): only it is recomputed, and its features are its own.
    const r = rng(11);
    const rgba = new Uint8ClampedArray(64 * 64 * 4).map((_, i) => (i % 4 === 3 ? 255 : Math.floor(r() * 256)));
    writeFileSync(items[3].name, await encodePng({ width: 64, height: 64, rgba }));
    const third = await extractGalleryFeatures(model, items, { pool: 'avg', batch: 4, store: new DirectoryStore(cache) });
    expect([third.cached, third.computed, third.forwardPasses]).toEqual([NAMES.length - 1, 1, 1]);
    expect(third.hashes[3]).not.toBe(first.hashes[3]);
    const d = first.dim;
    expectClose(third.features.subarray(3 * d, 4 * d), pooled(await alone(items[3].name, 'max_pool_2'), first.layerShape, 'avg'), FORWARD_TOL, [d], 'changed image');
    expect(Math.max(...third.features.subarray(3 * d, 4 * d).map((v, k) => Math.abs(v - first.features[3 * d + k])))).toBeGreaterThan(1e-3);
    for (const i of [0, 1, 2, 4, 9]) expectClose(third.features.subarray(i * d, (i + 1) * d), first.features.subarray(i * d, (i + 1) * d), EXACT, [d], `unchanged image ${i}`);
    copyFileSync(join(SAMPLES, NAMES[3]), items[3].name);
  });

  it('resumes after an interruption from the chunks already saved', async () => {
    const store = new MemoryStore();
    const items = await nodeGallery(join(dir, 'images'));
    const stop = new AbortController();
    const run = extractGalleryFeatures(model, items, {
      layer: 'conv_2_2', pool: 'max', batch: 3, store, signal: stop.signal,
      onProgress: (p) => p.computed >= 3 && stop.abort(),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const resumed = await extractGalleryFeatures(model, items, { layer: 'conv_2_2', pool: 'max', batch: 3, store });
    expect([resumed.cached, resumed.computed, resumed.forwardPasses]).toEqual([3, NAMES.length - 3, 3]);
    const fresh = await extractGalleryFeatures(model, items, { layer: 'conv_2_2', pool: 'max', batch: 3 });
    expectClose(resumed.features, fresh.features, SAME_ENGINE_TOL, [NAMES.length, fresh.dim], 'resumed features');
  });

  it('the gallery-features technique gives (N, D) features and the file list, with progress', async () => {
    const o = { ...defaultOptions(galleryFeatures), gallery: join(dir, 'images'), limit: 4, cache: 'off', pool: 'avg' as const };
    const seen: [number, number][] = [];
    const ctx = { model, onProgress: (done: number, total: number) => seen.push([done, total]) };
    const r = await galleryFeatures.run(ctx, o);
    const p = galleryFeatures.present(r, ctx);
    expect(p.raw.shape).toEqual([4, model.layerShape('max_pool_2', 64, 64)[0]]);
    expect(p.summary.files).toEqual(r.files);
    expect(seen.at(-1)).toEqual([4, 4]);
  });
});

describe('gallery plumbing', () => {
  it('the default feature layer is the last one before the classifier', () => {
    const json = (m: string) => JSON.parse(readFileSync(join(ROOT, 'weights', m, 'model.json'), 'utf8')) as ModelSpec;
    const labels = Array.from({ length: 1000 }, (_, i) => String(i));
    expect(defaultFeatureLayer({ spec: alexnetTorchvisionSpec(labels) })).toBe('classifier.4');
    expect(defaultFeatureLayer({ spec: alexnetCaffeSpec(labels) })).toBe('fc7');
    expect(defaultFeatureLayer({ spec: json('googlenet') })).toBe('pool5/7x7_s1');
    expect(defaultFeatureLayer({ spec: json('squeezenet1_1') })).toBe('pool10');
    expect(defaultFeatureLayer({ spec: json('tinyvgg') })).toBe('max_pool_2');
  });

  it('the cache group tells apart the weights, the layer and the pooling', async () => {
    const other = await loadModel(await gpu(), { spec: model.spec, weights: weightsFile(model.spec, generatedWeights(model.spec, 9)), file: 'generated tinyvgg' });
    try {
      const group = await cacheGroup(model, 'max_pool_2', 'avg');
      expect(group).toMatch(/^tinyvgg\.max_pool_2\.avg\.[0-9a-f]{16}$/);
      expect(await cacheGroup(model, 'max_pool_2', 'avg')).toBe(group);
      expect(await cacheGroup(other, 'max_pool_2', 'avg')).not.toBe(group);
      expect(await cacheGroup(model, 'max_pool_2', 'max')).not.toBe(group);
      expect(await cacheGroup(model, 'conv_2_2', 'avg')).not.toBe(group);
    } finally {
      other.dispose();
    }
  });

  it('chunks round-trip; a truncated or mismatched chunk is ignored', () => {
    const rows = Float32Array.from({ length: 6 }, (_, i) => i + 0.5);
    const bytes = encodeChunk(3, ['aa', 'bb'], rows);
    const back = decodeChunk(bytes, 3)!;
    expect([...back.get('bb')!]).toEqual([3.5, 4.5, 5.5]);
    expect(decodeChunk(bytes.subarray(0, bytes.length - 4), 3)).toBeNull();
    expect(decodeChunk(bytes, 2)).toBeNull();
    expect(() => encodeChunk(4, ['aa'], rows)).toThrow(/6 values for 1 images of 4 features/);
  });

  it('lists a list file relative to its folder, and names a missing gallery', async () => {
    writeFileSync(join(dir, 'list.txt'), `# two images\nimages/${NAMES[2]}\n\nimages/${NAMES[0]}\n`);
    expect((await nodeGallery(join(dir, 'list.txt'))).map((i) => i.name)).toEqual([join(dir, 'images', NAMES[2]), join(dir, 'images', NAMES[0])]);
    await expect(nodeGallery(join(dir, 'nope'))).rejects.toThrow(/nope' does not exist/);
    await expect(extractGalleryFeatures(model, await nodeGallery(join(dir, 'images'), 1), { layer: 'nope' })).rejects.toThrow(/no layer 'nope'.*conv_1_1/);
  });
});
