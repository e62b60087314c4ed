import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConvLayer, LayerSpec, ModelSpec } from '../engine/models/spec';
import { caffeSpec, convertCaffe } from '../scripts/convert/caffe';
import { countParams, inferShapes } from '../scripts/convert/infer';
import type { Converted } from '../scripts/convert/write';
import { expectClose } from './helpers/close';
import { randomArray } from './helpers/random';

const SHARED = resolve(__dirname, '../../shared');
const F64: { atol: number; rtol: number } = { atol: 1e-12, rtol: 1e-12 };

const converted = new Map<string, Converted>();
function model(name: string): Converted {
  if (!converted.has(name)) converted.set(name, convertCaffe(join(SHARED, 'models', name)));
  return converted.get(name)!;
}
const layer = (spec: ModelSpec, name: string): LayerSpec => {
  const l = spec.layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name}`);
  return l;
};

/** Float64 convolution of one (C, H, W) image in NCHW with OIHW weights (symmetric pad, groups 1). */
function convNchw(x: Float32Array, c: number, h: number, w: number, wt: Float32Array, o: number, k: number, pad: number): Float64Array {
  const out = new Float64Array(o * h * w); // stride 1, 'same' size with pad = (k - 1) / 2
  for (let a = 0; a < o; a++)
    for (let y = 0; y < h; y++)
      for (let z = 0; z < w; z++) {
        let s = 0;
        for (let i = 0; i < c; i++)
          for (let dy = 0; dy < k; dy++)
            for (let dx = 0; dx < k; dx++) {
              const yy = y + dy - pad;
              const xx = z + dx - pad;
              if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += x[(i * h + yy) * w + xx] * wt[((a * c + i) * k + dy) * k + dx];
            }
        out[(a * h + y) * w + z] = s;
      }
  return out;
}

/** The same convolution computed the raw file's way: NHWC input, OHWI weights, output (O, H, W). */
function convNhwc(x: Float32Array, c: number, h: number, w: number, raw: Float32Array, o: number, k: number, pad: number): Float64Array {
  const xh = new Float64Array(h * w * c);
  for (let i = 0; i < c; i++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) xh[(y * w + z) * c + i] = x[(i * h + y) * w + z];
  const out = new Float64Array(o * h * w);
  for (let y = 0; y < h; y++)
    for (let z = 0; z < w; z++)
      for (let a = 0; a < o; a++) {
        let s = 0;
        for (let dy = 0; dy < k; dy++)
          for (let dx = 0; dx < k; dx++) {
            const yy = y + dy - pad;
            const xx = z + dx - pad;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            for (let i = 0; i < c; i++) s += xh[(yy * w + xx) * c + i] * raw[((a * k + dy) * k + dx) * c + i];
          }
        out[(a * h + y) * w + z] = s;
      }
  return out;
}

describe('caffe conversion of the real SqueezeNet 1.1', () => {
  it('has the published parameter count and one weight + bias per conv', () => {
    const { spec, tensors } = model('squeezenet1_1');
    expect(countParams(spec)).toBe(1_235_496);
    expect(tensors.reduce((a, t) => a + t.data.length, 0)).toBe(1_235_496);
    expect(tensors.length).toBe(2 * 26);
    expect(spec.layers.length).toBe(66);
  });

  it('infers Caffe (ceil) shapes: conv10 is (1000, 14, 14) for a 227 input', () => {
    // 227 -conv1 3x3 s2-> 113 -pool1 3 s2 ceil-> 56 -pool3-> 28 -pool5-> 14. (Floor pooling, as
    // torchvision uses, would give 55 -> 27 -> 13; Caffe's ceil gives 14.)
    const shapes = inferShapes(model('squeezenet1_1').spec);
    expect(shapes.get('conv1')).toEqual([64, 113, 113]);
    expect(shapes.get('pool1')).toEqual([64, 56, 56]);
    expect(shapes.get('pool3')).toEqual([128, 28, 28]);
    expect(shapes.get('fire9/concat')).toEqual([512, 14, 14]);
    expect(shapes.get('conv10')).toEqual([1000, 14, 14]);
    expect(shapes.get('pool10')).toEqual([1000, 1, 1]);
  });

  it('wires in-place ReLU and Dropout by layer name, concat bottoms in prototxt order', () => {
    const { spec } = model('squeezenet1_1');
    expect(layer(spec, 'relu_conv1').inputs).toEqual(['conv1']);
    expect(layer(spec, 'pool1').inputs).toEqual(['relu_conv1']);
    expect(layer(spec, 'fire2/expand1x1').inputs).toEqual(['fire2/relu_squeeze1x1']);
    expect(layer(spec, 'fire2/expand3x3').inputs).toEqual(['fire2/relu_squeeze1x1']);
    expect(layer(spec, 'fire2/concat').inputs).toEqual(['fire2/relu_expand1x1', 'fire2/relu_expand3x3']);
    expect(layer(spec, 'drop9')).toEqual({ type: 'dropout', name: 'drop9', inputs: ['fire9/concat'], ratio: 0.5 });
    expect(layer(spec, 'conv10').inputs).toEqual(['drop9']);
    expect(layer(spec, 'pool10')).toEqual({ type: 'globalavgpool', name: 'pool10', inputs: ['relu_conv10'] });
    expect(layer(spec, 'prob')).toEqual({ type: 'softmax', name: 'prob', inputs: ['pool10'] });
    expect(spec.logits).toBe('pool10');
  });

  it('has the Caffe input, labels without wnids, and a source', () => {
    const { spec } = model('squeezenet1_1');
    expect(spec.input).toEqual({ name: 'data', channels: 3, height: 227, width: 227, channelOrder: 'bgr', scale: 1, mean: [104, 117, 123], std: [1, 1, 1], resizeShortSide: 256 });
    expect(spec.labels.length).toBe(1000);
    expect(spec.labels[0]).toBe('tench, Tinca tinca');
    expect(spec.labels[999]).toBe('toilet tissue, toilet paper, bathroom tissue');
    expect(spec.source).toMatch(/caffejs/);
    expect(spec.format).toBe('cnnvis-model');
  });

  it.each(['conv1', 'fire2/expand3x3', 'fire9/squeeze1x1'])('%s: the OIHW weight convolves like the raw OHWI file (float64)', (name) => {
    const { spec, tensors } = model('squeezenet1_1');
    const l = layer(spec, name) as ConvLayer;
    const [o, c, k] = [l.outChannels, l.inChannels, l.kernel[0]];
    const raw = new Float32Array(new Uint8Array(readFileSync(join(SHARED, 'models/squeezenet1_1/weights', `${name}_filter.bin`))).buffer);
    const wt = tensors.find((t) => t.name === `${name}.weight`)!;
    expect(wt.shape).toEqual([o, c, k, k]);
    const [h, w] = [5, 4];
    const x = randomArray(c * h * w, 17);
    const pad = (k - 1) >> 1;
    expectClose(convNchw(x, c, h, w, wt.data, o, k, pad), convNhwc(x, c, h, w, raw, o, k, pad), F64, [o, h, w], name);
    const bias = new Float32Array(new Uint8Array(readFileSync(join(SHARED, 'models/squeezenet1_1/weights', `${name}_bias.bin`))).buffer);
    expect(tensors.find((t) => t.name === `${name}.bias`)!.data).toEqual(bias);
  });
});

describe('caffe conversion of the real GoogLeNet', () => {
  it('has the published parameter count', () => {
    const { spec, tensors } = model('googlenet');
    expect(countParams(spec)).toBe(6_998_552);
    expect(tensors.length).toBe(2 * 58);
  });

  it('infers (1024, 7, 7) before pool5 and (1024, 1, 1) after', () => {
    const shapes = inferShapes(model('googlenet').spec);
    expect(shapes.get('conv1/7x7_s2')).toEqual([64, 112, 112]);
    expect(shapes.get('pool1/3x3_s2')).toEqual([64, 56, 56]);
    expect(shapes.get('inception_3a/pool')).toEqual([192, 28, 28]); // 3x3 s1 pad 1 keeps the size
    expect(shapes.get('inception_3a/output')).toEqual([256, 28, 28]);
    expect(shapes.get('inception_5b/output')).toEqual([1024, 7, 7]);
    expect(shapes.get('pool5/7x7_s1')).toEqual([1024, 1, 1]);
  });

  it('keeps LRN, ceil pooling, in-place dropout and the classifier as logits', () => {
    const { spec } = model('googlenet');
    expect(layer(spec, 'pool1/norm1')).toEqual({ type: 'lrn', name: 'pool1/norm1', inputs: ['pool1/3x3_s2'], size: 5, alpha: 1e-4, beta: 0.75, k: 1 });
    expect(layer(spec, 'pool5/7x7_s1')).toEqual({ type: 'avgpool', name: 'pool5/7x7_s1', inputs: ['inception_5b/output'], kernel: [7, 7], stride: [1, 1], pad: [0, 0, 0, 0], ceil: true, countIncludePad: true });
    expect(layer(spec, 'inception_3a/pool')).toMatchObject({ type: 'maxpool', pad: [1, 1, 1, 1], ceil: true });
    expect(layer(spec, 'loss3/classifier')).toEqual({ type: 'linear', name: 'loss3/classifier', inputs: ['pool5/drop_7x7_s1'], outFeatures: 1000, inFeatures: 1024, bias: true });
    expect(spec.logits).toBe('loss3/classifier');
    expect(spec.input.height).toBe(224);
    expect(layer(spec, 'inception_3a/output').inputs).toEqual(['inception_3a/relu_1x1', 'inception_3a/relu_3x3', 'inception_3a/relu_5x5', 'inception_3a/relu_pool_proj']);
  });
});

describe('caffe errors', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cnnvis-caffe-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a truncated _filter.bin names the file, the tensor and expected vs actual size', () => {
    const dir = join(tmp, 'squeezenet1_1');
    cpSync(join(SHARED, 'models/squeezenet1_1'), dir, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', dir]); // the shared copy is read-only
    truncateSync(join(dir, 'weights/fire2/expand3x3_filter.bin'), 64 * 3 * 3 * 16 * 4 - 4);
    expect(() => convertCaffe(dir)).toThrow(
      "caffe squeezenet1_1: weights/fire2/expand3x3_filter.bin (tensor 'fire2/expand3x3.weight', OHWI (64, 3, 3, 16)): expected 36864 bytes (9216 float32), got 36860 bytes",
    );
    unlinkSync(join(dir, 'weights/fire3/squeeze1x1_bias.bin'));
    cpSync(join(SHARED, 'models/squeezenet1_1/weights/fire2/expand3x3_filter.bin'), join(dir, 'weights/fire2/expand3x3_filter.bin'));
    expect(() => convertCaffe(dir)).toThrow("caffe squeezenet1_1: weights/fire3/squeeze1x1_bias.bin (tensor 'fire3/squeeze1x1.bias', (16)) is missing");
  });

  const NET = (body: string) => `input: "data" input_dim: 1 input_dim: 3 input_dim: 5 input_dim: 5\n${body}`;
  const spec = (body: string) => caffeSpec(NET(body), 'net.prototxt', 'net', ['a', 'b'], 'test');

  it('reads input_dim, kernel_h/w, pad_h/w, stride, group, bias_term and pooling pad with Caffe ceil clipping', () => {
    const s = spec(`
      layer { name: "c" type: "Convolution" bottom: "data" top: "c"
              convolution_param { num_output: 6 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 stride: 2 bias_term: false } }
      layer { name: "g" type: "Convolution" bottom: "c" top: "g" convolution_param { num_output: 4 kernel_size: 1 group: 2 } }
      layer { name: "p" type: "Pooling" bottom: "g" top: "p" pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 } }
      layer { name: "fc" type: "InnerProduct" bottom: "p" top: "fc" inner_product_param { num_output: 2 } }`);
    expect(s.layers[0]).toEqual({ type: 'conv', name: 'c', inputs: ['data'], outChannels: 6, inChannels: 3, kernel: [3, 1], stride: [2, 2], pad: [1, 1, 0, 0], groups: 1, bias: false });
    expect(s.layers[1]).toMatchObject({ groups: 2, inChannels: 6, outChannels: 4, bias: true });
    const shapes = inferShapes(s);
    expect(shapes.get('c')).toEqual([6, 3, 3]);
    // (3 + 2 - 2) / 2 = 1.5 -> ceil 2, + 1 = 3; the third window would start at 4 >= 3 + 1 (inside the padding): clipped to 2.
    expect(shapes.get('p')).toEqual([4, 2, 2]);
    expect(s.layers[3]).toMatchObject({ inFeatures: 16, outFeatures: 2 });
    expect(s.logits).toBe('fc');
  });

  it.each([
    ['layer { name: "n" type: "LRN" bottom: "data" top: "n" lrn_param { norm_region: WITHIN_CHANNEL } }', /layer 'n' \(LRN\): norm_region WITHIN_CHANNEL is not supported/],
    ['layer { name: "b" type: "BatchNorm" bottom: "data" top: "b" }', /net\.prototxt: layer 'b' \(BatchNorm\): unsupported layer type/],
    ['layer { name: "c" type: "Concat" bottom: "data" bottom: "data" top: "c" concat_param { axis: 2 } }', /layer 'c' \(Concat\): concat along axis 2/],
    ['layer { name: "r" type: "ReLU" bottom: "nope" top: "r" }', /layer 'r' \(ReLU\): bottom blob 'nope' is not produced by an earlier layer/],
    ['layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 7 } }', /layer 'c': kernel window 7 is larger than the padded input 5/],
    ['layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 1 group: 2 } }', /layer 'c' \(conv\): channels 3 -> 4 not divisible by groups 2/],
  ])('rejects %s', (body, re) => {
    expect(() => spec(body)).toThrow(re);
  });
});
