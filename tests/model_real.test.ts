// The real converted networks (weights/<model>, from `npm run weights`) on real images: GPU
// probabilities vs the float64 network reference, and the labelled class as top-1. Plus image
// decoding (JPEG colour and grayscale, PNG, bad input).

import { existsSync, readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../engine/io/decode';
import { loadModel } from '../engine/models/load';
import { parseSafetensors, readTensorF32 } from '../engine/models/safetensors';
import type { ModelSpec } from '../engine/models/spec';
import { Tensor } from '../engine/tensor';
import { expectClose } from './helpers/close';
import { gpu, track } from './helpers/gpu';
import { networkForward } from './reference/network';

const SHARED = process.env.CNNVIS_SHARED ?? '../shared';
const IMAGENET = `${SHARED}/images/imagenet-samples`;
/** Softmax probabilities, float32 GPU vs float64 reference. */
const PROB_TOL = { atol: 1e-4, rtol: 0 };
/** A whole ImageNet network on SwiftShader plus its float64 reference, on a shared 2-core machine. */
const REAL_TIMEOUT = 300_000;

function modelDir(name: string): string {
  const dir = `weights/${name}`;
  if (!existsSync(`${dir}/model.json`) || !existsSync(`${dir}/weights.safetensors`)) {
    throw new Error(`${dir}/model.json and weights.safetensors are missing: run \`npm run weights\` first`);
  }
  return dir;
}

function imagenetClass(file: string): number {
  const row = readFileSync(`${SHARED}/images/imagenet-samples.tsv`, 'utf8').split('\n').find((l) => l.startsWith(`${file}\t`));
  if (!row) throw new Error(`${file} is not in imagenet-samples.tsv`);
  return Number(row.split('\t')[2]);
}

/**
 * Classify `files` as one batch and check them against the reference. The images were chosen as
 * ones the network gets right; `expected` is the true class index of each.
 */
async function checkModel(name: string, files: string[], expected: number[]) {
  const rt = await gpu();
  const dir = modelDir(name);
  const model = await loadModel(rt, dir);
  try {
    const { height, width } = model.spec.input;
    const x = track(Tensor.empty(rt, [files.length, 3, height, width], 'images'));
    for (const [i, f] of files.entries()) {
      const img = await decodeImage(new Uint8Array(readFileSync(f)), f);
      model.preprocess(img.rgba, img.width, img.height, x, i);
    }
    const top = await model.classify(x, 5);
    const probName = model.layers[model.layers.length - 1].name;
    const gpuProb = await model.readActivation(probName);

    const spec = JSON.parse(readFileSync(`${dir}/model.json`, 'utf8')) as ModelSpec;
    const st = parseSafetensors(new Uint8Array(readFileSync(`${dir}/weights.safetensors`)), `${dir}/weights.safetensors`);
    const weights = new Map([...st.entries.keys()].map((k) => [k, readTensorF32(st, k)]));
    const ref = networkForward(spec, weights, await x.read(), files.length).acts.get(probName)!;
    expectClose(gpuProb, ref.data, PROB_TOL, ref.shape, `${name} probabilities`);

    const k = ref.shape[1];
    files.forEach((f, i) => {
      const refRow = Array.from(ref.data.subarray(i * k, (i + 1) * k));
      const refTop = refRow.indexOf(Math.max(...refRow));
      expect({ file: f, gpu: top[i][0].index, ref: refTop }).toEqual({ file: f, gpu: expected[i], ref: expected[i] });
      expect(top[i][0].label).toBe(spec.labels[expected[i]]);
      expect(top[i][0].prob).toBeCloseTo(refRow[refTop], 4);
    });
  } finally {
    model.dispose();
  }
}

describe('real networks on real images', () => {
  // n02676566_acoustic_guitar and n04254680_soccer_ball are grayscale JPEGs. SwiftShader takes
  // seconds per GoogLeNet image (and the float64 reference as long), so GoogLeNet gets one image.
  it('squeezenet1_1 classifies a goldfish and a (grayscale) acoustic guitar like the float64 reference', async () => {
    const files = ['n01443537_goldfish.JPEG', 'n02676566_acoustic_guitar.JPEG'];
    await checkModel('squeezenet1_1', files.map((f) => `${IMAGENET}/${f}`), files.map(imagenetClass));
  }, REAL_TIMEOUT);

  it('googlenet classifies a (grayscale) soccer ball like the float64 reference', async () => {
    const files = ['n04254680_soccer_ball.JPEG'];
    await checkModel('googlenet', files.map((f) => `${IMAGENET}/${f}`), files.map(imagenetClass));
  }, REAL_TIMEOUT);

  it('tinyvgg classifies its samples like the float64 reference', async () => {
    const samples: [string, string][] = [['boat_1', 'lifeboat'], ['bug_1', 'ladybug'], ['pizza_1', 'pizza'], ['koala_1', 'koala']];
    const spec = JSON.parse(readFileSync(`${modelDir('tinyvgg')}/model.json`, 'utf8')) as ModelSpec;
    await checkModel('tinyvgg', samples.map(([f]) => `${SHARED}/models/tinyvgg/samples/${f}.jpeg`), samples.map(([, label]) => spec.labels.indexOf(label)));
  });
});

describe('decodeImage', () => {
  it('decodes a grayscale JPEG to R = G = B and a colour JPEG to varied channels', async () => {
    const gray = await decodeImage(new Uint8Array(readFileSync(`${IMAGENET}/n04254680_soccer_ball.JPEG`)), 'soccer_ball');
    const colour = await decodeImage(new Uint8Array(readFileSync(`${IMAGENET}/n01443537_goldfish.JPEG`)), 'goldfish');
    for (const img of [gray, colour]) expect([img.width, img.height, img.rgba.length]).toEqual([256, 256, 256 * 256 * 4]);
    const spread = (img: typeof gray) => {
      let grayPixels = 0;
      for (let i = 0; i < img.rgba.length; i += 4) if (img.rgba[i] === img.rgba[i + 1] && img.rgba[i + 1] === img.rgba[i + 2]) grayPixels++;
      return grayPixels / (img.width * img.height);
    };
    expect(spread(gray)).toBe(1);
    expect(spread(colour)).toBeLessThan(0.5);
    expect(gray.rgba[3]).toBe(255);
  });

  it('decodes a PNG pixel for pixel', async () => {
    const png = new PNG({ width: 5, height: 3 });
    for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37 + 11) % 256;
    const img = await decodeImage(new Uint8Array(PNG.sync.write(png)), 'pattern.png');
    expect([img.width, img.height]).toEqual([5, 3]);
    expect(Array.from(img.rgba)).toEqual(Array.from(png.data));
  });

  it('names the file for an unknown format and for corrupt data', async () => {
    await expect(decodeImage(new TextEncoder().encode('GIF89a...'), 'anim.gif')).rejects.toThrow(/anim\.gif: unknown image format \(first bytes 47 49 46 38/);
    const jpeg = new Uint8Array(readFileSync(`${IMAGENET}/n01443537_goldfish.JPEG`)).slice(0, 600);
    await expect(decodeImage(jpeg, 'cut.jpg')).rejects.toThrow(/cut\.jpg: corrupt JPEG data/);
    const png = new Uint8Array(PNG.sync.write(new PNG({ width: 4, height: 4 }))).slice(0, 40);
    await expect(decodeImage(png, 'cut.png')).rejects.toThrow(/cut\.png: corrupt PNG data/);
  });
});
