// The TF.js converter is checked by running each model twice in float64: once the Keras way on
// the raw manifest weights (HWC activations, HWIO kernels, TF 'same' padding, Keras flatten
// order), once the engine's way on the converted spec and tensors (CHW, OIHW, Pad4, CHW flatten).
// The two must agree, which pins the kernel transposes, the pads and the Dense row permutation.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '../engine/models/spec';
import { countParams, inferShapes } from '../scripts/convert/infer';
import { convertTfjs, denseToLinear, samePad } from '../scripts/convert/tfjs';
import type { NamedTensor } from '../scripts/convert/write';
import { expectClose } from './helpers/close';
import { randomArray } from './helpers/random';

const SHARED = resolve(__dirname, '../../shared');
const F64 = { atol: 1e-10, rtol: 1e-9 };

// ---- Keras semantics, (H, W, C) ----

interface Hwc { h: number; w: number; c: number; v: Float64Array }

function kerasForward(modelJson: string, x: Hwc): Float64Array {
  const json = JSON.parse(readFileSync(modelJson, 'utf8'));
  const group = json.weightsManifest[0];
  const shard = readFileSync(join(dirname(modelJson), group.paths[0]));
  const all = new Float32Array(new Uint8Array(shard).buffer);
  const W = new Map<string, Float32Array>();
  let off = 0;
  for (const e of group.weights) {
    const n = e.shape.reduce((a: number, b: number) => a * b, 1);
    W.set(e.name, all.subarray(off, off + n));
    off += n;
  }
  const act = (v: Float64Array, a: string) => {
    if (a === 'relu') return v.map((t) => Math.max(0, t));
    if (a === 'softmax') {
      const m = Math.max(...v);
      const e = v.map((t) => Math.exp(t - m));
      const s = e.reduce((p, q) => p + q, 0);
      return e.map((t) => t / s);
    }
    return v;
  };
  // TF padding: out = ceil(H / s) for 'same' (before = floor(total / 2)), else floor((H - K) / s) + 1.
  const pads = (size: number, k: number, s: number, same: boolean) => {
    if (!same) return { out: Math.floor((size - k) / s) + 1, before: 0 };
    const out = Math.ceil(size / s);
    return { out, before: Math.floor(Math.max((out - 1) * s + k - size, 0) / 2) };
  };
  let cur = x;
  let flat: Float64Array | null = null;
  for (const { class_name: cls, config: c } of json.modelTopology.model_config.config.layers) {
    if (cls === 'Conv2D') {
      const [kh, kw] = c.kernel_size;
      const [sh, sw] = c.strides;
      const ph = pads(cur.h, kh, sh, c.padding === 'same');
      const pw = pads(cur.w, kw, sw, c.padding === 'same');
      const K = W.get(`${c.name}/kernel`)!;
      const B = W.get(`${c.name}/bias`)!;
      const co = c.filters;
      const v = new Float64Array(ph.out * pw.out * co);
      for (let y = 0; y < ph.out; y++)
        for (let z = 0; z < pw.out; z++)
          for (let o = 0; o < co; o++) {
            let s = B[o];
            for (let dy = 0; dy < kh; dy++)
              for (let dx = 0; dx < kw; dx++) {
                const yy = y * sh + dy - ph.before;
                const xx = z * sw + dx - pw.before;
                if (yy < 0 || yy >= cur.h || xx < 0 || xx >= cur.w) continue;
                for (let i = 0; i < cur.c; i++) s += cur.v[(yy * cur.w + xx) * cur.c + i] * K[((dy * kw + dx) * cur.c + i) * co + o];
              }
            v[(y * pw.out + z) * co + o] = s;
          }
      cur = { h: ph.out, w: pw.out, c: co, v: act(v, c.activation) };
    } else if (cls === 'MaxPooling2D') {
      const [kh, kw] = c.pool_size;
      const [sh, sw] = c.strides ?? c.pool_size;
      const ph = pads(cur.h, kh, sh, c.padding === 'same');
      const pw = pads(cur.w, kw, sw, c.padding === 'same');
      const v = new Float64Array(ph.out * pw.out * cur.c).fill(-Infinity);
      for (let y = 0; y < ph.out; y++)
        for (let z = 0; z < pw.out; z++)
          for (let i = 0; i < cur.c; i++)
            for (let dy = 0; dy < kh; dy++)
              for (let dx = 0; dx < kw; dx++) {
                const yy = y * sh + dy - ph.before;
                const xx = z * sw + dx - pw.before;
                if (yy < 0 || yy >= cur.h || xx < 0 || xx >= cur.w) continue;
                const at = (y * pw.out + z) * cur.c + i;
                v[at] = Math.max(v[at], cur.v[(yy * cur.w + xx) * cur.c + i]);
              }
      cur = { h: ph.out, w: pw.out, c: cur.c, v };
    } else if (cls === 'Activation') {
      if (flat) flat = act(flat, c.activation);
      else cur = { ...cur, v: act(cur.v, c.activation) };
    } else if (cls === 'Flatten') {
      flat = cur.v; // (H, W, C) order, as Keras flattens
    } else if (cls === 'Dense') {
      const inp = flat!;
      const K = W.get(`${c.name}/kernel`)!;
      const B = W.get(`${c.name}/bias`)!;
      const v = new Float64Array(c.units);
      for (let o = 0; o < c.units; o++) {
        let s = B[o];
        for (let i = 0; i < inp.length; i++) s += inp[i] * K[i * c.units + o];
        v[o] = s;
      }
      flat = act(v, c.activation);
    } else throw new Error(`test reference: no ${cls}`);
  }
  return flat!;
}

// ---- engine semantics, (C, H, W), from the converted spec ----

function engineForward(spec: ModelSpec, tensors: NamedTensor[], x: Float64Array): Map<string, Float64Array> {
  const T = new Map(tensors.map((t) => [t.name, t.data]));
  const shapes = inferShapes(spec);
  const outs = new Map<string, Float64Array>([[spec.input.name, x]]);
  for (const l of spec.layers) {
    const inp = outs.get(l.inputs[0])!;
    const [c, h, w] = shapes.get(l.inputs[0])!;
    const [oc, oh, ow] = shapes.get(l.name)!;
    let v: Float64Array;
    switch (l.type) {
      case 'conv': {
        const K = T.get(`${l.name}.weight`)!;
        const B = T.get(`${l.name}.bias`)!;
        const [kh, kw] = l.kernel;
        v = new Float64Array(oc * oh * ow);
        for (let o = 0; o < oc; o++)
          for (let y = 0; y < oh; y++)
            for (let z = 0; z < ow; z++) {
              let s = B[o];
              for (let i = 0; i < c; i++)
                for (let dy = 0; dy < kh; dy++)
                  for (let dx = 0; dx < kw; dx++) {
                    const yy = y * l.stride[0] + dy - l.pad[0];
                    const xx = z * l.stride[1] + dx - l.pad[2];
                    if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += inp[(i * h + yy) * w + xx] * K[((o * c + i) * kh + dy) * kw + dx];
                  }
              v[(o * oh + y) * ow + z] = s;
            }
        break;
      }
      case 'maxpool': {
        v = new Float64Array(oc * oh * ow).fill(-Infinity);
        for (let i = 0; i < c; i++)
          for (let y = 0; y < oh; y++)
            for (let z = 0; z < ow; z++)
              for (let dy = 0; dy < l.kernel[0]; dy++)
                for (let dx = 0; dx < l.kernel[1]; dx++) {
                  const yy = y * l.stride[0] + dy - l.pad[0];
                  const xx = z * l.stride[1] + dx - l.pad[2];
                  if (yy >= 0 && yy < h && xx >= 0 && xx < w) v[(i * oh + y) * ow + z] = Math.max(v[(i * oh + y) * ow + z], inp[(i * h + yy) * w + xx]);
                }
        break;
      }
      case 'relu':
        v = inp.map((t) => Math.max(0, t));
        break;
      case 'flatten':
        v = inp; // (C, H, W) order
        break;
      case 'linear': {
        const K = T.get(`${l.name}.weight`)!;
        const B = T.get(`${l.name}.bias`)!;
        v = new Float64Array(l.outFeatures);
        for (let o = 0; o < l.outFeatures; o++) {
          let s = B[o];
          for (let i = 0; i < l.inFeatures; i++) s += K[o * l.inFeatures + i] * inp[i];
          v[o] = s;
        }
        break;
      }
      case 'softmax': {
        const m = Math.max(...inp);
        const e = inp.map((t) => Math.exp(t - m));
        const s = e.reduce((p, q) => p + q, 0);
        v = e.map((t) => t / s);
        break;
      }
      default:
        throw new Error(`test reference: no ${l.type}`);
    }
    outs.set(l.name, v);
  }
  return outs;
}

function chwToHwc(v: Float64Array, c: number, h: number, w: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < c; i++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) out[(y * w + z) * c + i] = v[(i * h + y) * w + z];
  return out;
}

describe('tfjs conversion of the real TinyVGG', () => {
  const modelJson = join(SHARED, 'models/tinyvgg/model.json');
  const { spec, tensors } = convertTfjs(modelJson);

  it('has 19,920 params, the spec layers, labels and input', () => {
    expect(countParams(spec)).toBe(19_920);
    expect(spec.layers.map((l) => `${l.name}:${l.type}`)).toEqual([
      'conv_1_1:conv', 'relu_1_1:relu', 'conv_1_2:conv', 'relu_1_2:relu', 'max_pool_1:maxpool',
      'conv_2_1:conv', 'relu_2_1:relu', 'conv_2_2:conv', 'relu_2_2:relu', 'max_pool_2:maxpool',
      'flatten:flatten', 'output:linear', 'output/softmax:softmax',
    ]);
    expect(spec.logits).toBe('output');
    expect(inferShapes(spec).get('max_pool_2')).toEqual([10, 13, 13]);
    expect(spec.labels).toEqual(['lifeboat', 'ladybug', 'pizza', 'bell pepper', 'school bus', 'koala', 'espresso', 'red panda', 'orange', 'sport car']);
    expect(spec.input).toMatchObject({ height: 64, width: 64, channelOrder: 'rgb', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(tensors.find((t) => t.name === 'output.weight')!.shape).toEqual([10, 1690]);
  });

  it('runs like the Keras model (float64, random input in [0, 1])', () => {
    const x = Float64Array.from(randomArray(3 * 64 * 64, 21), (v) => (v + 1) / 2);
    const keras = kerasForward(modelJson, { h: 64, w: 64, c: 3, v: chwToHwc(x, 3, 64, 64) });
    const outs = engineForward(spec, tensors, x);
    expectClose(outs.get('output/softmax')!, keras, F64, [10], 'tinyvgg probabilities');
    expect(outs.get('output')!.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });
});

describe('tfjs conversion of a hand-made Keras model', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cnnvis-tfjs-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  // (7, 6, 3) -> Conv2D 4 3x2 s(2,1) same+relu -> (4, 6, 4) -> MaxPool 3 s2 same -> (2, 3, 4)
  // -> Conv2D 5 1x1 valid -> Flatten (30) -> Dense 6 relu -> Dense 3 softmax.
  const layers = [
    { class_name: 'Conv2D', config: { name: 'c1', batch_input_shape: [null, 7, 6, 3], filters: 4, kernel_size: [3, 2], strides: [2, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], activation: 'relu', use_bias: true } },
    { class_name: 'MaxPooling2D', config: { name: 'p1', pool_size: [3, 3], strides: [2, 2], padding: 'same', data_format: 'channels_last' } },
    { class_name: 'Conv2D', config: { name: 'c2', filters: 5, kernel_size: [1, 1], strides: [1, 1], padding: 'valid', data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: true } },
    { class_name: 'Flatten', config: { name: 'flat', data_format: 'channels_last' } },
    { class_name: 'Dense', config: { name: 'd1', units: 6, activation: 'relu', use_bias: true } },
    { class_name: 'Dense', config: { name: 'd2', units: 3, activation: 'softmax', use_bias: true } },
  ];
  const manifest = [
    ['c1/kernel', [3, 2, 3, 4]], ['c1/bias', [4]], ['c2/kernel', [1, 1, 4, 5]], ['c2/bias', [5]],
    ['d1/kernel', [30, 6]], ['d1/bias', [6]], ['d2/kernel', [6, 3]], ['d2/bias', [3]],
  ] as const;
  const write = (dir: string, mutate?: (json: { weightsManifest: { weights: { shape: number[] }[] }[] }) => void, shardBytes?: number) => {
    const values = manifest.map(([, shape], i) => randomArray(shape.reduce((a: number, b: number) => a * b, 1), 100 + i));
    const all = new Float32Array(values.reduce((a, v) => a + v.length, 0));
    let off = 0;
    for (const v of values) all.set(v, (off += v.length) - v.length);
    const json = {
      format: 'layers-model',
      modelTopology: { model_config: { class_name: 'Sequential', config: { name: 'seq', layers } } },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: manifest.map(([name, shape]) => ({ name, shape: [...shape], dtype: 'float32' })) }],
    };
    mutate?.(json);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(all.buffer, 0, shardBytes ?? all.byteLength));
    writeFileSync(join(dir, 'classes.txt'), 'a\nb\nc\n');
    return join(dir, 'model.json');
  };

  it('computes TF same pads with the odd pixel at the bottom/right', () => {
    expect(samePad(7, 3, 2)).toEqual([1, 1]);
    expect(samePad(6, 2, 1)).toEqual([0, 1]);
    expect(samePad(4, 3, 2)).toEqual([0, 1]);
    expect(samePad(6, 3, 2)).toEqual([0, 1]);
    expect(samePad(5, 1, 1)).toEqual([0, 0]);
  });

  it('permutes the Dense rows so a CHW flatten equals the Keras HWC flatten (float64)', () => {
    const [c, h, w, out] = [3, 2, 4, 5];
    const kernel = randomArray(c * h * w * out, 7);
    const x = Float64Array.from(randomArray(c * h * w, 8)); // (C, H, W)
    const xh = chwToHwc(x, c, h, w);
    const keras = new Float64Array(out);
    for (let o = 0; o < out; o++) for (let i = 0; i < c * h * w; i++) keras[o] += xh[i] * kernel[i * out + o];
    const lin = denseToLinear(kernel, c, h, w, out);
    const engine = new Float64Array(out);
    for (let o = 0; o < out; o++) for (let i = 0; i < c * h * w; i++) engine[o] += lin[o * c * h * w + i] * x[i];
    expectClose(engine, keras, F64, [out], 'dense');
    // ...and the un-permuted transpose would not.
    const plain = new Float64Array(out);
    for (let o = 0; o < out; o++) for (let i = 0; i < c * h * w; i++) plain[o] += kernel[i * out + o] * x[i];
    expect(() => expectClose(plain, keras, F64)).toThrow();
  });

  it('converts and runs like Keras: asymmetric same pads, strides, pooling, flatten, two Dense', () => {
    const dir = mkdtempSync(join(tmp, 'ok-'));
    const { spec, tensors } = convertTfjs(write(dir), 'handmade');
    expect(spec.layers.find((l) => l.name === 'c1')).toMatchObject({ pad: [1, 1, 0, 1], stride: [2, 1], kernel: [3, 2] });
    expect(spec.layers.find((l) => l.name === 'p1')).toMatchObject({ pad: [0, 1, 0, 1], ceil: false });
    expect(inferShapes(spec).get('p1')).toEqual([4, 2, 3]);
    expect(spec.layers.map((l) => l.name)).toEqual(['c1', 'c1/relu', 'p1', 'c2', 'flat', 'd1', 'd1/relu', 'd2', 'd2/softmax']);
    expect(spec.logits).toBe('d2');
    for (const seed of [1, 2, 3]) {
      const x = Float64Array.from(randomArray(3 * 7 * 6, seed));
      const keras = kerasForward(join(dir, 'model.json'), { h: 7, w: 6, c: 3, v: chwToHwc(x, 3, 7, 6) });
      expectClose(engineForward(spec, tensors, x).get('d2/softmax')!, keras, F64, [3], `seed ${seed}`);
    }
  });

  it('errors name the file and weight: short shard, wrong shape', () => {
    const a = mkdtempSync(join(tmp, 'short-'));
    expect(() => convertTfjs(write(a, undefined, 290))).toThrow(/model\.json: weight 'c1\/bias' \(4\) needs bytes \[288, 304\) but the shards group1-shard1of1\.bin hold 290/);
    const b = mkdtempSync(join(tmp, 'shape-'));
    const path = write(b, (j) => {
      j.weightsManifest[0].weights[4].shape = [6, 30];
    });
    expect(() => convertTfjs(path)).toThrow(/model\.json: weight 'd1\/kernel' has shape \(6, 30\), expected \(30, 6\)/);
  });
});
