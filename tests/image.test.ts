import { describe, expect, it } from 'vitest';
import { gaussianBlur, imageToTensor, tensorToImage, type PreprocessParams } from '../engine/ops/image';
import { EXACT, expectClose, FORWARD_TOL, type Tolerance } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, rng } from './helpers/random';
import * as ref from './reference/image';

const CAFFE = { channelOrder: 'bgr', scale: 1, mean: [104, 117, 123], std: [1, 1, 1] } as const;
const TORCHVISION = { channelOrder: 'rgb', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;
/**
 * Preprocessed values are pixels (0..255) blended in float32 and then shifted by the mean, which can
 * cancel to ~0: the error is relative to the pixel range (float32 ulp of 255 is 1.5e-5), not to the
 * output, so the absolute part is set by the Caffe range (scale 1, std 1).
 */
const PREPROCESS_TOL: Tolerance = { atol: 1e-4, rtol: 1e-4 };

function randomRgba(w: number, h: number, seed: number): Uint8ClampedArray {
  const r = rng(seed);
  return Uint8ClampedArray.from({ length: w * h * 4 }, () => Math.floor(r() * 256));
}

function params(norm: ref.Norm, outW: number, outH: number, crop?: [number, number, number, number]): PreprocessParams {
  const [m, s] = [norm.mean, norm.std];
  return { channelOrder: norm.channelOrder, scale: norm.scale, mean: [m[0], m[1], m[2]], std: [s[0], s[1], s[2]], outWidth: outW, outHeight: outH, crop };
}

/** [name, source w, h, crop, out w, h]. */
const CASES: [string, number, number, [number, number, number, number] | undefined, number, number][] = [
  ['identity size', 31, 17, undefined, 31, 17],
  ['downscale 320x256 -> center crop 256 -> 224', 320, 256, [32, 0, 256, 256], 224, 224],
  ['upscale', 13, 9, undefined, 40, 31],
  ['odd sizes with an off-centre crop', 37, 23, [3, 2, 30, 19], 17, 29],
  ['crop without resize', 20, 16, [5, 3, 9, 7], 9, 7],
];

describe('imageToTensor', () => {
  it.each(CASES.flatMap((c) => [CAFFE, TORCHVISION].map((n) => [...c, n] as const)))(
    '%s (%i x %i, crop %j -> %i x %i), %j',
    async (_name, w, h, crop, outW, outH, norm) => {
      const rt = await gpu();
      const rgba = randomRgba(w, h, w * 7 + h);
      const y = track(imageToTensor(rt, rgba, w, h, params(norm, outW, outH, crop)));
      expect(y.shape).toEqual([1, 3, outH, outW]);
      const want = ref.preprocess(rgba, w, crop ?? [0, 0, w, h], outH, outW, norm);
      expectClose(await y.read(), want, PREPROCESS_TOL, y.shape, 'preprocessed');
    },
  );

  it('identity size is an exact copy, and BGR swaps R and B', async () => {
    const rt = await gpu();
    const [w, h] = [5, 3];
    const rgba = randomRgba(w, h, 9);
    const raw = { channelOrder: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } as const;
    const rgb = track(imageToTensor(rt, rgba, w, h, params(raw, w, h)));
    const bgr = track(imageToTensor(rt, rgba, w, h, params({ ...raw, channelOrder: 'bgr' }, w, h)));
    const want = new Float64Array(3 * w * h);
    for (let c = 0; c < 3; c++) for (let i = 0; i < w * h; i++) want[c * w * h + i] = rgba[i * 4 + c];
    expectClose(await rgb.read(), want, EXACT, rgb.shape, 'rgb copy');
    const swapped = Float64Array.from(want);
    swapped.set(want.subarray(2 * w * h), 0);
    swapped.set(want.subarray(0, w * h), 2 * w * h);
    expectClose(await bgr.read(), swapped, EXACT, bgr.shape, 'bgr copy');
  });

  it('copies very wide images exactly (no overflow in the resize arithmetic past 2^31 / 2 crop)', async () => {
    // Regression: (2 * o + 1) * crop overflowed 32 bits from o = 15,340 at width 70,000 (any width past 32,768).
    const rt = await gpu();
    for (const w of [40_000, 70_000]) {
      const rgba = randomRgba(w, 1, w);
      const raw = { channelOrder: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } as const;
      const y = track(imageToTensor(rt, rgba, w, 1, params(raw, w, 1)));
      const want = new Float64Array(3 * w);
      for (let c = 0; c < 3; c++) for (let i = 0; i < w; i++) want[c * w + i] = rgba[i * 4 + c];
      expectClose(await y.read(), want, EXACT, y.shape, `width ${w} copy`);
    }
  });

  it('fills one sample of a batch tensor and leaves the others alone', async () => {
    const rt = await gpu();
    const [w, h] = [12, 10];
    const out = upload(rt, randomArray(3 * 3 * 8 * 6, 1), [3, 3, 8, 6], 'batch');
    const before = await out.read();
    const rgba = randomRgba(w, h, 2);
    imageToTensor(rt, rgba, w, h, params(CAFFE, 6, 8, [1, 1, 10, 8]), out, 1);
    const want = Float64Array.from(before);
    want.set(ref.preprocess(rgba, w, [1, 1, 10, 8], 8, 6, CAFFE), 144);
    expectClose(await out.read(), want, PREPROCESS_TOL, out.shape, 'batch sample 1');
  });
});

describe('tensorToImage', () => {
  it.each([CAFFE, TORCHVISION])('round trip without resize recovers the pixels exactly (%j)', async (norm) => {
    const rt = await gpu();
    const [w, h] = [23, 11];
    const rgba = randomRgba(w, h, 3);
    const x = track(imageToTensor(rt, rgba, w, h, params(norm, w, h)));
    const back = await tensorToImage(x, { ...norm, mean: [...norm.mean], std: [...norm.std] });
    const want = Uint8ClampedArray.from(rgba, (v, i) => (i % 4 === 3 ? 255 : v));
    expectClose(back, want, EXACT, [h, w, 4], 'round trip');
  });

  it('rounds, clamps and reorders like the reference, for any sample', async () => {
    const rt = await gpu();
    const [n, h, w] = [2, 7, 9];
    // Values whose pixel lands 0.1..0.4 away from a rounding boundary, some far outside 0..255.
    const r = rng(4);
    const data = Float32Array.from({ length: n * 3 * h * w }, () => (Math.floor(r() * 400) - 70 + 0.1 + 0.8 * r() - 0.4 - 104) / 1);
    const x = upload(rt, data, [n, 3, h, w]);
    for (const sample of [0, 1]) {
      const got = await tensorToImage(x, { ...CAFFE, mean: [...CAFFE.mean], std: [...CAFFE.std], sample });
      expectClose(got, ref.deprocess(data.subarray(sample * 3 * h * w), h, w, CAFFE), EXACT, [h, w, 4], `sample ${sample}`);
    }
  });
});

describe('gaussianBlur', () => {
  const GRID: [number[], number][] = [
    [[2, 3, 17, 13], 0.5],
    [[2, 3, 17, 13], 1],
    [[1, 2, 31, 9], 2.5],
    [[1, 2, 5, 4], 2.5], // radius 8 reaches past every border
    [[1, 1, 1, 1], 1],
  ];
  it.each(GRID)('%j, sigma %f matches the reference', async (shape, sigma) => {
    const rt = await gpu();
    const x = randomArray(size(shape), 5);
    const y = track(gaussianBlur(upload(rt, x, shape), sigma));
    const [n, c, h, w] = shape;
    expectClose(await y.read(), ref.gaussianBlur(x, n * c, h, w, sigma), FORWARD_TOL, shape, `blur sigma ${sigma}`);
  });

  it('keeps a constant plane constant, and copies when sigma <= 0', async () => {
    const rt = await gpu();
    const shape = [1, 2, 9, 11];
    const y = track(gaussianBlur(upload(rt, new Float32Array(size(shape)).fill(0.75), shape), 2));
    expectClose(await y.read(), new Float64Array(size(shape)).fill(0.75), FORWARD_TOL, shape, 'constant');
    const x = randomArray(size(shape), 6);
    const copy = track(gaussianBlur(upload(rt, x, shape), 0));
    expectClose(await copy.read(), x, EXACT, shape, 'sigma 0 copy');
  });

  it('reads and writes channel views', async () => {
    const rt = await gpu();
    const [n, h, w] = [2, 6, 7];
    const x = randomArray(n * 4 * h * w, 7);
    const out = upload(rt, randomArray(n * 5 * h * w, 8), [n, 5, h, w], 'out');
    const before = await out.read();
    gaussianBlur(upload(rt, x, [n, 4, h, w]).channels(1, 2), 1, out.channels(3, 2));
    const want = Float64Array.from(before);
    for (let s = 0; s < n; s++) {
      const blurred = ref.gaussianBlur(x.subarray((s * 4 + 1) * h * w, (s * 4 + 3) * h * w), 2, h, w, 1);
      want.set(blurred, (s * 5 + 3) * h * w);
    }
    expectClose(await out.read(), want, FORWARD_TOL, out.shape, 'blur into a view');
  });
});

describe('image validation', () => {
  it('names the op and what was wrong', async () => {
    const rt = await gpu();
    const rgba = randomRgba(4, 3, 1);
    expect(() => imageToTensor(rt, rgba.subarray(4), 4, 3, params(CAFFE, 4, 3))).toThrow(/imageToTensor: rgba has 44 bytes, expected width \* height \* 4 = 48/);
    expect(() => imageToTensor(rt, rgba, 4, 3, params(CAFFE, 4, 3, [1, 0, 4, 3]))).toThrow(/imageToTensor: crop \(x 1, y 0, w 4, h 3\) must be whole pixels inside the 4x3 image/);
    expect(() => imageToTensor(rt, rgba, 4, 3, params(CAFFE, 0, 3))).toThrow(/imageToTensor: output size must be positive integers, got 0x3/);
    const wide = randomRgba(40_000, 1, 5);
    expect(() => imageToTensor(rt, wide, 40_000, 1, params(CAFFE, 30_000, 1))).toThrow(/imageToTensor: resizing width 40000 to 30000 is too large for one pass/);
    const out = upload(rt, randomArray(3 * 9, 2), [1, 3, 3, 3], 'out');
    expect(() => imageToTensor(rt, rgba, 4, 3, params(CAFFE, 4, 3), out)).toThrow(/imageToTensor: out has shape \(1, 3, 3, 3\), expected \(1, 3, 3, 4\)/);
    expect(() => imageToTensor(rt, rgba, 4, 3, params(CAFFE, 3, 3), out, 1)).toThrow(/imageToTensor: sample 1 is outside out \(1, 3, 3, 3\)/);
    const x = upload(rt, randomArray(2 * 9, 3), [1, 2, 3, 3]);
    expect(() => tensorToImage(x, { ...CAFFE, mean: [104, 117, 123], std: [1, 1, 1] })).toThrow(/tensorToImage: x has shape \(1, 2, 3, 3\), expected \(1, 3, 3, 3\)/);
    expect(() => gaussianBlur(x, Number.NaN)).toThrow(/gaussianBlur: sigma must be finite, got NaN/);
  });
});
