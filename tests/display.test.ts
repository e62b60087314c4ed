// The shared display functions (engine/display/): PNG files that a real decoder (pngjs) reads back
// to the same pixels, .npy headers byte-identical to numpy.save's, colour maps monotone in
// luminance, normalizations, resizing, heat maps, overlays, grids, colour scales and the inverse
// of the model's preprocessing.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  colorAt, colormap, colorScale, COLORMAPS, crc32, createImage, decodeNpy, encodeNpy, encodePng, grid, heatmap, luminance,
  normalize, overlay, percentile, resize, resizeMap, rgbFromPlanes, rgbFromTensor, withColorScale, type RgbaImage,
} from '../engine/display';
import { EXACT, expectClose, FORWARD_TOL } from './helpers/close';
import { randomArray, rng } from './helpers/random';

const DISPLAY_DIR = fileURLToPath(new URL('../engine/display', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cnnvis-display-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hasNumpy(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function randomImage(w: number, h: number, seed: number): RgbaImage {
  const r = rng(seed);
  const img = createImage(w, h);
  for (let i = 0; i < img.rgba.length; i++) img.rgba[i] = Math.floor(r() * 256);
  return img;
}

/** Number of distinct RGBA colours. */
function colours(img: RgbaImage): number {
  const s = new Set<number>();
  const v = new DataView(img.rgba.buffer, img.rgba.byteOffset);
  for (let i = 0; i < img.width * img.height; i++) s.add(v.getUint32(i * 4));
  return s.size;
}

describe('display module', () => {
  it('imports nothing from Node or the DOM (it runs in the browser too)', () => {
    for (const f of readdirSync(DISPLAY_DIR)) {
      const src = readFileSync(join(DISPLAY_DIR, f), 'utf8');
      expect(src, f).not.toMatch(/from ['"](node:|fs|path|os)/);
      expect(src, f).not.toMatch(/\b(document|window)\./);
    }
  });
});

describe('encodePng', () => {
  it('crc32 gives the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it.each([[1, 1], [7, 3], [64, 33], [300, 2]])('%ix%i decodes through pngjs to the same pixels', async (w, h) => {
    const img = randomImage(w, h, w * 1000 + h);
    const png = await encodePng(img);
    const back = PNG.sync.read(Buffer.from(png));
    expect([back.width, back.height]).toEqual([w, h]);
    expectClose(back.data, img.rgba, EXACT, [h, w, 4], 'pixels');
  });

  it('rejects a buffer of the wrong size, naming both sizes', async () => {
    await expect(encodePng({ width: 4, height: 4, rgba: new Uint8ClampedArray(10) })).rejects.toThrow(/10 bytes, expected 4 x 4 x 4 = 64/);
  });
});

describe('encodeNpy / decodeNpy', () => {
  const shapes: number[][] = [[2, 3], [5], [3, 4, 5], [], [1, 1, 1, 7], [0, 4]];

  it.each(shapes.map((s) => [`(${s.join(', ')})`, s] as const))('shape %s: header is version 1.0, 64-byte aligned, and round-trips', (_, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = randomArray(n, 11 + n);
    const bytes = encodeNpy(data, shape);
    expect([...bytes.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const hlen = bytes[8] | (bytes[9] << 8);
    expect((10 + hlen) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + hlen));
    const lit = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    expect(header).toMatch(new RegExp(`^\\{'descr': '<f4', 'fortran_order': False, 'shape': ${lit.replace(/[()]/g, '\\$&')}, \\} *\\n$`));
    const back = decodeNpy(bytes);
    expect(back.shape).toEqual(shape);
    expectClose(back.data, data, EXACT, undefined, 'npy data');
  });

  it('is byte-identical to numpy.save, and numpy.load reads our files', () => {
    if (!hasNumpy()) {
      console.warn('python3 with numpy not installed: numpy comparison skipped (header format checked above)');
      return;
    }
    for (const [k, shape] of shapes.entries()) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = randomArray(n, 100 + k);
      writeFileSync(join(tmp, `a${k}.npy`), encodeNpy(data, shape));
      writeFileSync(join(tmp, `a${k}.f32`), new Uint8Array(data.buffer));
    }
    const script = `
import numpy as np, sys
d = sys.argv[1]
for k, shape in enumerate(${JSON.stringify(shapes)}):
    a = np.fromfile(f"{d}/a{k}.f32", dtype="<f4").reshape(shape)
    np.save(f"{d}/n{k}.npy", a)
    b = np.load(f"{d}/a{k}.npy")
    assert b.dtype == np.float32 and b.shape == tuple(shape) and np.array_equal(a, b), k
print("ok")`;
    expect(execFileSync('python3', ['-c', script, tmp]).toString().trim()).toBe('ok');
    for (const k of shapes.keys()) {
      const ours = readFileSync(join(tmp, `a${k}.npy`));
      const theirs = readFileSync(join(tmp, `n${k}.npy`));
      expect(ours.equals(theirs), `shape (${shapes[k]}): ours ${JSON.stringify(ours.subarray(0, 80).toString('latin1'))} vs numpy ${JSON.stringify(theirs.subarray(0, 80).toString('latin1'))}`).toBe(true);
    }
  });

  it('fails clearly on a shape that does not match the data, and on other dtypes', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/shape \(2, 3\) holds 6 values, data has 5/);
    const bytes = encodeNpy(new Float32Array(2), [2]);
    bytes.set(new TextEncoder().encode("'<f8'"), 10 + "{'descr': ".length);
    expect(() => decodeNpy(bytes)).toThrow(/dtype '<f8' is not supported/);
  });
});

describe('colour maps', () => {
  const lum = (name: (typeof COLORMAPS)[number]) => {
    const lut = colormap(name);
    return Array.from({ length: 256 }, (_, i) => luminance(lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]));
  };

  /** Rounding to 8 bits can lower luminance by less than one step of one channel where another falls. */
  const QUANT = 5e-4;

  it.each(['inferno', 'viridis', 'gray'] as const)('%s rises monotonically in luminance from dark to light', (name) => {
    const l = lum(name);
    for (let i = 1; i < 256; i++) expect(l[i], `${name}[${i}] vs [${i - 1}]`).toBeGreaterThanOrEqual(l[i - 1] - QUANT);
    for (let i = 4; i < 256; i++) expect(l[i], `${name}[${i}] vs [${i - 4}]`).toBeGreaterThan(l[i - 4]);
    expect(l[0]).toBeLessThan(0.02);
    expect(l[255]).toBeGreaterThan(0.7);
  });

  it('inferno and viridis end where matplotlib\'s do (within 3/255)', () => {
    const ends: Record<string, number[][]> = {
      inferno: [[0, 0, 4], [252, 255, 164]],
      viridis: [[68, 1, 84], [253, 231, 37]],
    };
    for (const [name, [first, last]] of Object.entries(ends)) {
      const lut = colormap(name as 'inferno');
      expectClose([...lut.subarray(0, 3), ...lut.subarray(765)], [...first, ...last], { atol: 3, rtol: 0 }, undefined, name);
    }
  });

  it('coolwarm is diverging: luminance rises from both ends to a near-white centre, blue for negative', () => {
    const l = lum('coolwarm');
    for (let i = 1; i <= 127; i++) expect(l[i], `coolwarm[${i}]`).toBeGreaterThanOrEqual(l[i - 1] - QUANT);
    for (let i = 129; i < 256; i++) expect(l[i], `coolwarm[${i}]`).toBeLessThanOrEqual(l[i - 1] + QUANT);
    expect(l[127]).toBeGreaterThan(l[0] + 0.5);
    expect(l[128]).toBeGreaterThan(l[255] + 0.5);
    const lut = colormap('coolwarm');
    const [r0, , b0] = colorAt(lut, 0);
    const [r1, , b1] = colorAt(lut, 1);
    expect(b0).toBeGreaterThan(r0);
    expect(r1).toBeGreaterThan(b1);
    expect(Math.min(...colorAt(lut, 0.5))).toBeGreaterThan(230);
  });

  it('an unknown name lists the valid ones', () => {
    expect(() => colormap('jet' as 'gray')).toThrow(/unknown colour map 'jet' \(colour maps: inferno, viridis, gray, coolwarm\)/);
  });
});

describe('normalize', () => {
  const v = Float32Array.from([-2, -1, 0, 1, 4]);

  it('minmax, symmetric, abs', () => {
    expectClose(normalize(v, 'minmax').values, [0, 1 / 6, 2 / 6, 3 / 6, 1], FORWARD_TOL);
    const s = normalize(v, 'symmetric');
    expect([s.lo, s.hi]).toEqual([-4, 4]);
    expectClose(s.values, [0.25, 0.375, 0.5, 0.625, 1], FORWARD_TOL);
    expectClose(normalize(v, 'abs').values, [0.5, 0.25, 0, 0.25, 1], FORWARD_TOL);
  });

  it('percentile clips like numpy.percentile (linear interpolation)', () => {
    const x = Float32Array.from({ length: 101 }, (_, i) => i);
    x[100] = 1e6;
    expect(percentile(x, 50)).toBe(50);
    expect(percentile([1, 2, 3, 4], 25)).toBeCloseTo(1.75, 12);
    const n = normalize(x, 'percentile', { percentiles: [0, 99] });
    expect([n.lo, n.hi]).toEqual([0, 99]);
    expect(n.values[100]).toBe(1);
    expect(n.values[50]).toBeCloseTo(50 / 99, 6);
  });

  it('a constant map gives 0 (symmetric: 0.5), never NaN; a fixed range is used as given', () => {
    expect([...normalize(new Float32Array(3).fill(7)).values]).toEqual([0, 0, 0]);
    expect([...normalize(new Float32Array(2), 'symmetric').values]).toEqual([0.5, 0.5]);
    expectClose(normalize(v, 'minmax', { range: [0, 8] }).values, [0, 0, 0, 0.125, 0.5], FORWARD_TOL);
  });
});

describe('resize', () => {
  it('nearest upscaling repeats each cell as a block', () => {
    const r = resizeMap([1, 2, 3, 4], 2, 2, 4, 4, 'nearest');
    expect([...r]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('bilinear uses aligned pixel centres and keeps a constant map constant', () => {
    // 2 -> 4: destination centres at source coordinates -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    expectClose(resizeMap([0, 4], 2, 1, 4, 1), [0, 1, 3, 4], FORWARD_TOL);
    expectClose(resizeMap(new Float32Array(49).fill(3), 7, 7, 224, 224), new Float32Array(224 * 224).fill(3), FORWARD_TOL);
  });

  it('an image resize applies to every channel', () => {
    const img = createImage(2, 2, [10, 20, 30, 255]);
    const big = resize(img, 5, 3);
    expect([big.width, big.height]).toEqual([5, 3]);
    expect(colours(big)).toBe(1);
    expect([...big.rgba.subarray(0, 4)]).toEqual([10, 20, 30, 255]);
  });

  it('a map of the wrong length names both sizes', () => {
    expect(() => resizeMap([1, 2, 3], 2, 2, 4, 4)).toThrow(/3 values, expected 2 x 2 = 4/);
  });
});

describe('heat maps, overlays, colour scales, grids', () => {
  it('heatmap puts the minimum at the first and the maximum at the last colour', () => {
    const h = heatmap([0, 5, 10, 2.5], 2, 2, { colormap: 'viridis' });
    const lut = colormap('viridis');
    expect([...h.rgba.subarray(0, 3)]).toEqual([...lut.subarray(0, 3)]);
    expect([...h.rgba.subarray(8, 11)]).toEqual([...lut.subarray(765, 768)]);
    expect([h.lo, h.hi, h.colormap]).toEqual([0, 10, 'viridis']);
    const big = heatmap(randomArray(49, 3), 7, 7, { width: 70, height: 70, resize: 'nearest' });
    expect([big.width, big.height]).toEqual([70, 70]);
    expect(colours(big)).toBeGreaterThan(40);
  });

  it('symmetric heat maps default to the diverging map with zero at its centre', () => {
    const h = heatmap([-3, 0, 3], 3, 1, { normalize: 'symmetric' });
    expect(h.colormap).toBe('coolwarm');
    expect([...h.rgba.subarray(4, 7)]).toEqual(colorAt(colormap('coolwarm'), 0.5));
  });

  it('overlay: alpha 0 is the image, alpha 1 the heat map, and per-pixel weights mix between', () => {
    const img = randomImage(8, 6, 5);
    const heat = heatmap(randomArray(12, 6), 4, 3);
    expect([...overlay(img, heat, 0).rgba]).toEqual([...img.rgba].map((v, i) => (i % 4 === 3 ? 255 : v)));
    const full = overlay(img, heat, 1);
    const up = resize(heat, 8, 6);
    expect([...full.rgba]).toEqual([...up.rgba]);
    const half = overlay(img, heat, 1, new Float32Array(48).fill(0.5));
    expect(half.rgba[0]).toBe(Math.round(0.5 * img.rgba[0] + 0.5 * up.rgba[0]));
    expect(() => overlay(img, heat, 1.5)).toThrow(/alpha must be in \[0, 1\], got 1.5/);
  });

  it('the colour scale shows the map from hi (top) to lo (bottom) with labels', () => {
    const bar = colorScale('inferno', -1, 2, { length: 100, thickness: 10 });
    const lut = colormap('inferno');
    const margin = (bar.height - 100) / 2;
    expect([...bar.rgba.subarray(margin * bar.width * 4, margin * bar.width * 4 + 3)]).toEqual([...lut.subarray(765)]);
    const last = (margin + 99) * bar.width * 4;
    expect([...bar.rgba.subarray(last, last + 3)]).toEqual([...lut.subarray(0, 3)]);
    // Text to the right of the bar: some white pixels.
    let white = 0;
    for (let y = 0; y < bar.height; y++) for (let x = 14; x < bar.width; x++) if (bar.rgba[(y * bar.width + x) * 4] === 255) white++;
    expect(white).toBeGreaterThan(20);
    const h = heatmap(randomArray(64, 9), 8, 8, { width: 64, height: 64 });
    const both = withColorScale(h);
    expect(both.width).toBeGreaterThan(64 + 16);
    expect(both.height).toBeGreaterThanOrEqual(64);
  });

  it('grid lays tiles out row by row with padding, and labels fit under them', () => {
    const tiles = [0, 1, 2, 3, 4].map((k) => createImage(4, 3, [k * 50, 0, 0]));
    const g = grid(tiles, { cols: 3, pad: 1, bg: [0, 0, 255] });
    expect([g.width, g.height]).toEqual([1 + 3 * 5, 1 + 2 * 4]);
    const px = (x: number, y: number) => [...g.rgba.subarray((y * g.width + x) * 4, (y * g.width + x) * 4 + 3)];
    expect(px(0, 0)).toEqual([0, 0, 255]);
    expect(px(1 + 5 * 2, 1)).toEqual([100, 0, 0]);
    expect(px(1 + 5, 1 + 4)).toEqual([200, 0, 0]);
    expect(px(g.width - 2, g.height - 2)).toEqual([0, 0, 255]);
    const labelled = grid(tiles, { cols: 5, labels: ['0', '1', '2', '3', 'CH 44'] });
    expect(labelled.height).toBeGreaterThan(g.height);
    expect(() => grid(tiles, { labels: ['a'] })).toThrow(/1 labels for 5 tiles/);
  });
});

describe('RGB from network tensors', () => {
  it('rgbFromTensor undoes a Caffe (BGR, mean) and a torchvision (RGB, mean/std) preprocessing', () => {
    const img = randomImage(5, 4, 21);
    for (const input of [
      { channelOrder: 'bgr' as const, scale: 1, mean: [104, 117, 123], std: [1, 1, 1] },
      { channelOrder: 'rgb' as const, scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    ]) {
      const x = new Float32Array(2 * 3 * 20);
      for (let c = 0; c < 3; c++) {
        const src = input.channelOrder === 'bgr' ? 2 - c : c;
        for (let i = 0; i < 20; i++) x[60 + c * 20 + i] = (img.rgba[i * 4 + src] * input.scale - input.mean[c]) / input.std[c];
      }
      const back = rgbFromTensor(x, 5, 4, input, 1);
      expect([...back.rgba], input.channelOrder).toEqual([...img.rgba].map((v, i) => (i % 4 === 3 ? 255 : v)));
    }
    expect(() => rgbFromTensor(new Float32Array(10), 5, 4, { channelOrder: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] })).toThrow(/cannot hold sample 0/);
  });

  it('rgbFromPlanes scales three planes together to 0..255 and turns BGR into RGB', () => {
    const planes = Float32Array.from([0, 1, /* g */ 2, 3, /* r */ 4, 5]); // BGR, 2x1
    const img = rgbFromPlanes(planes, 2, 1, 'bgr');
    expect([...img.rgba]).toEqual([204, 102, 0, 255, 255, 153, 51, 255]);
  });
});
