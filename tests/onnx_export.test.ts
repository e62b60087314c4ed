// ONNX export (scripts/onnx/): the protobuf encoder against hand-encoded bytes, the exported file
// decoded back field by field, and the exported networks run in ONNX Runtime Web's WASM backend
// (Node) against our engine's forward on SwiftShader, on seeded random inputs: TinyVGG,
// SqueezeNet 1.1 and GoogLeNet (real weights), a tiny AlexNet-shaped (Caffe form) and a
// GoogLeNet-like network with generated weights, and every ceil-mode pooling and LRN layer of
// the real networks, plus a grid of awkward pooling shapes.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../engine/models/load';
import { parseSafetensors, readTensorF32, writeSafetensors } from '../engine/models/safetensors';
import type { LayerSpec, ModelSpec, PoolLayer } from '../engine/models/spec';
import { Tensor } from '../engine/tensor';
import { runOnnxCli } from '../scripts/onnx/cli';
import { exportOnnx, OnnxExportError } from '../scripts/onnx/export';
import { Writer } from '../scripts/onnx/protobuf';
import { expectClose, type Tolerance } from './helpers/close';
import { gpu } from './helpers/gpu';
import { conv, FIRE, INCEPTION, linear, pool, randomWeights, relu, spec as makeSpec } from './helpers/model_specs';
import { randomArray } from './helpers/random';

/**
 * A network's layers and logits, float32 on SwiftShader vs float32 in ORT's WASM kernels (other
 * summation orders). Measured: at most 4.6e-4 abs on activations of a few hundred (SqueezeNet's
 * pool5, GoogLeNet's norm2, inputs scaled to +-50), 2.2e-5 on logits.
 */
const NET_TOL: Tolerance = { atol: 1e-3, rtol: 1e-4 };
/** One pooling layer on the input, float32 on both sides (measured: at most 7.5e-8 abs). */
const LAYER_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };
/** A whole real network at batch 1 on SwiftShader plus ORT's single-threaded WASM run. */
const NET_TIMEOUT = 300_000;

const WEIGHTS = 'weights';

function realModel(name: string): { spec: ModelSpec; weights: Uint8Array } {
  const dir = join(WEIGHTS, name);
  if (!existsSync(join(dir, 'model.json')) || !existsSync(join(dir, 'weights.safetensors'))) {
    throw new Error(`${dir}/model.json and weights.safetensors are missing: run \`npm run weights\` first`);
  }
  return { spec: JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelSpec, weights: new Uint8Array(readFileSync(join(dir, 'weights.safetensors'))) };
}

function generated(spec: ModelSpec, seed: number): { spec: ModelSpec; weights: Uint8Array } {
  return { spec, weights: writeSafetensors(randomWeights(spec, seed)) };
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1; // the machine is shared; one thread is also deterministic
});

/** Run `names` of the exported model in ORT (WASM) and in our engine on the same input; compare each. */
async function compare(m: { spec: ModelSpec; weights: Uint8Array }, n: number, names: string[], tol: Tolerance, seed = 17, scale = 1): Promise<void> {
  const { spec } = m;
  const shape = [n, spec.input.channels, spec.input.height, spec.input.width];
  const data = randomArray(shape.reduce((a, b) => a * b, 1), seed, scale);
  const exported = exportOnnx(spec, m.weights, { outputs: names });
  const session = await ort.InferenceSession.create(exported.bytes, { executionProviders: ['wasm'] });
  const input = new ort.Tensor('float32', data, shape);
  let ortOut: ort.InferenceSession.OnnxValueMapType;
  try {
    ortOut = await session.run({ [spec.input.name]: input });
  } finally {
    await session.release();
  }

  const rt = await gpu();
  const model = await loadModel(rt, m);
  const x = Tensor.fromData(rt, data, shape, 'onnx test input');
  try {
    model.forward(x);
    for (const name of names) {
      const ours = await model.readActivation(name);
      const theirs = ortOut[name] as ort.Tensor;
      const oursShape = [n, ...model.layerShape(name, spec.input.height, spec.input.width)];
      expect(theirs.dims, `${spec.name} ${name} dims`).toEqual(oursShape);
      expectClose(theirs.data as Float32Array, ours, tol, oursShape, `${spec.name} ${name}: ONNX Runtime (wasm) vs ours`);
    }
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** The LRN and ceil-mode pooling layers of a spec. */
const poolAndLrn = (s: ModelSpec): string[] => s.layers.filter((l) => l.type === 'lrn' || ((l.type === 'maxpool' || l.type === 'avgpool') && l.ceil)).map((l) => l.name);

// ---------------------------------------------------------------------------------------------
// A tiny protobuf decoder, for reading back what the encoder wrote.

type Field = { wire: 0; v: bigint } | { wire: 2; v: Uint8Array } | { wire: 5; v: number } | { wire: 1; v: bigint };

function readVarint(b: Uint8Array, at: { i: number }): bigint {
  let r = 0n;
  let shift = 0n;
  for (;;) {
    if (at.i >= b.length) throw new Error('decoder: truncated varint');
    const byte = b[at.i++];
    r |= BigInt(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return r;
    shift += 7n;
  }
}

function decode(b: Uint8Array): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  const at = { i: 0 };
  while (at.i < b.length) {
    const tag = Number(readVarint(b, at));
    const field = tag >>> 3;
    const wire = tag & 7;
    let f: Field;
    if (wire === 0) f = { wire, v: readVarint(b, at) };
    else if (wire === 2) {
      const len = Number(readVarint(b, at));
      f = { wire, v: b.subarray(at.i, at.i + len) };
      at.i += len;
    } else if (wire === 5) {
      f = { wire, v: new DataView(b.buffer, b.byteOffset + at.i, 4).getFloat32(0, true) };
      at.i += 4;
    } else if (wire === 1) {
      f = { wire, v: new DataView(b.buffer, b.byteOffset + at.i, 8).getBigUint64(0, true) };
      at.i += 8;
    } else throw new Error(`decoder: wire type ${wire} at byte ${at.i}`);
    if (at.i > b.length) throw new Error(`decoder: field ${field} runs past the end`);
    out.set(field, [...(out.get(field) ?? []), f]);
  }
  return out;
}

const all = (m: Map<number, Field[]>, field: number): Field[] => m.get(field) ?? [];
const str = (m: Map<number, Field[]>, field: number): string[] => all(m, field).map((f) => new TextDecoder().decode(f.v as Uint8Array));
const msgs = (m: Map<number, Field[]>, field: number) => all(m, field).map((f) => decode(f.v as Uint8Array));
const int = (m: Map<number, Field[]>, field: number): number => Number(BigInt.asIntN(64, all(m, field)[0].v as bigint));
const packed = (m: Map<number, Field[]>, field: number): number[] => {
  const b = all(m, field)[0].v as Uint8Array;
  const at = { i: 0 };
  const vs: number[] = [];
  while (at.i < b.length) vs.push(Number(BigInt.asIntN(64, readVarint(b, at))));
  return vs;
};
const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

describe('protobuf encoder', () => {
  it('writes the wire format of the protobuf documentation', () => {
    expect(hex(new Writer().int(1, 150).finish())).toBe('08 96 01');
    expect(hex(new Writer().string(2, 'testing').finish())).toBe('12 07 74 65 73 74 69 6e 67');
    expect(hex(new Writer().varint(300).finish())).toBe('ac 02');
    expect(hex(new Writer().varint(0).finish())).toBe('00');
    expect(hex(new Writer().varint(127).finish())).toBe('7f');
    // Negative int64: sign-extended to ten bytes.
    expect(hex(new Writer().varint(-1).finish())).toBe('ff ff ff ff ff ff ff ff ff 01');
    expect(hex(new Writer().packedInts(4, [3, 270, 86942]).finish())).toBe('22 06 03 8e 02 9e a7 05');
    expect(hex(new Writer().float(1, 1).finish())).toBe('0d 00 00 80 3f');
    expect(hex(new Writer().varint(2n ** 63n).finish())).toBe('80 80 80 80 80 80 80 80 80 01');
  });

  it('round-trips through the decoder, nested messages and large varints included', () => {
    const w = new Writer()
      .int(1, 2 ** 40 + 5)
      .message(7, (m) => m.string(2, 'graph').message(1, (n) => n.string(4, 'Conv').packedInts(8, [-1, 0, 2 ** 31])))
      .packedFloats(4, [0.5, -2, 3.25]);
    const d = decode(w.finish());
    expect(int(d, 1)).toBe(2 ** 40 + 5);
    const g = msgs(d, 7)[0];
    expect(str(g, 2)).toEqual(['graph']);
    const node = msgs(g, 1)[0];
    expect(str(node, 4)).toEqual(['Conv']);
    expect(packed(node, 8)).toEqual([-1, 0, 2 ** 31]);
    expect(Array.from(new Float32Array((all(d, 4)[0].v as Uint8Array).slice().buffer))).toEqual([0.5, -2, 3.25]);
  });

  it('refuses numbers a varint cannot hold exactly', () => {
    expect(() => new Writer().varint(1.5)).toThrow(/1.5 is not a safe integer/);
    expect(() => new Writer().varint(2 ** 60)).toThrow(/not a safe integer \(pass a bigint/);
    expect(() => new Writer().varint(2n ** 64n)).toThrow(/does not fit in 64 bits/);
    expect(() => new Writer().int(0, 1)).toThrow(/field number 0 is out of range/);
  });
});

describe('ONNX export: the file', () => {
  it('decodes back to the ModelProto fields of tinyvgg (opset, graph, nodes, attributes, initializers, shapes)', () => {
    const { spec, weights } = realModel('tinyvgg');
    const { bytes, ops } = exportOnnx(spec, weights);
    const model = decode(bytes);
    expect(int(model, 1)).toBe(7); // ir_version
    expect(str(model, 2)).toEqual(['cnnvis']);
    const [opset] = msgs(model, 8);
    expect(str(opset, 1)).toEqual(['']);
    expect(int(opset, 2)).toBe(13);
    const [graph] = msgs(model, 7);
    expect(str(graph, 2)).toEqual(['tinyvgg']);
    const nodes = msgs(graph, 1);
    expect(nodes.map((n) => str(n, 4)[0])).toEqual(['Conv', 'Relu', 'Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'Conv', 'Relu', 'MaxPool', 'Reshape', 'Flatten', 'Gemm', 'Reshape', 'Softmax']);
    expect(Object.values(ops).reduce((a, b) => a + b, 0)).toBe(nodes.length);
    const conv1 = spec.layers[0] as Extract<LayerSpec, { type: 'conv' }>;
    expect(str(nodes[0], 3)).toEqual([conv1.name]);
    expect(str(nodes[0], 1)).toEqual(['data', `${conv1.name}.weight`, `${conv1.name}.bias`]);
    const attrs = new Map(msgs(nodes[0], 5).map((a) => [str(a, 1)[0], a]));
    expect([...attrs.keys()].sort()).toEqual(['dilations', 'group', 'kernel_shape', 'pads', 'strides']);
    expect(int(attrs.get('kernel_shape')!, 20)).toBe(7); // INTS
    expect(packed(attrs.get('kernel_shape')!, 8)).toEqual(conv1.kernel);
    expect(packed(attrs.get('pads')!, 8)).toEqual([conv1.pad[0], conv1.pad[2], conv1.pad[1], conv1.pad[3]]);
    expect(int(attrs.get('group')!, 20)).toBe(2); // INT
    expect(int(attrs.get('group')!, 3)).toBe(1);
    const gemm = nodes.find((n) => str(n, 4)[0] === 'Gemm')!;
    const gemmAttrs = new Map(msgs(gemm, 5).map((a) => [str(a, 1)[0], a]));
    expect(int(gemmAttrs.get('transB')!, 3)).toBe(1);
    expect(all(gemmAttrs.get('alpha')!, 2)[0].v).toBe(1);

    const inits = new Map(msgs(graph, 5).map((t) => [str(t, 8)[0], t]));
    const st = parseSafetensors(weights, 'tinyvgg');
    expect(inits.size).toBe(st.entries.size + 1); // every weight, plus the (N, -1, 1, 1) shape
    for (const [name, e] of st.entries) {
      const t = inits.get(name)!;
      expect(packed(t, 1), name).toEqual(e.shape);
      expect(int(t, 2), name).toBe(1); // FLOAT
      const raw = (all(t, 9)[0].v as Uint8Array).slice();
      expect(Array.from(new Float32Array(raw.buffer)), name).toEqual(Array.from(readTensorF32(st, name)));
    }
    const shapeT = inits.get('cnnvis/shape_n_c_1_1')!;
    expect(int(shapeT, 2)).toBe(7); // INT64
    expect(Array.from(new BigInt64Array((all(shapeT, 9)[0].v as Uint8Array).slice().buffer))).toEqual([0n, -1n, 1n, 1n]);

    const dims = (vi: Map<number, Field[]>) => msgs(msgs(msgs(msgs(vi, 2)[0], 1)[0], 2)[0], 1).map((d) => (d.has(2) ? str(d, 2)[0] : int(d, 1)));
    const [input] = msgs(graph, 11);
    expect(str(input, 1)).toEqual(['data']);
    expect(dims(input)).toEqual(['N', 3, 64, 64]);
    expect(msgs(graph, 12).map((o) => [str(o, 1)[0], dims(o)])).toEqual([['output', ['N', 10, 1, 1]], ['output/softmax', ['N', 10, 1, 1]]]);
    expect(dims(msgs(decode(exportOnnx(spec, weights, { batch: 4 }).bytes), 7).map((g) => msgs(g, 11)[0])[0])).toEqual([4, 3, 64, 64]);
  });

  it('names the layer it cannot export, and the output it does not know', () => {
    // FIRE's pool_a: AdaptiveAvgPool 7x7 -> 3x2.
    const fire = generated(FIRE, 5);
    expect(() => exportOnnx(fire.spec, fire.weights)).toThrow(OnnxExportError);
    expect(() => exportOnnx(fire.spec, fire.weights)).toThrow(/layer 'pool_a': adaptiveavgpool 7x7 -> 3x2 does not divide evenly, and ONNX has no adaptive pooling/);
    // Without pool_a (only what 'gap' reads from) it exports.
    expect(exportOnnx(fire.spec, fire.weights, { outputs: ['gap'] }).ops).toMatchObject({ GlobalAveragePool: 1, Conv: 5 });
    expect(() => exportOnnx(fire.spec, fire.weights, { outputs: ['nope'] })).toThrow(/output 'nope' is not a layer of mini_fire \(layers: conv1, relu1,/);
    const mixed = generated(poolZoo([pool('avgpool', 'avg_mixed', 'data', 3, 3, [1, 1, 1, 1], true, true)]), 1);
    expect(() => exportOnnx(mixed.spec, mixed.weights)).toThrow(/layer 'avg_mixed': avgpool 3x3\/3x3 pads 1,1,1,1 in ceil mode on 12x11 -> 5x4: a last window would start inside the padding/);
    expect(() => exportOnnx(fire.spec, fire.weights, { batch: 0 })).toThrow(/batch must be a positive integer, got 0/);
  });

  it('writes results/onnx/<model>.onnx from the command line, with clear argument errors', () => {
    const out = mkdtempSync(join(tmpdir(), 'cnnvis-onnx-'));
    try {
      const lines: string[] = [];
      const path = runOnnxCli(['--model', 'tinyvgg', '--out', out], (s) => lines.push(s));
      expect(path).toBe(join(out, 'tinyvgg.onnx'));
      expect(readFileSync(path).length).toBeGreaterThan(4 * 1690 * 10);
      expect(lines.join('\n')).toMatch(/wrote .*tinyvgg\.onnx .*opset 13.*Conv 4.*input data \(N, 3, 64, 64\); outputs output \(N, 10, 1, 1\), output\/softmax/);
      expect(() => runOnnxCli(['--model', 'resnet'])).toThrow(/unknown model 'resnet' \(known: squeezenet1_1, googlenet, tinyvgg, alexnet, alexnet_caffe\)/);
      expect(() => runOnnxCli(['--modle', 'tinyvgg'])).toThrow(/unknown argument '--modle' \(options: --model, --out, --weights, --batch\)/);
      expect(() => runOnnxCli(['--model', 'tinyvgg', '--batch', 'x'])).toThrow(/--batch needs a positive integer, got x/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

/** A spec of pooling layers that all read the (3, 12, 11) input. */
function poolZoo(layers: PoolLayer[]): ModelSpec {
  return makeSpec('pool_zoo', [12, 11], layers, layers[0].name);
}

/** AlexNet's shape (Caffe form: LRN, ceil pooling, groups 2, three FC) at 35x35 with few channels. */
const TINY_ALEXNET = makeSpec('tiny_alexnet', [35, 35], [
  conv('conv1', 'data', 3, 8, 5, 2), relu('relu1', 'conv1'),
  { type: 'lrn', name: 'norm1', inputs: ['relu1'], size: 5, alpha: 0.3, beta: 0.75, k: 1 },
  pool('maxpool', 'pool1', 'norm1', 3, 2, [0, 0, 0, 0], true),
  conv('conv2', 'pool1', 8, 12, 3, 1, [1, 1, 1, 1], 2), relu('relu2', 'conv2'),
  { type: 'lrn', name: 'norm2', inputs: ['relu2'], size: 3, alpha: 0.5, beta: 0.6, k: 2 },
  pool('maxpool', 'pool2', 'norm2', 3, 2, [0, 0, 0, 0], true),
  conv('conv3', 'pool2', 12, 16, 3, 1, [1, 1, 1, 1]), relu('relu3', 'conv3'),
  conv('conv4', 'relu3', 16, 16, 3, 1, [1, 1, 1, 1], 2), relu('relu4', 'conv4'),
  conv('conv5', 'relu4', 16, 8, 3, 1, [1, 1, 1, 1], 2), relu('relu5', 'conv5'),
  pool('maxpool', 'pool5', 'relu5', 3, 2, [0, 0, 0, 0], true),
  linear('fc6', 'pool5', 32, 20), relu('relu6', 'fc6'), { type: 'dropout', name: 'drop6', inputs: ['relu6'], ratio: 0.5 },
  linear('fc7', 'drop6', 20, 20), relu('relu7', 'fc7'), { type: 'dropout', name: 'drop7', inputs: ['relu7'], ratio: 0.5 },
  linear('fc8', 'drop7', 20, 10),
  { type: 'softmax', name: 'prob', inputs: ['fc8'] },
], 'fc8');

describe('ONNX export: ONNX Runtime (wasm) runs it like our engine', () => {
  it.each([
    ['max 3/2 ceil (SqueezeNet, GoogLeNet)', pool('maxpool', 'p', 'data', 3, 2, [0, 0, 0, 0], true)],
    ['max 3/1 pad 1 ceil (GoogLeNet inception)', pool('maxpool', 'p', 'data', 3, 1, [1, 1, 1, 1], true)],
    ['max 2/2 ceil, odd width', pool('maxpool', 'p', 'data', 2, 2, [0, 0, 0, 0], true)],
    ['max 3/2 asymmetric pads ceil', pool('maxpool', 'p', 'data', 3, 2, [1, 0, 0, 1], true)],
    ['max 3/3 pad 1 ceil: rows ceil, last column window in the padding', pool('maxpool', 'p', 'data', 3, 3, [1, 1, 1, 1], true)],
    ['avg 3/2 pad 1 ceil, padding counted', pool('avgpool', 'p', 'data', 3, 2, [1, 1, 1, 1], true, true)],
    ['avg 3/2 pad 1 ceil, padding not counted', pool('avgpool', 'p', 'data', 3, 2, [1, 1, 1, 1], true, false)],
    ['avg 2/2 ceil overhang, no padding', pool('avgpool', 'p', 'data', 2, 2, [0, 0, 0, 0], true, true)],
    ['avg 3/2 floor', pool('avgpool', 'p', 'data', 3, 2, [0, 0, 0, 0], false, true)],
  ])('pooling: %s', async (_what, layer) => {
    await compare(generated(poolZoo([layer]), 1), 2, [layer.name], LAYER_TOL, 3);
  });

  it('a tiny AlexNet (Caffe form: LRN, ceil pools, groups, FC) with generated weights: every LRN and pool, and the logits', async () => {
    await compare(generated(TINY_ALEXNET, 7), 3, [...poolAndLrn(TINY_ALEXNET), 'fc8', 'prob'], NET_TOL, 11, 2);
  });

  it('a GoogLeNet-like network with generated weights (inception branches, ceil avgpool without padding counted, flatten)', async () => {
    await compare(generated(INCEPTION, 3), 2, ['pool1', 'norm1', 'a/output', 'pool2', 'fc2', 'prob'], NET_TOL, 5, 2);
  });

  it('tinyvgg (real weights), batch 3: logits and probabilities', async () => {
    await compare(realModel('tinyvgg'), 3, ['output', 'output/softmax'], NET_TOL, 23);
  });

  it('squeezenet1_1 (real weights), batch 2: every ceil-mode max pool, the logits and the probabilities', async () => {
    const m = realModel('squeezenet1_1');
    await compare(m, 2, [...poolAndLrn(m.spec), 'pool10', 'prob'], NET_TOL, 29, 50);
  }, NET_TIMEOUT);

  it('googlenet (real weights), batch 1: both LRNs and the first ceil-mode pools, the logits and the probabilities', async () => {
    const m = realModel('googlenet');
    await compare(m, 1, ['pool1/3x3_s2', 'pool1/norm1', 'conv2/norm2', 'pool2/3x3_s2', 'inception_3a/pool', 'pool5/7x7_s1', 'loss3/classifier', 'prob'], NET_TOL, 31, 50);
  }, NET_TIMEOUT);
});
