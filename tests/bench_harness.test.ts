// The benchmark's correctness pieces (speed is never asserted): layer tables from the models'
// specs with the engine's shapes, FLOP counts, layout conversions, the timing loop, the CLI, and that the TF.js and
// engine layers it times compute the same thing (both vs the float64 references).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../scripts/bench/args';
import { layerData, nchwToNhwc, nhwcToNchw, oihwToHwio, xShape, yShape } from '../scripts/bench/data';
import { installNavigatorGpu } from '../scripts/bench/gpu';
import { benchLayers, benchSpec, flops, id, specLayers, type BenchLayer, type ConvShape, type ModelName } from '../scripts/bench/layers';
import { defaultVariants, ourLayer, variantsFor } from '../scripts/bench/ours';
import { startTfjs, tfLayer, type TfjsHandle } from '../scripts/bench/tfjs';
import { measure, median } from '../scripts/bench/timing';
import { loadModel } from '../engine/models/load';
import { writeSafetensors } from '../engine/models/safetensors';
import type { LayerSpec, ModelSpec } from '../engine/models/spec';
import { Runtime } from '../engine/runtime';
import { Tensor } from '../engine/tensor';
import { networkFlops, replayLine, timedReplay, type NetworkRow } from '../scripts/bench/network_bench';
import { networkBatch, PASSES } from '../scripts/bench/network_runners';
import { buildTfNetwork } from '../scripts/bench/tf_network';
import { expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { randomArray } from './helpers/random';
import * as convRef from './reference/conv2d';
import * as linRef from './reference/linear';

const SHARED = join(__dirname, '..', '..', 'shared');
const WEIGHTS = join(__dirname, '..', 'weights');
const NOWHERE = join(__dirname, 'no-such-dir');
const dirs = { sharedDir: SHARED, weightsDir: WEIGHTS };
/** Every conv or linear layer of a model, in order (not deduplicated). */
const layersOf = (m: ModelName, kind: 'conv' | 'linear', weightsDir = WEIGHTS) =>
  specLayers(m, benchSpec(m, { sharedDir: SHARED, weightsDir })).filter((l) => l[kind]);
const byName = (layers: BenchLayer[]) => (name: string) => {
  const l = layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name} among ${layers.map((x) => x.name).join(', ')}`);
  return l.conv ?? l.linear;
};

describe('layer list from the model specs, shapes from the engine', () => {
  it('SqueezeNet 1.1: 26 convs, Caffe ceil pooling gives conv10 a 14x14 input; model.json and the prototxt agree', () => {
    const convs = layersOf('squeezenet', 'conv');
    expect(convs).toHaveLength(26);
    const c = byName(convs);
    expect(c('conv1')).toMatchObject({ cin: 3, h: 227, w: 227, cout: 64, kh: 3, kw: 3, sh: 2, sw: 2, oh: 113, ow: 113 });
    expect(c('fire2/squeeze1x1')).toMatchObject({ cin: 64, h: 56, cout: 16 });
    expect(c('fire2/expand3x3')).toMatchObject({ cin: 16, h: 56, cout: 64, pad: [1, 1, 1, 1], oh: 56 });
    expect(c('fire9/squeeze1x1')).toMatchObject({ cin: 512, h: 14 });
    expect(c('conv10')).toMatchObject({ cin: 512, h: 14, w: 14, cout: 1000, oh: 14 });
    // The converter run on the shared prototxt (no converted model) gives the same list.
    expect(layersOf('squeezenet', 'conv', NOWHERE)).toEqual(convs);
    expect(layersOf('squeezenet', 'linear')).toEqual([]);
  });

  it('GoogLeNet: 57 convs, inception concat channel counts, 1024 -> 1000 classifier', () => {
    const convs = layersOf('googlenet', 'conv');
    expect(convs).toHaveLength(57);
    const c = byName(convs);
    expect(c('conv1/7x7_s2')).toMatchObject({ cin: 3, h: 224, cout: 64, kh: 7, kw: 7, pad: [3, 3, 3, 3], oh: 112 });
    expect(c('inception_3a/1x1')).toMatchObject({ cin: 192, h: 28 });
    expect(c('inception_3b/1x1')).toMatchObject({ cin: 256, h: 28 });
    expect(c('inception_4a/1x1')).toMatchObject({ cin: 480, h: 14 });
    expect(c('inception_5b/1x1')).toMatchObject({ cin: 832, h: 7, cout: 384 });
    expect(layersOf('googlenet', 'linear')).toEqual([{ model: 'googlenet', name: 'loss3/classifier', same: [], linear: { n: 1, inFeatures: 1024, outFeatures: 1000 } }]);
    expect(layersOf('googlenet', 'conv', NOWHERE)).toEqual(convs);
  });

  it('AlexNet, both forms, from engine/models/alexnet.ts: torchvision 224 input, Caffe 227 with groups', () => {
    const tv = byName(layersOf('alexnet', 'conv'));
    expect(tv('features.0')).toMatchObject({ cin: 3, h: 224, cout: 64, kh: 11, sh: 4, pad: [2, 2, 2, 2], oh: 55 });
    expect(tv('features.3')).toMatchObject({ cin: 64, h: 27, cout: 192, oh: 27 });
    expect(tv('features.10')).toMatchObject({ cin: 256, h: 13, cout: 256, oh: 13 });
    const caffe = byName(layersOf('alexnet_caffe', 'conv'));
    expect(caffe('conv1')).toMatchObject({ cin: 3, h: 227, cout: 96, pad: [0, 0, 0, 0], oh: 55 });
    expect(caffe('conv2')).toMatchObject({ cin: 96, h: 27, cout: 256, groups: 2 });
    expect(layersOf('alexnet', 'linear').map((l) => l.linear!.inFeatures)).toEqual([9216, 4096, 4096]);
  });

  it('prefers the converted model.json, and names the missing prototxt when there is neither', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'bench-spec-'));
    try {
      mkdirSync(join(tmp, 'googlenet'));
      writeFileSync(join(tmp, 'googlenet', 'model.json'), JSON.stringify(TINY_CAFFE));
      const got = benchLayers({ sharedDir: NOWHERE, weightsDir: tmp, batch: 2, model: 'googlenet' });
      expect(got.map(id)).toEqual(['googlenet/c1', 'googlenet/c2a', 'googlenet/c2b', 'googlenet/fc b1', 'googlenet/fc b2']);
      expect(got[0].conv).toMatchObject({ cin: 3, h: 13, w: 11, cout: 8, oh: 7, ow: 6 });
      expect(got[2].conv).toMatchObject({ cin: 8, h: 3, w: 3, cout: 4 }); // after the ceil-mode pool
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    expect(() => benchSpec('googlenet', { sharedDir: NOWHERE, weightsDir: NOWHERE })).toThrow(/no-such-dir\/models\/googlenet\/deploy\.prototxt is missing/);
  });
});

describe('layer tables', () => {
  const all = benchLayers({ ...dirs, batch: 8 });

  it('lists distinct shapes only, naming the layers that share one', () => {
    const goog = all.filter((l) => l.model === 'googlenet' && l.conv);
    expect(new Set(goog.map((l) => JSON.stringify(l.conv))).size).toBe(goog.length);
    expect(goog.reduce((s, l) => s + 1 + l.same.length, 0)).toBe(57);
    const sq = all.filter((l) => l.model === 'squeezenet');
    expect(sq.find((l) => l.name === 'fire2/expand3x3')!.same).toContain('fire3/expand3x3');
  });

  it('has both AlexNet forms (Caffe with groups), and every FC layer at batch 1 and 8', () => {
    expect(all.filter((l) => l.model === 'alexnet' && l.conv).map((l) => l.conv!.cout)).toEqual([64, 192, 384, 256, 256]);
    const caffe = all.filter((l) => l.model === 'alexnet_caffe' && l.conv);
    expect(caffe.map((l) => l.conv!.groups)).toEqual([1, 2, 1, 2, 2]);
    expect(caffe[0].conv).toMatchObject({ h: 227, oh: 55 });
    const fc = ['alexnet/classifier.1', 'alexnet/classifier.4', 'alexnet/classifier.6', 'alexnet_caffe/fc6', 'alexnet_caffe/fc7', 'alexnet_caffe/fc8', 'googlenet/loss3/classifier'];
    expect(all.filter((l) => l.linear).map(id)).toEqual([...fc.map((f) => `${f} b1`), ...fc.map((f) => `${f} b8`)]);
  });

  it('counts FLOPs as 2 x multiply-adds, groups included', () => {
    const a = all.find((l) => id(l) === 'alexnet/features.3')!;
    expect(flops(a)).toBe(2 * 192 * 27 * 27 * 64 * 25);
    const g = all.find((l) => id(l) === 'alexnet_caffe/conv2')!;
    expect(flops(g)).toBe(2 * 256 * 27 * 27 * 48 * 25);
    expect(flops(all.find((l) => id(l) === 'alexnet/classifier.1 b8')!)).toBe(2 * 8 * 9216 * 4096);
  });

  it('selects by --quick, --model and --filter', () => {
    const quick = benchLayers({ ...dirs, batch: 8, quick: true });
    expect(quick.map(id)).toEqual([
      'alexnet/features.10', 'alexnet_caffe/conv4', 'squeezenet/fire2/expand3x3', 'googlenet/inception_3a/3x3', 'alexnet/classifier.4 b1', 'alexnet/classifier.4 b8',
    ]);
    const alex = benchLayers({ ...dirs, batch: 8, model: 'alexnet' });
    expect(new Set(alex.map((l) => l.model))).toEqual(new Set(['alexnet', 'alexnet_caffe']));
    expect(benchLayers({ ...dirs, batch: 4, filter: /fc8|classifier\.6/ }).map(id)).toEqual(['alexnet/classifier.6 b1', 'alexnet_caffe/fc8 b1', 'alexnet/classifier.6 b4', 'alexnet_caffe/fc8 b4']);
  });
});

describe('harness pieces', () => {
  it('NCHW <-> NHWC round-trips and moves element (n, c, h, w) to (n, h, w, c)', () => {
    const s = [2, 3, 4, 5];
    const a = randomArray(120, 3);
    const t = nchwToNhwc(a, s);
    expect(t[((1 * 4 + 2) * 5 + 3) * 3 + 1]).toBe(a[((1 * 3 + 1) * 4 + 2) * 5 + 3]);
    expect(Array.from(nhwcToNchw(t, s))).toEqual(Array.from(a));
  });

  it('OIHW -> HWIO moves w[o][i][y][x] to [y][x][i][o]', () => {
    const c = { cin: 4, cout: 6, kh: 3, kw: 2, groups: 2 } as ConvShape;
    const a = randomArray(6 * 2 * 3 * 2, 4);
    const t = oihwToHwio(a, c);
    expect(t[((2 * 2 + 1) * 2 + 1) * 6 + 5]).toBe(a[((5 * 2 + 1) * 3 + 2) * 2 + 1]);
  });

  it('times warm-up + repeats x iters runs and reports the median', async () => {
    let runs = 0;
    let syncs = 0;
    const r = await measure({ run: () => void runs++, sync: async () => void syncs++ }, { warmup: 2, iters: 3, repeats: 5 });
    expect(runs).toBe(2 + 15);
    expect(syncs).toBe(1 + 5);
    expect(r.samples).toHaveLength(5);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('parses the CLI and rejects bad options', () => {
    const a = parseArgs(['--', '--quick', '--iters', '4', '--filter', 'conv2', '--model', 'googlenet', '--batch', '16']);
    expect(a).toMatchObject({ quick: true, iters: 4, model: 'googlenet', batch: 16 });
    expect(a.filter!.test('alexnet/CONV2')).toBe(true);
    expect(() => parseArgs(['--iters', '0'])).toThrow(/--iters needs a positive integer, got 0/);
    expect(() => parseArgs(['--model', 'vgg'])).toThrow(/--model must be alexnet, squeezenet, googlenet or tinyvgg, got vgg/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown option --fast/);
  });
});

// Stride 2, groups 2, asymmetric padding, N = 2: every case the TF.js translation must get right.
const CONV: BenchLayer = (() => {
  const c: ConvShape = { n: 2, cin: 4, h: 9, w: 7, cout: 6, kh: 3, kw: 3, sh: 2, sw: 2, pad: [1, 0, 2, 1], groups: 2, oh: 0, ow: 0 };
  [c.oh, c.ow] = convRef.outSize({ ...c, pad: c.pad });
  return { model: 'alexnet_caffe', name: 'tiny', same: [], conv: c };
})();
const FC: BenchLayer = { model: 'alexnet', name: 'tinyfc', same: [], linear: { n: 3, inFeatures: 37, outFeatures: 11 } };

function reference(l: BenchLayer, dir: 'forward' | 'backward'): Float64Array {
  const d = layerData(l);
  if (l.conv) {
    const g = { ...l.conv, pad: l.conv.pad };
    return dir === 'forward' ? convRef.conv2dForward(d.x, d.w, d.b, g) : convRef.conv2dBackwardInput(d.dy, d.w, g);
  }
  const f = l.linear!;
  return dir === 'forward' ? linRef.linearForward(d.x, d.w, d.b, f.n, f.inFeatures, f.outFeatures) : linRef.linearBackwardInput(d.dy, d.w, f.n, f.inFeatures, f.outFeatures);
}

describe('the timed layers compute the right thing', () => {
  let tf: TfjsHandle;
  let rt: Runtime;
  const forced: Runtime[] = [];
  beforeAll(async () => {
    await installNavigatorGpu();
    tf = await startTfjs();
    rt = await Runtime.create();
    return () => {
      for (const r of [rt, ...forced]) r.destroy();
      tf.tf.disposeVariables();
    };
  });

  const cases = [CONV, FC].flatMap((l) => (['forward', 'backward'] as const).map((dir) => [id(l), dir, l] as const));

  it.each(cases)('TF.js %s %s matches the float64 reference', async (_name, dir, l) => {
    const r = tfLayer(tf, l, dir, layerData(l));
    try {
      r.run();
      await r.sync();
      const shape = dir === 'forward' ? yShape(l) : xShape(l);
      expectClose(await r.output(), reference(l, dir), dir === 'forward' ? FORWARD_TOL : GRAD_TOL, shape, `tfjs ${dir}`);
    } finally {
      r.dispose();
    }
  });

  it.each(cases)('every engine variant of %s %s matches the reference (so TF.js and ours agree)', async (_name, dir, l) => {
    const family = l.conv ? 'conv2d' : 'linear';
    for (const v of variantsFor(rt, family)) {
      const vrt = await Runtime.create({ variants: { [family]: v } });
      forced.push(vrt);
      const r = ourLayer(vrt, l, dir, layerData(l));
      try {
        r.run();
        const shape = dir === 'forward' ? yShape(l) : xShape(l);
        expectClose(await r.output(), reference(l, dir), dir === 'forward' ? FORWARD_TOL : GRAD_TOL, shape, `ours ${v} ${dir}`);
      } finally {
        r.dispose();
      }
    }
  });

  it('finds the adapter default variant of each family, and both engines share one adapter', async () => {
    const d = await defaultVariants(rt);
    expect(variantsFor(rt, 'conv2d')).toContain(d.conv2d);
    expect(variantsFor(rt, 'linear')).toContain(d.linear);
    expect(Object.prototype.hasOwnProperty.call(rt, 'variant')).toBe(false);
    expect(rt.describe().toLowerCase()).toContain(tf.adapter.split(' / ')[0].toLowerCase());
  });
});

// A small Caffe-style network with every translation the TF.js network builder makes: fused
// conv+ReLU, groups, LRN, ceil-mode max pooling with an overhang, padded average pooling that
// counts the padding, a concat, an NCHW flatten into a linear layer, softmax.
const conv = (name: string, input: string, cin: number, cout: number, k: number, s: number, p: number, groups = 1): LayerSpec =>
  ({ type: 'conv', name, inputs: [input], inChannels: cin, outChannels: cout, kernel: [k, k], stride: [s, s], pad: [p, p, p, p], groups, bias: true });
const TINY_CAFFE: ModelSpec = {
  format: 'cnnvis-model', version: 1, name: 'tiny_caffe', source: 'bench_harness.test.ts',
  input: { name: 'data', channels: 3, height: 13, width: 11, channelOrder: 'bgr', scale: 1, mean: [104, 117, 123], std: [1, 1, 1] },
  layers: [
    conv('c1', 'data', 3, 8, 3, 2, 1), { type: 'relu', name: 'r1', inputs: ['c1'] },
    { type: 'lrn', name: 'n1', inputs: ['r1'], size: 5, alpha: 0.5, beta: 0.75, k: 2 },
    { type: 'maxpool', name: 'p1', inputs: ['n1'], kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: true },
    conv('c2a', 'p1', 8, 6, 1, 1, 0, 2), { type: 'relu', name: 'r2a', inputs: ['c2a'] },
    conv('c2b', 'p1', 8, 4, 3, 1, 1), { type: 'relu', name: 'r2b', inputs: ['c2b'] },
    { type: 'concat', name: 'cat', inputs: ['r2a', 'r2b'] },
    { type: 'avgpool', name: 'p2', inputs: ['cat'], kernel: [3, 3], stride: [1, 1], pad: [1, 1, 1, 1], ceil: false, countIncludePad: true },
    { type: 'linear', name: 'fc', inputs: ['p2'], inFeatures: 90, outFeatures: 5, bias: true },
    { type: 'softmax', name: 'prob', inputs: ['fc'] },
  ],
  logits: 'fc',
  labels: ['a', 'b', 'c', 'd', 'e'],
};

function tinyWeights(spec: ModelSpec): Uint8Array {
  let seed = 40;
  return writeSafetensors(spec.layers.flatMap((l) => {
    if (l.type !== 'conv' && l.type !== 'linear') return [];
    const shape = l.type === 'conv' ? [l.outChannels, l.inChannels / l.groups, ...l.kernel] : [l.outFeatures, l.inFeatures];
    const n = shape.reduce((a, b) => a * b, 1);
    const out = shape[0];
    return [
      { name: `${l.name}.weight`, shape, data: randomArray(n, seed++, 2 / Math.sqrt(n / out)) },
      { name: `${l.name}.bias`, shape: [out], data: randomArray(out, seed++, 0.2) },
    ];
  }));
}

describe('the --networks TF.js builder runs the same network as our engine', () => {
  let tf: TfjsHandle;
  let rt: Runtime;
  beforeAll(async () => {
    await installNavigatorGpu();
    tf = await startTfjs();
    rt = await Runtime.create();
    return () => rt.destroy();
  });

  async function compare(spec: ModelSpec, weights: Uint8Array, n: number, scale: number, backward: boolean) {
    const { channels: c, height: h, width: w } = spec.input;
    const shape = [n, c, h, w];
    const data = randomArray(n * c * h * w, 23, scale);
    const model = await loadModel(rt, { spec, weights });
    const net = buildTfNetwork(tf.tf, spec, weights, `${spec.name}.safetensors`);
    const input = Tensor.fromData(rt, data, shape, 'net input');
    const x = tf.tf.tensor4d(nchwToNhwc(data, shape), [n, h, w, c]);
    try {
      model.forward(input);
      const ourLogits = await model.readActivation(spec.logits);
      const tfLogits = tf.tf.tidy(() => net.logits(x));
      expectClose(await tfLogits.data(), ourLogits, FORWARD_TOL, [n, spec.labels.length], `${spec.name} TF.js logits vs ours`);
      tfLogits.dispose();
      if (!backward) return;
      const classes = Array.from({ length: n }, (_, i) => (2 * i + 1) % spec.labels.length);
      const g = model.backward({ kind: 'class', index: classes });
      const ourGrad = await g.read();
      g.dispose();
      const onehot = tf.tf.oneHot(tf.tf.tensor1d(classes, 'int32'), spec.labels.length);
      const grad = tf.tf.grad((xi) => tf.tf.sum(tf.tf.mul(tf.tf.reshape(net.logits(xi as typeof x), [n, spec.labels.length]), onehot)));
      const tfGrad = tf.tf.tidy(() => grad(x));
      expectClose(nhwcToNchw((await tfGrad.data()) as Float32Array, shape), ourGrad, GRAD_TOL, shape, `${spec.name} TF.js input gradient vs ours`);
      tfGrad.dispose();
      onehot.dispose();
    } finally {
      input.dispose();
      x.dispose();
      net.dispose();
      model.dispose();
    }
  }

  it('a small Caffe-style net (groups, LRN, ceil pooling, concat, flatten), forward and input gradient, N = 2', async () => {
    await compare(TINY_CAFFE, tinyWeights(TINY_CAFFE), 2, 1, true);
  });

  it('TinyVGG with its real weights, forward', async () => {
    const dir = join(__dirname, '..', 'weights', 'tinyvgg');
    const spec = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelSpec;
    await compare(spec, readFileSync(join(dir, 'weights.safetensors')), 1, 1, false);
  });

  it.each(PASSES)('times our %s replayed (rt.capture) after checking it against the ordinary pass bit for bit', async (pass) => {
    const model = await loadModel(rt, { spec: TINY_CAFFE, weights: tinyWeights(TINY_CAFFE) });
    const batch = networkBatch(model, null, 2);
    try {
      const o = { warmup: 1, iters: 2, repeats: 3 };
      const r = await timedReplay(model, batch, pass, o, 1e6, 2);
      expect(r.oursReplayed.error).toBeUndefined();
      expect(r.oursReplayed.samples).toHaveLength(3);
      expect(r.oursReplayed.ms).toBeGreaterThan(0);
      expect(r.oursReplayed.imagesPerSecond).toBeCloseTo(2000 / r.oursReplayed.ms!, 6);
      expect(r.replayMaxAbsDiff).toBe(0);
      expect(r.replayDispatches).toBeGreaterThan(pass === 'forward' ? 3 : 6);
      expect(r.replayBindGroups).toBe(0);
      const row = { pass, ...r, ratioReplayed: 1.5, ratioTfjsReplayed: null } as NetworkRow;
      expect(replayLine(row)).toMatch(new RegExp(`ours replayed \\(rt\\.capture\\): [\\d.]+ ms .* img/s; ours/replayed 1\\.50x; tf/replayed -; ${r.replayDispatches} dispatches, 0 bind groups created; ${pass === 'forward' ? 'logits' : 'input gradient'} max \\|replayed - ordinary\\| 0 \\(bit-identical\\)`));
    } finally {
      batch.dispose();
      model.dispose();
    }
    // A pass that cannot run gives the row an error, not a throw.
    const gone = await loadModel(rt, { spec: TINY_CAFFE, weights: tinyWeights(TINY_CAFFE) });
    const b2 = networkBatch(gone, null, 1);
    b2.input.dispose();
    const failed = await timedReplay(gone, b2, pass, { warmup: 0, iters: 1, repeats: 1 }, 1, 1);
    expect(failed.oursReplayed.ms).toBeNull();
    expect(failed.oursReplayed.error).toMatch(/^replay check failed: /);
    expect(failed.replayMaxAbsDiff).toBeNull();
    expect(replayLine({ pass, ...failed } as NetworkRow)).toMatch(/ours replayed: replay check failed: /);
    gone.dispose();
  });

  it('counts a network\'s FLOPs from its layers', () => {
    const c1 = 2 * 8 * 7 * 6 * 3 * 9;
    const c2a = 2 * 6 * 3 * 3 * 4;
    const c2b = 2 * 4 * 3 * 3 * 8 * 9;
    expect(networkFlops(TINY_CAFFE)).toBe(c1 + c2a + c2b + 2 * 90 * 5);
  });
});
