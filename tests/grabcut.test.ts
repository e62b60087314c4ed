// GrabCut seeded by saliency (engine/techniques/grabcut.ts), proved rather than just run:
//   - on synthetic scenes (a textured disc or rectangle on a differently coloured noisy background)
//     with a "saliency" that is a shifted, bitten, blurred, noisy copy of the shape plus a false
//     blob, GrabCut recovers the shape (IoU >= 0.9) and beats the best possible threshold of that
//     saliency (the threshold chosen with the true mask in hand);
//   - the seeds follow the quantiles; every cv.Mat is freed (the wasm heap does not grow);
//   - on a real image through TinyVGG the technique gives a non-trivial mask and its views;
//   - bad input fails naming the problem; OpenCV's runtime aborting while it starts rejects (no hang).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, type Model } from '../engine/index';
import { GC, grabcut, grabcutFromSaliency, grabcutParams, maskIoU, saliencySeeds } from '../engine/techniques/grabcut';
import { TECHNIQUES } from '../engine/techniques/index';
import { defaultOptions, type RgbaImage } from '../engine/techniques/technique';
import { gpu } from './helpers/gpu';
import { rng } from './helpers/random';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const KOALA = join(SHARED, 'models', 'tinyvgg', 'samples', 'koala_1.jpeg');

/** What GrabCut must reach on the synthetic scenes (the bar). */
const MIN_IOU = 0.9;
const SIZE = 96;

interface Scene {
  image: RgbaImage;
  truth: Uint8Array;
  saliency: Float32Array;
}

/** Box blur of radius r, applied twice (close to a Gaussian), clamped at the borders. */
function blur(a: Float32Array, w: number, h: number, r: number): Float32Array {
  let cur = a;
  for (const horizontal of [true, false, true, false]) {
    const out = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        let c = 0;
        for (let d = -r; d <= r; d++) {
          const xx = horizontal ? x + d : x;
          const yy = horizontal ? y : y + d;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          s += cur[yy * w + xx];
          c++;
        }
        out[y * w + x] = s / c;
      }
    }
    cur = out;
  }
  return cur;
}

/**
 * A seeded scene: a striped, noisy disc or rectangle of one colour on a noisy background of another;
 * the saliency is the shape shifted by up to 4 px, with a bite of low saliency on one side, a false
 * blob of medium saliency in the background, blurred, plus uniform noise.
 */
function scene(seed: number, w = SIZE, h = SIZE): Scene {
  const r = rng(seed);
  const cx = 32 + r() * 32;
  const cy = 32 + r() * 32;
  const rad = 16 + r() * 8;
  const rect = seed % 2 === 0;
  const fg = [140 + 100 * r(), 20 + 60 * r(), 20 + 60 * r()];
  const bg = [20 + 40 * r(), 100 + 100 * r(), 60 + 140 * r()];
  const truth = new Uint8Array(w * h);
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const inside = rect ? Math.abs(x - cx) < rad && Math.abs(y - cy) < rad * 0.7 : (x - cx) ** 2 + (y - cy) ** 2 < rad * rad;
      truth[i] = inside ? 1 : 0;
      const base = inside ? fg : bg;
      const stripe = inside ? 30 * Math.sin((x + y) / 3) : 0;
      for (let c = 0; c < 3; c++) rgba[i * 4 + c] = base[c] + stripe + (r() - 0.5) * 60;
      rgba[i * 4 + 3] = 255;
    }
  }
  const sx = Math.round((r() - 0.5) * 8);
  const sy = Math.round((r() - 0.5) * 8);
  const bx = cx < w / 2 ? w - 18 : 18;
  const by = cy < h / 2 ? h - 18 : 18;
  const raw = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const xs = x - sx;
      const ys = y - sy;
      let v = xs >= 0 && ys >= 0 && xs < w && ys < h ? truth[ys * w + xs] : 0;
      if (v && xs > cx + rad * 0.3) v = 0.35;
      if ((x - bx) ** 2 + (y - by) ** 2 < 100) v = 0.6;
      raw[y * w + x] = v;
    }
  }
  const saliency = blur(raw, w, h, 3);
  for (let i = 0; i < saliency.length; i++) saliency[i] = Math.max(0, saliency[i] + (r() - 0.5) * 0.3);
  return { image: { width: w, height: h, rgba }, truth, saliency };
}

/** The best IoU any threshold of the saliency reaches (thresholds at every 1% quantile). */
function bestThresholdIoU(saliency: Float32Array, truth: Uint8Array): number {
  const sorted = Float32Array.from(saliency).sort();
  let best = 0;
  for (let k = 1; k < 100; k++) {
    const t = sorted[Math.floor((k / 100) * sorted.length)];
    best = Math.max(best, maskIoU(Uint8Array.from(saliency, (v) => (v >= t ? 1 : 0)), truth));
  }
  return best;
}

describe('grabcutFromSaliency on synthetic scenes', () => {
  it.each([1, 2, 3, 4, 5, 6])('scene %i: recovers the shape (IoU >= 0.9), better than any threshold of the saliency', async (seed) => {
    const { image, truth, saliency } = scene(seed);
    const seg = await grabcutFromSaliency(image, saliency);
    const iou = maskIoU(seg.mask, truth);
    const thresholded = bestThresholdIoU(saliency, truth);
    console.log(`scene ${seed}: GrabCut IoU ${iou.toFixed(3)}, best saliency threshold IoU ${thresholded.toFixed(3)}, ${seg.ms.toFixed(0)} ms`);
    expect(iou).toBeGreaterThanOrEqual(MIN_IOU);
    expect(iou).toBeGreaterThan(thresholded);
    // Sure seeds are hard constraints: GrabCut never flips them.
    for (let i = 0; i < seg.seeds.length; i++) {
      if (seg.seeds[i] === GC.FGD) expect(seg.mask[i]).toBe(1);
      if (seg.seeds[i] === GC.BGD) expect(seg.mask[i]).toBe(0);
    }
  });

  it('seeds follow the quantiles', () => {
    const { saliency } = scene(7);
    const p = grabcutParams({ fgQuantile: 0.9, bgQuantile: 0.4, probableQuantile: 0.7 });
    const { seeds, thresholds } = saliencySeeds(saliency, p);
    const n = saliency.length;
    const count = (code: number) => seeds.filter((s) => s === code).length;
    // Continuous values: each share within one pixel of its quantile's.
    expect(Math.abs(count(GC.FGD) - 0.1 * n)).toBeLessThanOrEqual(1);
    expect(Math.abs(count(GC.BGD) - 0.4 * n)).toBeLessThanOrEqual(1);
    expect(Math.abs(count(GC.PR_FGD) - 0.2 * n)).toBeLessThanOrEqual(2);
    for (let i = 0; i < n; i++) {
      const s = saliency[i];
      const want = s >= thresholds.fg ? GC.FGD : s <= thresholds.bg ? GC.BGD : s >= thresholds.probable ? GC.PR_FGD : GC.PR_BGD;
      if (seeds[i] !== want) throw new Error(`pixel ${i}: seed ${seeds[i]}, expected ${want} (saliency ${s})`);
    }
  });

  // OpenCV's k-means draws from its global RNG, so repeated runs differ in a few boundary pixels.
  it('frees its cv.Mats: repeated runs agree and do not grow the wasm heap', async () => {
    const { image, saliency } = scene(3);
    const first = await grabcutFromSaliency(image, saliency, { iterations: 2 });
    const { loadOpenCv } = await import('../engine/techniques/opencv');
    const { cv } = await loadOpenCv();
    const heap = () => (cv as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
    const before = heap();
    for (let k = 0; k < 5; k++) {
      const again = await grabcutFromSaliency(image, saliency, { iterations: 2 });
      expect(maskIoU(again.mask, first.mask)).toBeGreaterThan(0.98);
    }
    expect(heap()).toBe(before);
  });
});

describe('bad input', () => {
  const { image, saliency } = scene(1, 16, 16);
  it.each([
    ['a saliency of the wrong size', () => grabcutFromSaliency(image, saliency.subarray(0, 100)), /saliency has 100 values, expected one per image pixel, 16 x 16 = 256/],
    ['an image whose bytes do not match its size', () => grabcutFromSaliency({ ...image, width: 15 }, saliency), /image has 1024 bytes, expected .* 960 for 15x16/],
    ['quantiles out of order', () => grabcutFromSaliency(image, saliency, { fgQuantile: 0.3, bgQuantile: 0.5 }), /bgQuantile \(0.5\) must be below fgQuantile \(0.3\)/],
    ['a quantile outside [0, 1]', () => grabcutFromSaliency(image, saliency, { fgQuantile: 1.5 }), /fgQuantile must be in \[0, 1\], got 1.5/],
    ['a probable quantile outside the seeds', () => grabcutFromSaliency(image, saliency, { probableQuantile: 0.1 }), /probableQuantile \(0.1\) must lie between bgQuantile \(0.3\) and fgQuantile \(0.95\)/],
    ['zero iterations', () => grabcutFromSaliency(image, saliency, { iterations: 0 }), /iterations must be a positive integer, got 0/],
    ['a NaN in the saliency', () => grabcutFromSaliency(image, Float32Array.from(saliency, (v, i) => (i === 17 ? NaN : v))), /saliency\[17\] is NaN \(pixel x 1, y 1\)/],
    ['a constant saliency', () => grabcutFromSaliency(image, new Float32Array(256).fill(0.5)), /0 background pixels; GrabCut needs at least 5 of each/],
  ])('%s', async (_, call, message) => {
    await expect(call()).rejects.toThrow(message);
  });
});

// The page's worker awaits this before it can answer: a runtime that aborts while starting (a
// WebAssembly that fails to compile) must reject, naming why, not leave the worker silent.
describe('OpenCV runtime start (opencv.ts whenReady)', () => {
  it('rejects, naming the abort, when the runtime aborts before it starts', async () => {
    const { whenReady } = await import('../engine/techniques/opencv');
    const m: Parameters<typeof whenReady>[0] = { then: () => undefined };
    const ready = whenReady(m);
    m.onAbort?.('CompileError: wasm validation error');
    await expect(ready).rejects.toThrow(/WebAssembly runtime aborted before it started \(CompileError: wasm validation error\)/);
  });

  it('resolves once the runtime starts (then() or onRuntimeInitialized), keeping a handler already set', async () => {
    const { whenReady } = await import('../engine/techniques/opencv');
    let started: (() => void) | undefined;
    await Promise.all([whenReady({ then: (cb) => void setTimeout(() => cb(null), 0) }), whenReady({ Mat: class {} })]);
    let own = 0;
    const m: Parameters<typeof whenReady>[0] = { onRuntimeInitialized: () => void own++ };
    const ready = whenReady(m);
    started = m.onRuntimeInitialized;
    started?.();
    await ready;
    expect(own, 'the module\'s own onRuntimeInitialized still runs').toBe(1);
  });
});

describe('the grabcut technique on a real image (TinyVGG)', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
  });
  afterAll(() => model?.dispose());

  it('is registered, and segments the network input into a non-trivial mask with its views', async () => {
    expect(TECHNIQUES.filter((t) => t.name === 'grabcut')).toHaveLength(1);
    const d = await decodeImage(readFileSync(KOALA), KOALA);
    const ctx = { model, image: { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) } };
    const r = await grabcut.run(ctx, defaultOptions(grabcut));
    const { height, width } = model.spec.input;
    expect([r.segmentation.height, r.segmentation.width]).toEqual([height, width]);
    console.log(`koala: class ${r.target.label}, foreground ${(100 * r.segmentation.foreground).toFixed(1)}%, ${r.ms.total} ms`);
    expect(r.segmentation.foreground).toBeGreaterThan(0.02);
    expect(r.segmentation.foreground).toBeLessThan(0.9);
    const p = grabcut.present(r, ctx);
    expect(p.raw.shape).toEqual([height, width]);
    expect(p.raw.data.reduce((a, b) => a + b, 0)).toBe(r.segmentation.mask.reduce((a, b) => a + b, 0));
    expect(p.views.map((v) => v.suffix)).toEqual(['', 'mask', 'seeds']);
    for (const v of p.views) {
      const colours = new Set<number>();
      for (let i = 0; i < v.image.rgba.length; i += 4) colours.add((v.image.rgba[i] << 16) | (v.image.rgba[i + 1] << 8) | v.image.rgba[i + 2]);
      expect(colours.size, `view '${v.suffix}' is one colour`).toBeGreaterThan(1);
    }
    expect(p.summary.foregroundFraction).toBe(r.segmentation.foreground);
  });
});
