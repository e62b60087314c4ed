// The AlexNet converter on a torchvision-shaped state dict with the real shapes (61,100,840
// params, 244 MB), written once per run by make_pth.py into a temp dir from values generated here.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alexnetCaffeSpec, alexnetTorchvisionSpec } from '../engine/models/alexnet';
import { parseSafetensors, readTensorF32 } from '../engine/models/safetensors';
import { convertAlexnetTorch } from '../scripts/convert/alexnet';
import { countParams, inferShapes, specTensorShapes } from '../scripts/convert/infer';
import { writeModel } from '../scripts/convert/write';
import { EXACT, expectClose } from './helpers/close';
import { randomArray } from './helpers/random';

const MAKE_PTH = resolve(__dirname, 'fixtures/torch/make_pth.py');
const LABELS = Array.from({ length: 1000 }, (_, i) => `class ${i}`);
const tmp = mkdtempSync(join(tmpdir(), 'cnnvis-alexnet-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A zip-format .pth holding contiguous float32 tensors. */
function writePth(name: string, tensors: { key: string; shape: number[]; data: Float32Array }[]): string {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  const spec = {
    tensors: tensors.map((t, i) => {
      writeFileSync(join(dir, `${i}.bin`), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      return { key: t.key, dtype: 'float32', file: `${i}.bin`, shape: t.shape };
    }),
  };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const out = join(dir, `${name}.pth`);
  execFileSync('python3', [MAKE_PTH, join(dir, 'spec.json'), out]);
  rmSync(join(dir, 'spec.json'));
  tensors.forEach((_, i) => rmSync(join(dir, `${i}.bin`)));
  return out;
}

describe('AlexNet specs', () => {
  it('torchvision: module-path names, 61,100,840 params, (256, 6, 6) into the classifier', () => {
    const spec = alexnetTorchvisionSpec(LABELS);
    expect(countParams(spec)).toBe(61_100_840);
    const shapes = inferShapes(spec);
    expect(shapes.get('features.0')).toEqual([64, 55, 55]);
    expect(shapes.get('features.2')).toEqual([64, 27, 27]);
    expect(shapes.get('features.12')).toEqual([256, 6, 6]);
    expect(shapes.get('avgpool')).toEqual([256, 6, 6]);
    expect(shapes.get('classifier.6')).toEqual([1000, 1, 1]);
    expect([...specTensorShapes(spec).keys()]).toEqual(['features.0', 'features.3', 'features.6', 'features.8', 'features.10', 'classifier.1', 'classifier.4', 'classifier.6'].flatMap((k) => [`${k}.weight`, `${k}.bias`]));
    expect(spec.input).toEqual({ name: 'data', channels: 3, height: 224, width: 224, channelOrder: 'rgb', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resizeShortSide: 256 });
    expect(spec.logits).toBe('classifier.6');
  });

  it('Caffe: grouped convs, LRN, ceil pooling, 60,965,224 params, 227 BGR', () => {
    const spec = alexnetCaffeSpec(LABELS);
    expect(countParams(spec)).toBe(60_965_224);
    const shapes = inferShapes(spec);
    expect(shapes.get('conv1')).toEqual([96, 55, 55]);
    expect(shapes.get('pool1')).toEqual([96, 27, 27]);
    expect(shapes.get('pool2')).toEqual([256, 13, 13]);
    expect(shapes.get('pool5')).toEqual([256, 6, 6]);
    expect(specTensorShapes(spec).get('conv2.weight')).toEqual([256, 48, 5, 5]);
    expect(specTensorShapes(spec).get('conv5.weight')).toEqual([256, 192, 3, 3]);
    expect(spec.layers.find((l) => l.name === 'norm1')).toEqual({ type: 'lrn', name: 'norm1', inputs: ['relu1'], size: 5, alpha: 1e-4, beta: 0.75, k: 1 });
    expect(spec.input).toMatchObject({ height: 227, channelOrder: 'bgr', scale: 1, mean: [104, 117, 123] });
    expect(spec.logits).toBe('fc8');
  });
});

describe('AlexNet converter', () => {
  const want = specTensorShapes(alexnetTorchvisionSpec(LABELS));
  let generated: { key: string; shape: number[]; data: Float32Array }[];
  let pth: string;

  beforeAll(() => {
    generated = [...want].map(([key, shape], i) => ({ key, shape, data: randomArray(shape.reduce((a, b) => a * b, 1), 1000 + i, 0.05) }));
    pth = writePth('alexnet_generated', generated);
  }, 60_000);

  it('converts a full-size torchvision state dict: every value, the spec, and the written files', () => {
    const c = convertAlexnetTorch(pth, LABELS);
    expect(c.spec).toEqual(alexnetTorchvisionSpec(LABELS));
    expect(c.tensors.map((t) => t.name)).toEqual(generated.map((g) => g.key));
    for (const [i, g] of generated.entries()) {
      expect(c.tensors[i].shape).toEqual(g.shape);
      expectClose(c.tensors[i].data, g.data, EXACT, undefined, g.key);
    }
    const out = join(tmp, 'out');
    const s = writeModel(out, c);
    expect(s).toMatchObject({ tensors: 16, params: 61_100_840 });
    const st = parseSafetensors(readFileSync(join(out, 'alexnet/weights.safetensors')), 'alexnet/weights.safetensors');
    expect(st.bytes.length).toBe(s.bytes);
    for (const key of ['features.0.weight', 'classifier.6.bias']) expectClose(readTensorF32(st, key), generated.find((g) => g.key === key)!.data, EXACT, undefined, key);
    expect(st.entries.get('classifier.1.weight')!.shape).toEqual([4096, 9216]);
    expect(JSON.parse(readFileSync(join(out, 'alexnet/model.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(c.spec)));
    rmSync(out, { recursive: true });
  });

  it('a wrong-shaped tensor names the file, the key and expected vs actual shape', () => {
    const small = [...want].map(([key], i) => ({ key, shape: key === 'features.0.weight' ? [96, 3, 11, 11] : [2], data: randomArray(key === 'features.0.weight' ? 96 * 363 : 2, i) }));
    const file = writePth('wrong_shape', small);
    expect(() => convertAlexnetTorch(file, LABELS)).toThrow(`alexnet ${file}: key 'features.0.weight' has shape (96, 3, 11, 11), expected (64, 3, 11, 11)`);
  });

  it('another model\'s state dict names the missing and unexpected keys', () => {
    const file = writePth('resnet_like', [
      { key: 'conv1.weight', shape: [4, 3, 7, 7], data: randomArray(588, 1) },
      { key: 'fc.weight', shape: [2, 4], data: randomArray(8, 2) },
      { key: 'features.0.weight', shape: [64, 3, 11, 11], data: randomArray(64 * 363, 3) },
    ]);
    expect(() => convertAlexnetTorch(file, LABELS)).toThrow(
      new RegExp(`alexnet ${file.replace(/[.]/g, '\\.')}: not a torchvision AlexNet state dict: missing keys features\\.0\\.bias, features\\.3\\.weight, .*classifier\\.6\\.bias; unexpected keys conv1\\.weight, fc\\.weight$`),
    );
  });
});
