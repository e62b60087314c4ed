// The benchmark's correctness pieces (speed is never asserted): layer tables from the real
// prototxts, FLOP counts, layout conversions, the timing loop, the CLI, and that the TF.js and
// engine layers it times compute the same thing (both vs the float64 references).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../scripts/bench/args';
import { layerData, nchwToNhwc, nhwcToNchw, oihwToHwio, xShape, yShape } from '../scripts/bench/data';
import { installNavigatorGpu } from '../scripts/bench/gpu';
import { benchLayers, flops, id, type BenchLayer, type ConvShape } from '../scripts/bench/layers';
import { defaultVariants, ourLayer, VARIANTS } from '../scripts/bench/ours';
import { inferShapes, parsePrototxt } from '../scripts/bench/prototxt';
import { startTfjs, tfLayer, type TfjsHandle } from '../scripts/bench/tfjs';
import { measure, median } from '../scripts/bench/timing';
import { loadModel } from '../engine/models/load';
import { writeSafetensors } from '../engine/models/safetensors';
import type { LayerSpec, ModelSpec } from '../engine/models/spec';
import { Runtime } from '../engine/runtime';
import { Tensor } from '../engine/tensor';
import { networkFlops } from '../scripts/bench/network_bench';
import { buildTfNetwork } from '../scripts/bench/tf_network';
import { expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { randomArray } from './helpers/random';
import * as convRef from './reference/conv2d';
import * as linRef from './reference/linear';

const SHARED = join(__dirname, '..', '..', 'shared');
const proto = (m: string) => readFileSync(join(SHARED, 'models', m, 'deploy.prototxt'), 'utf8');

describe('prototxt shape inference', () => {
  it('parses nested blocks, repeated fields, strings and comments', () => {
    const b = parsePrototxt('name: "n" # comment\nlayer { top: "a" top: "b" p { dim: 1 dim: 2 } }\nlayer { name: "x" }');
    expect(b.get('name')).toEqual(['n']);
    const layers = b.get('layer')!;
    expect(layers).toHaveLength(2);
    const first = layers[0] as Map<string, unknown[]>;
    expect(first.get('top')).toEqual(['a', 'b']);
    expect((first.get('p')![0] as Map<string, unknown[]>).get('dim')).toEqual(['1', '2']);
  });

  it('SqueezeNet 1.1: 26 convs, Caffe ceil pooling gives conv10 a 14x14 input', () => {
    const net = inferShapes(proto('squeezenet1_1'));
    expect(net.input).toEqual([3, 227, 227]);
    expect(net.convs).toHaveLength(26);
    const c = (name: string) => net.convs.find((x) => x.name === name)!;
    expect(c('conv1')).toMatchObject({ cin: 3, h: 227, cout: 64, kernel: [3, 3], stride: [2, 2], oh: 113, ow: 113 });
    expect(c('fire2/squeeze1x1')).toMatchObject({ cin: 64, h: 56, cout: 16 });
    expect(c('fire2/expand3x3')).toMatchObject({ cin: 16, h: 56, cout: 64, pad: [1, 1], oh: 56 });
    expect(c('fire9/squeeze1x1')).toMatchObject({ cin: 512, h: 14 });
    expect(c('conv10')).toMatchObject({ cin: 512, h: 14, w: 14, cout: 1000, oh: 14 });
  });

  it('GoogLeNet: 57 convs, inception concat channel counts, 1024 -> 1000 classifier', () => {
    const net = inferShapes(proto('googlenet'));
    expect(net.convs).toHaveLength(57);
    const c = (name: string) => net.convs.find((x) => x.name === name)!;
    expect(c('conv1/7x7_s2')).toMatchObject({ cin: 3, h: 224, cout: 64, kernel: [7, 7], pad: [3, 3], oh: 112 });
    expect(c('inception_3a/1x1')).toMatchObject({ cin: 192, h: 28 });
    expect(c('inception_3b/1x1')).toMatchObject({ cin: 256, h: 28 });
    expect(c('inception_4a/1x1')).toMatchObject({ cin: 480, h: 14 });
    expect(c('inception_5b/1x1')).toMatchObject({ cin: 832, h: 7, cout: 384 });
    expect(net.linears).toEqual([{ name: 'loss3/classifier', inFeatures: 1024, outFeatures: 1000 }]);
  });
});

describe('layer tables', () => {
  const all = benchLayers({ sharedDir: SHARED, batch: 8 });

  it('lists distinct shapes only, naming the layers that share one', () => {
    const goog = all.filter((l) => l.model === 'googlenet');
    expect(new Set(goog.map((l) => JSON.stringify(l.conv))).size).toBe(goog.length);
    expect(goog.reduce((s, l) => s + 1 + l.same.length, 0)).toBe(57);
    const sq = all.filter((l) => l.model === 'squeezenet');
    expect(sq.find((l) => l.name === 'fire2/expand3x3')!.same).toContain('fire3/expand3x3');
  });

  it('has both AlexNet forms (Caffe with groups) and FC at batch 1 and 8', () => {
    expect(all.filter((l) => l.model === 'alexnet' && l.conv).map((l) => l.conv!.cout)).toEqual([64, 192, 384, 256, 256]);
    const caffe = all.filter((l) => l.model === 'alexnet_caffe');
    expect(caffe.map((l) => l.conv!.groups)).toEqual([1, 2, 1, 2, 2]);
    expect(caffe[0].conv).toMatchObject({ h: 227, oh: 55 });
    expect(all.filter((l) => l.linear).map(id)).toEqual(['alexnet/fc6 b1', 'alexnet/fc7 b1', 'alexnet/fc8 b1', 'alexnet/fc6 b8', 'alexnet/fc7 b8', 'alexnet/fc8 b8']);
  });

  it('counts FLOPs as 2 x multiply-adds, groups included', () => {
    const a = all.find((l) => id(l) === 'alexnet/conv2')!;
    expect(flops(a)).toBe(2 * 192 * 27 * 27 * 64 * 25);
    const g = all.find((l) => id(l) === 'alexnet_caffe/conv2')!;
    expect(flops(g)).toBe(2 * 256 * 27 * 27 * 48 * 25);
    expect(flops(all.find((l) => id(l) === 'alexnet/fc6 b8')!)).toBe(2 * 8 * 9216 * 4096);
  });

  it('selects by --quick, --model and --filter', () => {
    const quick = benchLayers({ sharedDir: SHARED, batch: 8, quick: true });
    expect(quick.map(id)).toContain('alexnet_caffe/conv4');
    expect(quick.length).toBeLessThan(10);
    expect(benchLayers({ sharedDir: SHARED, batch: 8, model: 'alexnet' }).every((l) => l.model.startsWith('alexnet'))).toBe(true);
    expect(benchLayers({ sharedDir: SHARED, batch: 4, filter: /fc8/ }).map(id)).toEqual(['alexnet/fc8 b1', 'alexnet/fc8 b4']);
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
    expect(() => parseArgs(['--model', 'vgg'])).toThrow(/--model must be alexnet, squeezenet or googlenet, got vgg/);
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
    for (const v of VARIANTS[family]) {
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
    expect(VARIANTS.conv2d).toContain(d.conv2d);
    expect(VARIANTS.linear).toContain(d.linear);
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

  it('counts a network\'s FLOPs from its layers', () => {
    const c1 = 2 * 8 * 7 * 6 * 3 * 9;
    const c2a = 2 * 6 * 3 * 3 * 4;
    const c2b = 2 * 4 * 3 * 3 * 8 * 9;
    expect(networkFlops(TINY_CAFFE)).toBe(c1 + c2a + c2b + 2 * 90 * 5);
  });
});
