// The display's resizes and fills (engine/display/image.ts, heatmap.ts), which run on the page's
// main thread for every view and so use index tables, whole-row copies and a doubling fill, are
// exactly the per-pixel definitions (tests/reference/display.ts) over awkward sizes: up and down,
// by integer and fractional factors, single rows and columns, odd sizes.

import { describe, expect, it } from 'vitest';
import { colorAt, colormap, createImage, heatmap, resize, resizeMap } from '../engine/display';
import { EXACT, expectClose } from './helpers/close';
import { randomArray, rng } from './helpers/random';
import * as ref from './reference/display';

/** [w, h, outW, outH]: identity, integer up, fractional up and down, one row / column, large factors. */
const SIZES: [number, number, number, number][] = [
  [1, 1, 5, 3], [2, 2, 4, 4], [7, 7, 224, 224], [64, 64, 256, 256], [13, 5, 7, 3], [5, 13, 64, 9],
  [64, 64, 64, 65], [3, 1, 1, 1], [224, 224, 13, 13], [100, 37, 256, 96], [1, 9, 17, 2], [9, 1, 2, 17],
];
const MODES = ['nearest', 'bilinear'] as const;
const CASES = SIZES.flatMap((s) => MODES.map((m) => [...s, m] as const));

function randomRgba(n: number, seed: number): Uint8ClampedArray {
  const r = rng(seed);
  return Uint8ClampedArray.from({ length: n * 4 }, () => Math.floor(r() * 256));
}

describe('display resizes are the per-pixel definitions', () => {
  it.each(CASES)('resizeMap %ix%i -> %ix%i (%s)', (w, h, ow, oh, mode) => {
    const v = randomArray(w * h, w * 31 + h);
    expectClose(resizeMap(v, w, h, ow, oh, mode), ref.resizeMap(v, w, h, ow, oh, mode), EXACT, [oh, ow], 'resizeMap');
  });

  it.each(CASES)('resize (RGBA) %ix%i -> %ix%i (%s)', (w, h, ow, oh, mode) => {
    const rgba = randomRgba(w * h, w * 17 + h);
    const got = resize({ width: w, height: h, rgba }, ow, oh, mode);
    expect([got.width, got.height]).toEqual([ow, oh]);
    expectClose(got.rgba, ref.resizeRgba(rgba, w, h, ow, oh, mode), EXACT, [oh, ow, 4], 'resize');
  });

  it('resize to the same size copies (a new array, the same pixels)', () => {
    const img = { width: 3, height: 2, rgba: randomRgba(6, 5) };
    const same = resize(img, 3, 2);
    expect(same.rgba).not.toBe(img.rgba);
    expect([...same.rgba]).toEqual([...img.rgba]);
  });

  it.each([[1, 1, [1, 2, 3]], [3, 5, [10, 20, 30, 40]], [256, 256, [0, 0, 0, 255]], [7, 3, [300, -4, 2]], [17, 1, [1, 2, 3, 4]], [5, 7, [9, 8, 7]]] as const)(
    'createImage %ix%i fills every pixel with %j (clamped, alpha 255 for RGB)', (w, h, fill) => {
      expectClose(createImage(w, h, fill).rgba, ref.filled(w, h, fill), EXACT, [h, w, 4], 'createImage');
    },
  );

  it.each(CASES.filter((c) => c[0] * c[1] > 3))('heatmap %ix%i -> %ix%i (%s) colours each pixel by the colour map, NaN as 0', (w, h, ow, oh, mode) => {
    const v = randomArray(w * h, w + 7 * h);
    v[1] = NaN;
    const lut = colormap('inferno');
    const got = heatmap(v, w, h, { width: ow, height: oh, resize: mode, normalize: 'minmax' });
    // The definition: normalize on the map, resize, then colorAt per pixel.
    let lo = Infinity, hi = -Infinity;
    for (const x of v) { if (x < lo) lo = x; if (x > hi) hi = x; }
    const t = ref.resizeMap(Float32Array.from(v, (x) => Math.max(0, Math.min(1, (x - lo) / (hi - lo)))), w, h, ow, oh, mode);
    const want = new Uint8ClampedArray(ow * oh * 4);
    t.forEach((x, i) => want.set([...colorAt(lut, x), 255], i * 4));
    expectClose(got.rgba, want, EXACT, [oh, ow, 4], 'heatmap');
  });
});
