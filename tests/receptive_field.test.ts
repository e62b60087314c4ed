// Receptive fields (engine/techniques/receptive_field.ts):
//   - the published AlexNet values, both forms (11, 19, 51, 67, 99, 131, 163, 195);
//   - empirically, for SqueezeNet 1.1 and GoogLeNet (concat branches included): the bounding box
//     of the non-zero input gradient of one neuron equals the computed field clipped to the image.
//     Max pooling routes a gradient to one cell per window only, so the exact check runs the same
//     graph with every max pool replaced by an average pool of the same kernel / stride / pad
//     (identical geometry) and positive weights and inputs (no ReLU ever blocks): then every input
//     pixel the neuron depends on gets a non-zero gradient. The real network (max pools, real
//     weights) must stay inside the field;
//   - the table, the JSON rows and the technique.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, Tensor, type Model } from '../engine/index';
import { alexnetCaffeSpec, alexnetTorchvisionSpec } from '../engine/models/alexnet';
import { expectedTensors } from '../engine/models/load';
import type { LayerSpec, ModelSpec } from '../engine/models/spec';
import { channelField, fieldBox, fieldRows, fieldTable, receptiveField, receptiveFields } from '../engine/techniques/receptive_field';
import { defaultOptions } from '../engine/techniques/technique';
import { cli } from './helpers/cli';
import { weightsFile } from './helpers/generated_weights';
import { gpu, track } from './helpers/gpu';
import { randomArray, rng } from './helpers/random';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const labels = Array.from({ length: 1000 }, (_, i) => `class ${i}`);
const json = (m: string) => JSON.parse(readFileSync(join(ROOT, 'weights', m, 'model.json'), 'utf8')) as ModelSpec;

const sizeOf = (spec: ModelSpec) => new Map(receptiveFields(spec).map((l) => [l.name, l.fields.map((f) => f.size[0])]));

describe('receptive fields: AlexNet', () => {
  it.each([
    ['torchvision', alexnetTorchvisionSpec(labels), ['features.0', 'features.2', 'features.3', 'features.5', 'features.6', 'features.8', 'features.10', 'features.12']],
    ['caffe', alexnetCaffeSpec(labels), ['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5', 'pool5']],
  ] as const)('%s form: conv1 11, pool1 19, conv2 51, pool2 67, conv3 99, conv4 131, conv5 163, pool5 195', (_form, spec, names) => {
    const sizes = sizeOf(spec);
    expect(names.map((n) => sizes.get(n))).toEqual([11, 19, 51, 67, 99, 131, 163, 195].map((s) => [s]));
    const fields = new Map(receptiveFields(spec).map((l) => [l.name, l.fields[0]]));
    expect(fields.get(names[0])!.stride).toEqual([4, 4]);
    expect(fields.get(names[7])!.stride).toEqual([32, 32]);
    // conv1's unit 0 is centred at 5 - pad: 3 for torchvision (pad 2), 5 for Caffe (no pad).
    expect(fields.get(names[0])!.start[0]).toBe(spec.name === 'alexnet' ? 3 : 5);
  });

  it('gives each branch of a concat its own field (SqueezeNet fire2, GoogLeNet inception_3a)', () => {
    const sq = new Map(receptiveFields(json('squeezenet1_1')).map((l) => [l.name, l]));
    // conv1 3x3 s2 -> 3; pool1 3x3 s2 -> 7; expand1x1 keeps 7, expand3x3 adds 2 * 4.
    expect(sq.get('fire2/concat')!.fields.map((f) => [f.channels, f.size[0]])).toEqual([[[0, 64], 7], [[64, 128], 15]]);
    const g = new Map(receptiveFields(json('googlenet')).map((l) => [l.name, l]));
    expect(g.get('inception_3a/output')!.fields.map((f) => [f.channels, f.size[0], f.stride[0]])).toEqual([
      [[0, 64], 27, 8], [[64, 192], 43, 8], [[192, 224], 59, 8], [[224, 256], 43, 8],
    ]);
    // A layer reading every branch sees their envelope.
    expect(g.get('inception_3b/1x1')!.fields.map((f) => f.size[0])).toEqual([59]);
  });
});

/** The spec with max pools as average pools (same geometry), and positive weights for it. */
function smoothVariant(spec: ModelSpec, seed: number): { spec: ModelSpec; weights: Map<string, Float32Array> } {
  const layers = spec.layers.map((l): LayerSpec => (l.type === 'maxpool' ? { ...l, type: 'avgpool', countIncludePad: true } : l));
  const out = { ...spec, name: `${spec.name}_avgpool`, layers };
  const weights = new Map<string, Float32Array>();
  const r = rng(seed);
  for (const l of layers) {
    for (const t of expectedTensors(l)) {
      const count = t.shape.reduce((a, b) => a * b, 1);
      const fanIn = count / t.shape[0];
      // Mean gain about 1 per layer, so activations neither vanish nor blow up.
      weights.set(t.name, t.name.endsWith('.weight') ? Float32Array.from({ length: count }, () => (0.5 + r()) / fanIn) : new Float32Array(count).fill(0.01));
    }
  }
  return { spec: out, weights };
}

/** [y0, x0, y1, x1] of the non-zero entries of a (1, 3, S, S) gradient. */
function nonZeroBox(g: Float32Array, s: number): [number, number, number, number] {
  const box: [number, number, number, number] = [s, s, -1, -1];
  for (let i = 0; i < g.length; i++) {
    if (g[i] === 0) continue;
    const y = Math.floor((i % (s * s)) / s);
    const x = i % s;
    box[0] = Math.min(box[0], y);
    box[1] = Math.min(box[1], x);
    box[2] = Math.max(box[2], y);
    box[3] = Math.max(box[3], x);
  }
  return box;
}

const clip = (b: number[], s: number) => b.map((v) => Math.max(0, Math.min(s - 1, v)));

/** The input gradient's box of neuron (channel (-1: the most active), centre of the layer) vs the field clipped to the image. */
async function check(model: Model, fieldsOf: ModelSpec, s: number, layer: string, channel: number): Promise<{ got: number[]; want: number[] }> {
  const x = track(Tensor.fromData(model.rt, randomArray(3 * s * s, 5, 0.5).map((v) => v + 0.6), [1, 3, s, s], 'image'));
  const [, h, w] = model.layerShape(layer, s, s);
  const [y0, x0] = [Math.floor(h / 2), Math.floor(w / 2)];
  model.forward(x, { until: layer });
  if (channel < 0) {
    // The most active channel at that position (a dead unit would have no gradient at all).
    const a = await model.readActivation(layer);
    const at = (c: number) => a[(c * h + y0) * w + x0];
    channel = Array.from({ length: model.layerShape(layer, s, s)[0] }, (_, c) => c).reduce((b, c) => (at(c) > at(b) ? c : b), 0);
  }
  const g = track(model.backward({ kind: 'neuron', layer, channel, y: y0, x: x0 }));
  const got = nonZeroBox(await g.read(), s);
  const f = channelField(receptiveFields(fieldsOf, { height: s, width: s, until: layer }).find((l) => l.name === layer)!, channel);
  return { got, want: clip(fieldBox(f, y0, x0), s) };
}

describe.each([
  // [model, input size, [layer, channel] pairs: plain layers and each branch of a concat]
  ['squeezenet1_1', 95, [['fire2/concat', 10], ['fire2/concat', 100], ['fire5/concat', 200]]],
  ['googlenet', 96, [['inception_3a/output', 20], ['inception_3a/output', 100], ['inception_3a/output', 200], ['inception_3a/output', 240]]],
] as const)('receptive fields of %s vs input gradients', (name, s, probes) => {
  let smooth: Model;
  const original = json(name);
  afterAll(() => smooth?.dispose());

  it.each(probes.map(([l, c]) => [l, c] as [string, number]))('%s channel %i: the non-zero gradient box is the field (average-pooled twin)', async (layer, channel) => {
    const rt = await gpu();
    if (!smooth) {
      const v = smoothVariant(original, 3);
      smooth = await loadModel(rt, { spec: v.spec, weights: weightsFile(v.spec, v.weights), file: `positive ${v.spec.name}` });
    }
    const { got, want } = await check(smooth, original, s, layer, channel);
    expect(got).toEqual(want);
  });
});

it('the real SqueezeNet (max pools, real weights) keeps the gradient of its most active fire5 unit inside the field', async () => {
  const rt = await gpu();
  const real = await loadModel(rt, join(ROOT, 'weights', 'squeezenet1_1'));
  try {
    const { got, want } = await check(real, real.spec, 95, 'fire5/concat', -1);
    expect(got[2]).toBeGreaterThanOrEqual(got[0]);
    expect(got[0]).toBeGreaterThanOrEqual(want[0]);
    expect(got[1]).toBeGreaterThanOrEqual(want[1]);
    expect(got[2]).toBeLessThanOrEqual(want[2]);
    expect(got[3]).toBeLessThanOrEqual(want[3]);
  } finally {
    real.dispose();
  }
});

describe('receptive-field output', () => {
  it('JSON rows, table and the technique', async () => {
    const spec = alexnetTorchvisionSpec(labels);
    const rows = fieldRows(receptiveFields(spec));
    expect(rows.find((r) => r.name === 'features.12')).toEqual({ name: 'features.12', type: 'maxpool', channels: [0, 256], size: 195, stride: 32, start: 31 });
    // fc6 sees the whole image (and past it, where padding reaches).
    expect(rows.find((r) => r.name === 'classifier.1')!.size).toBe(195 + 5 * 32);
    expect(fieldTable(receptiveFields(spec)).split('\n')[0]).toMatch(/^layer\s+type\s+channels\s+size\s+stride\s+start$/);
    const sq = json('squeezenet1_1');
    const model = { spec: sq } as unknown as Model;
    const r = await receptiveField.run({ model }, defaultOptions(receptiveField));
    const p = receptiveField.present(r, { model });
    expect((p.summary.layers as unknown[]).length).toBe(p.raw.shape[0]);
    expect(r.input).toEqual([227, 227]);
    expect(() => channelField(r.layers.find((l) => l.name === 'fire2/concat')!, 128)).toThrow(/channel 128 is not a channel of layer 'fire2\/concat' \(128 channels\)/);
  });
});

describe('receptive-field on the command line', () => {
  it('--json prints {"model", "input", "layers"} (AlexNet from the built-in spec, no weights needed); a bad flag fails', async () => {
    const [r, table, bad] = await Promise.all([
      cli('receptive-field', '--model', 'alexnet', '--json'),
      cli('receptive-field', '--model', 'squeezenet1_1'),
      cli('receptive-field', '--model', 'alexnet', '--frobnicate'),
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { input: number[]; layers: { name: string; size: number }[] };
    expect(out.input).toEqual([224, 224]);
    expect(out.layers.find((l) => l.name === 'features.12')).toMatchObject({ channels: [0, 256], size: 195, stride: 32, start: 31 });
    expect(table.stdout).toMatch(/fire2\/concat\s+concat\s+64-127\s+15\s+4\s+3/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown argument '--frobnicate'/);
  });
});
