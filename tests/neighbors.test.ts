// neighbors on TinyVGG's 20 samples: the GPU distances and top-k equal a float64 brute force over
// the same features, and feature-space neighbours find the source of a flipped / cropped /
// recoloured gallery image far more often than pixel-space neighbours (both rates printed).

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, type Model } from '../engine/index';
import { encodePng, type RgbaImage } from '../engine/display/index';
import { extractGalleryFeatures } from '../engine/techniques/gallery';
import { nodeGallery } from '../engine/techniques/gallery_source';
import { neighbors, type NeighborsOptions } from '../engine/techniques/neighbors';
import { defaultOptions } from '../engine/techniques/technique';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { gpu } from './helpers/gpu';
import * as refDist from './reference/pairwise';
import * as refTopk from './reference/topk';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared', 'models', 'tinyvgg', 'samples');
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
EDITS.all = (img) => EDITS.recolour(EDITS.crop(EDITS.flip(img)));

let model: Model;
let dir: string;
let files: string[];

beforeAll(async () => {
  const rt = await gpu();
  model = await loadModel(rt, join(ROOT, 'weights', 'tinyvgg'));
  dir = mkdtempSync(join(tmpdir(), 'cnnvis-neighbors-'));
  files = readdirSync(SAMPLES).filter((f) => /\.jpe?g$/.test(f)).sort();
  // Each gallery image edited one way, round-robin over the edits.
  const kinds = Object.keys(EDITS);
  for (const [i, f] of files.entries()) {
    const d = await decodeImage(readFileSync(join(SAMPLES, f)), f);
    const kind = kinds[i % kinds.length];
    const img = EDITS[kind]({ width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) });
    writeFileSync(join(dir, `${f.replace(/\.jpe?g$/, '')}.${kind}.png`), await encodePng(img));
  }
});

afterAll(() => {
  model?.dispose();
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

  it('feature space finds the source of flipped / cropped / recoloured images far more often than pixel space', async () => {
    const r = await neighbors.run({ model }, opts({ query: dir, k: 3 }));
    expect(r.queries.length).toBe(files.length);
    const hit = (space: 'feature' | 'pixel') => r.queries.filter((q) => base(q[space][0].file) === base(q.query)).length / r.queries.length;
    const [feature, pixel] = [hit('feature'), hit('pixel')];
    console.log(`source found at rank 1: feature space ${(100 * feature).toFixed(0)}%, pixel space ${(100 * pixel).toFixed(0)}% (${r.queries.length} edited queries)`);
    for (const pool of ['avg', 'flatten'] as const) {
      const r2 = await neighbors.run({ model }, opts({ query: dir, k: 3, pool }));
      const h2 = (space: 'feature' | 'pixel') => r2.queries.map((q) => `${q.query.split('.').slice(-2)[0]}:${base(q[space][0].file) === base(q.query) ? 1 : 0}`).join(' ');
      console.log(pool, h2('feature'), '\n', h2('pixel'));
    }
    expect(feature).toBeGreaterThanOrEqual(pixel + 0.25);
    const p = neighbors.present(r, { model });
    expect(p.raw.shape).toEqual([files.length, 2, 3]);
    expect(p.views[0].image.width).toBeGreaterThan(4 * 64);
    const s = p.summary.queries as { query: string; feature: { file: string; distance: number }[]; pixel: unknown[] }[];
    expect(Object.keys(s[0]).sort()).toEqual(['feature', 'pixel', 'query']);
    expect(s[0].feature[0].distance).toBeLessThanOrEqual(s[0].feature[1].distance);
  });
});
