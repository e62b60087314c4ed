// neighbors on TinyVGG's 20 samples: the GPU distances and top-k equal a float64 brute force over
// the same features, and feature-space neighbours find the source of a flipped / cropped /
// recoloured gallery image far more often than pixel-space neighbours (both rates printed).

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, type Model } from '../engine/index';
import { encodePng, type RgbaImage } from '../engine/display/index';
import type { ModelSpec } from '../engine/models/spec';
import { extractGalleryFeatures } from '../engine/techniques/gallery';
import { nodeGallery } from '../engine/techniques/gallery_source';
import { neighbors, type NeighborsOptions } from '../engine/techniques/neighbors';
import { defaultOptions } from '../engine/techniques/technique';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { gpu } from './helpers/gpu';
import * as refDist from './reference/pairwise';
import * as refTopk from './reference/topk';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const SAMPLES = join(SHARED, 'models', 'tinyvgg', 'samples');
const IMAGENET = join(SHARED, 'images', 'imagenet-samples');
/** Distances recomputed in float64 from the float32 features: only the GPU's summation differs. */
const DISTANCE_TOL = FORWARD_TOL;

type Edit = (img: RgbaImage) => RgbaImage;
const EDITS: Record<string, Edit> = {
  flip: (img) => {
    const out = new Uint8ClampedArray(img.rgba.length);
    for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) out.set(img.rgba.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4), (y * img.width + img.width - 1 - x) * 4);
    return { ...img, rgba: out };
  },
  crop: (img) => {
    const [w, h] = [Math.round(img.width * 0.75), Math.round(img.height * 0.75)];
    const [x0, y0] = [Math.round(img.width * 0.2), Math.round(img.height * 0.05)];
    const out = new Uint8ClampedArray(w * h * 4);
    for (let y = 0; y < h; y++) out.set(img.rgba.subarray(((y + y0) * img.width + x0) * 4, ((y + y0) * img.width + x0 + w) * 4), y * w * 4);
    return { width: w, height: h, rgba: out };
  },
  recolour: (img) => ({ ...img, rgba: img.rgba.map((v, i) => (i % 4 === 3 ? v : [0.8, 1.0, 1.2][i % 4] * v + 15)) }),
};

let model: Model;
let squeezenet: Model;
let dir: string;
let files: string[];

/** SqueezeNet 1.1 at a reduced input (96 x 96 crops of a 110 short side): a fifth of the work; pool10 is global. */
async function smallSqueezenet(): Promise<Model> {
  const w = join(ROOT, 'weights', 'squeezenet1_1');
  const spec = JSON.parse(readFileSync(join(w, 'model.json'), 'utf8')) as ModelSpec;
  spec.input = { ...spec.input, height: 96, width: 96, resizeShortSide: 110 };
  return loadModel(await gpu(), { spec, weights: new Uint8Array(readFileSync(join(w, 'weights.safetensors'))) });
}

beforeAll(async () => {
  const rt = await gpu();
  model = await loadModel(rt, join(ROOT, 'weights', 'tinyvgg'));
  squeezenet = await smallSqueezenet();
  dir = mkdtempSync(join(tmpdir(), 'cnnvis-neighbors-'));
  mkdirSync(join(dir, 'queries'));
  // A gallery of 24 ImageNet samples spread over the classes; each edited one way, round-robin.
  files = readdirSync(IMAGENET).filter((f) => /\.jpe?g$/i.test(f)).sort().filter((_, i) => i % 41 === 0).slice(0, 24);
  writeFileSync(join(dir, 'gallery.txt'), files.map((f) => join(IMAGENET, f)).join('\n'));
  const kinds = Object.keys(EDITS);
  for (const [i, f] of files.entries()) {
    const d = await decodeImage(readFileSync(join(IMAGENET, f)), f);
    const kind = kinds[i % kinds.length];
    const img = EDITS[kind]({ width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) });
    writeFileSync(join(dir, 'queries', `${f.replace(/\.jpe?g$/i, '')}.${kind}.png`), await encodePng(img));
  }
});

afterAll(() => {
  model?.dispose();
  squeezenet?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const opts = (o: Partial<NeighborsOptions>): NeighborsOptions => ({ ...defaultOptions(neighbors), gallery: SAMPLES, cache: 'off', ...o });
const base = (f: string) => f.split('/').pop()!.split('.')[0];

describe('neighbors (TinyVGG, 20 samples)', () => {
  it('GPU distances and top-k equal the float64 brute force on the same features, in both metrics', async () => {
    const items = await nodeGallery(SAMPLES);
    const g = await extractGalleryFeatures(model, items, { layer: 'max_pool_2' });
    const n = items.length;
    for (const metric of ['l2', 'cosine'] as const) {
      const r = await neighbors.run({ model }, opts({ layer: 'max_pool_2', k: 5, queries: 3, metric }));
      const dist = refDist.pairwise(g.features, g.features, n, n, g.dim, metric);
      for (const [q, res] of r.queries.entries()) {
        expect(res.query).toBe(items[q].name);
        // The query itself (distance 0) is left out: the float64 ranking of the other rows.
        const row = Float64Array.from(dist.subarray(q * n, (q + 1) * n));
        row[q] = Infinity;
        const want = refTopk.topk(row, 1, n, 5);
        expectClose(res.feature.map((x) => x.distance), want.values, DISTANCE_TOL, [5], `${metric} distances of query ${q}`);
        // Exact indices wherever neighbouring distances are not tied within the tolerance.
        const gaps = Array.from({ length: 4 }, (_, s) => want.values[s + 1] - want.values[s]);
        if (gaps.every((gap) => gap > 1e-4 * want.values[4])) expect(res.feature.map((x) => x.index)).toEqual(Array.from(want.indices));
        expect(res.feature.every((x) => x.index !== q) && res.pixel.every((x) => x.index !== q)).toBe(true);
      }
    }
  });
});

describe('neighbors (SqueezeNet 1.1 at 96 x 96, 24 ImageNet samples)', () => {
  it('feature space finds the source of flipped / cropped / recoloured images far more often than pixel space', async () => {
    const r = await neighbors.run({ model: squeezenet }, opts({ gallery: join(dir, 'gallery.txt'), query: join(dir, 'queries'), k: 3, batch: 12 }));
    expect(r.layer).toBe('pool10');
    expect(r.queries.length).toBe(files.length);
    const found = (q: (typeof r.queries)[number], space: 'feature' | 'pixel') => base(q[space][0].file) === base(q.query);
    const rate = (space: 'feature' | 'pixel', kind?: string) => {
      const qs = r.queries.filter((q) => kind === undefined || q.query.endsWith(`.${kind}.png`));
      return qs.filter((q) => found(q, space)).length / qs.length;
    };
    const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
    console.log(`source found at rank 1 of ${r.queries.length} edited queries: feature space ${pct(rate('feature'))}, pixel space ${pct(rate('pixel'))}; ` +
      Object.keys(EDITS).map((k) => `${k} ${pct(rate('feature', k))} / ${pct(rate('pixel', k))}`).join(', '));
    expect(rate('feature')).toBeGreaterThanOrEqual(0.8);
    expect(rate('feature')).toBeGreaterThanOrEqual(rate('pixel') + 0.25);
    const p = neighbors.present(r, { model: squeezenet });
    expect(p.raw.shape).toEqual([files.length, 2, 3]);
    expect(p.views[0].image.width).toBeGreaterThan(4 * 64);
    const s = p.summary.queries as { query: string; feature: { file: string; distance: number }[]; pixel: unknown[] }[];
    expect(Object.keys(s[0]).sort()).toEqual(['feature', 'pixel', 'query']);
    expect(Object.keys(s[0].feature[0]).sort()).toEqual(['distance', 'file']);
    expect(s[0].feature[0].distance).toBeLessThanOrEqual(s[0].feature[1].distance);
  }, 240_000);
});
