import { describe, expect, it, vi } from 'vitest';
import { loadModel } from '../engine/models/load';
import type { Model } from '../engine/models/graph';
import type { BackwardSeed } from '../engine/models/backward';
import { writeSafetensors } from '../engine/models/safetensors';
import type { ConvLayer, LayerSpec, LinearLayer, ModelSpec, PoolLayer } from '../engine/models/spec';
import { expectedTensors } from '../engine/models/load';
import { Runtime } from '../engine/runtime';
import { Tensor } from '../engine/tensor';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { numericGrad, pick } from './helpers/fd';
import { gpu, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { networkBackward, networkForward, type RefWeights } from './reference/network';
import type { ReluRule } from './reference/relu';

// ---- small specs -------------------------------------------------------------------------------

type P4 = [number, number, number, number];
const conv = (name: string, input: string, inC: number, outC: number, k: number, stride = 1, pad: P4 = [0, 0, 0, 0], groups = 1): ConvLayer => ({
  type: 'conv', name, inputs: [input], inChannels: inC, outChannels: outC, kernel: [k, k], stride: [stride, stride], pad, groups, bias: true,
});
const relu = (name: string, input: string): LayerSpec => ({ type: 'relu', name, inputs: [input] });
const pool = (type: 'maxpool' | 'avgpool', name: string, input: string, k: number, stride: number, pad: P4, ceil: boolean, countIncludePad?: boolean): PoolLayer => ({
  type, name, inputs: [input], kernel: [k, k], stride: [stride, stride], pad, ceil, ...(countIncludePad === undefined ? {} : { countIncludePad }),
});
const linear = (name: string, input: string, inF: number, outF: number): LinearLayer => ({ type: 'linear', name, inputs: [input], inFeatures: inF, outFeatures: outF, bias: true });

function spec(name: string, size: [number, number], layers: LayerSpec[], logits: string): ModelSpec {
  return {
    format: 'cnnvis-model', version: 1, name, source: 'test', logits, labels: [],
    input: { name: 'data', channels: 3, height: size[0], width: size[1], channelOrder: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
    layers,
  };
}

/** GoogLeNet-like: conv+relu, ceil max pool, LRN, a 3-branch inception, avg pool, dropout, flatten, linear+relu, linear, softmax. */
const INCEPTION = spec('mini_inception', [23, 19], [
  conv('conv1', 'data', 3, 8, 3, 2, [1, 0, 1, 1]), relu('relu1', 'conv1'),
  pool('maxpool', 'pool1', 'relu1', 3, 2, [0, 0, 0, 0], true),
  { type: 'lrn', name: 'norm1', inputs: ['pool1'], size: 5, alpha: 0.5, beta: 0.75, k: 2 },
  conv('a/1x1', 'norm1', 8, 4, 1), relu('a/relu_1x1', 'a/1x1'),
  conv('a/3x3_reduce', 'norm1', 8, 3, 1), relu('a/relu_3x3_reduce', 'a/3x3_reduce'),
  conv('a/3x3', 'a/relu_3x3_reduce', 3, 5, 3, 1, [1, 1, 1, 1]), relu('a/relu_3x3', 'a/3x3'),
  pool('maxpool', 'a/pool', 'norm1', 3, 1, [1, 1, 1, 1], false),
  conv('a/pool_proj', 'a/pool', 8, 2, 1), relu('a/relu_pool_proj', 'a/pool_proj'),
  { type: 'concat', name: 'a/output', inputs: ['a/relu_1x1', 'a/relu_3x3', 'a/relu_pool_proj'] },
  pool('avgpool', 'pool2', 'a/output', 3, 2, [1, 1, 1, 1], true, false),
  { type: 'dropout', name: 'drop', inputs: ['pool2'], ratio: 0.4 },
  { type: 'flatten', name: 'flat', inputs: ['drop'] },
  linear('fc1', 'flat', 99, 7), relu('relu_fc1', 'fc1'),
  linear('fc2', 'relu_fc1', 7, 5),
  { type: 'softmax', name: 'prob', inputs: ['fc2'] },
], 'fc2');

/** SqueezeNet-like: a fire module, grouped asymmetric-pad conv read by two layers (unfused ReLU), adaptive and global pools, a concat needing one copy. */
const FIRE = spec('mini_fire', [17, 17], [
  conv('conv1', 'data', 3, 6, 3, 2), relu('relu1', 'conv1'),
  conv('fire/squeeze', 'relu1', 6, 4, 1), relu('fire/relu_squeeze', 'fire/squeeze'),
  conv('fire/e1', 'fire/relu_squeeze', 4, 4, 1), relu('fire/relu_e1', 'fire/e1'),
  conv('fire/e3', 'fire/relu_squeeze', 4, 4, 3, 1, [1, 1, 1, 1]), relu('fire/relu_e3', 'fire/e3'),
  { type: 'concat', name: 'fire/concat', inputs: ['fire/relu_e1', 'fire/relu_e3'] },
  conv('conv_g', 'fire/concat', 8, 6, 3, 1, [0, 1, 1, 0], 2), relu('relu_g', 'conv_g'),
  { type: 'adaptiveavgpool', name: 'pool_a', inputs: ['conv_g'], output: [3, 2] },
  { type: 'globalavgpool', name: 'gap', inputs: ['relu_g'] },
  { type: 'flatten', name: 'flat_a', inputs: ['pool_a'] },
  { type: 'concat', name: 'feat', inputs: ['gap', 'flat_a'] },
  linear('fc', 'feat', 42, 4),
], 'fc');

interface Case {
  spec: ModelSpec;
  n: number;
  model: Model;
  weights: RefWeights;
  input: Float32Array;
}

function randomWeights(s: ModelSpec, seed: number) {
  return s.layers.flatMap(expectedTensors).map((t, i) => {
    const fanIn = t.shape.length === 1 ? 4 : t.shape.slice(1).reduce((a, b) => a * b, 1);
    return { ...t, data: randomArray(t.shape.reduce((a, b) => a * b, 1), seed + i, 1.5 / Math.sqrt(fanIn)) };
  });
}

async function build(rt: Runtime, s: ModelSpec, n: number, seed: number): Promise<Case> {
  const tensors = randomWeights(s, seed);
  const model = await loadModel(rt, { spec: s, weights: writeSafetensors(tensors) });
  const { channels, height, width } = s.input;
  return { spec: s, n, model, weights: new Map(tensors.map((t) => [t.name, t.data])), input: randomArray(n * channels * height * width, seed + 100) };
}

const shapeOf = (c: Case) => [c.n, c.spec.input.channels, c.spec.input.height, c.spec.input.width];

/** The reference layer whose output the GPU shows under `name` (a fused conv shows its ReLU's). */
function refName(model: Model, name: string): string {
  return model.layers.find((l) => l.name === name)!.fusedRelu ?? name;
}

/** The seed as a float64 gradient of the reference layer's shape. */
function refSeed(c: Case, seed: BackwardSeed, shape: readonly number[]): Float64Array {
  const [n, ch, h, w] = shape;
  const g = new Float64Array(n * ch * h * w);
  for (let s = 0; s < n; s++) {
    if (seed.kind === 'class') g[s * ch + (typeof seed.index === 'number' ? seed.index : seed.index[s])] = 1;
    if (seed.kind === 'neuron') g[((s * ch + seed.channel) * h + seed.y) * w + seed.x] = 1;
    if (seed.kind === 'channel') g.fill(1, (s * ch + seed.channel) * h * w, (s * ch + seed.channel + 1) * h * w);
  }
  if (seed.kind === 'gradient') g.set(seed.gradient as Float32Array);
  return g;
}

// ---- forward -------------------------------------------------------------------------------------

describe('graph forward', () => {
  it.each([{ s: INCEPTION, n: 2 }, { s: FIRE, n: 1 }, { s: FIRE, n: 3 }].map((c) => ({ ...c, name: c.s.name })))('every activation of $name (N = $n) by name matches the float64 network', async ({ s, n }) => {
    const rt = await gpu();
    const c = await build(rt, s, n, 1);
    try {
      const x = upload(rt, c.input, shapeOf(c));
      const out = c.model.forward(x);
      const ref = networkForward(s, c.weights, c.input, n);
      for (const l of c.model.layers) {
        const want = ref.acts.get(refName(c.model, l.name))!;
        expectClose(await c.model.readActivation(l.name), want.data, FORWARD_TOL, want.shape, `${s.name} activation ${l.name}`);
      }
      expect(out).toBe(c.model.activation(s.layers[s.layers.length - 1].name));
    } finally {
      c.model.dispose();
    }
  });

  it('reports fused ReLUs and per-sample shapes in layers', async () => {
    const rt = await gpu();
    const c = await build(rt, INCEPTION, 1, 2);
    const byName = new Map(c.model.layers.map((l) => [l.name, l]));
    expect(byName.get('conv1')).toMatchObject({ type: 'conv', shape: [8, 11, 10], fusedRelu: 'relu1' });
    expect(byName.get('a/output')!.shape).toEqual([11, 5, 5]);
    expect(byName.get('fc2')!.fusedRelu).toBeUndefined(); // the logits are never fused
    c.model.dispose();
  });
});

// ---- backward ------------------------------------------------------------------------------------

const RULES: ReluRule[] = ['vanilla', 'guided', 'deconvnet'];
const SEEDS: [ModelSpec, number, BackwardSeed][] = [
  [INCEPTION, 2, { kind: 'class', index: [1, 3] }],
  [INCEPTION, 2, { kind: 'neuron', layer: 'a/3x3', channel: 2, y: 3, x: 1 }],
  [INCEPTION, 2, { kind: 'channel', layer: 'norm1', channel: 5 }],
  [INCEPTION, 2, { kind: 'gradient', layer: 'a/output', gradient: randomArray(2 * 11 * 5 * 5, 77) }],
  [FIRE, 1, { kind: 'class', index: 2 }],
  [FIRE, 1, { kind: 'neuron', layer: 'conv_g', channel: 4, y: 2, x: 5 }],
  [FIRE, 1, { kind: 'channel', layer: 'fire/concat', channel: 6 }],
  [FIRE, 1, { kind: 'gradient', layer: 'feat', gradient: randomArray(42, 78) }],
];

describe('graph backward', () => {
  it.each(SEEDS.flatMap(([s, n, seed]) => RULES.map((rule) => [s.name, seed.kind, rule, s, n, seed] as const)))(
    '%s %s seed, %s rule matches the float64 reference backward',
    async (_name, _kind, rule, s, n, seed) => {
      const rt = await gpu();
      const c = await build(rt, s, n, 3);
      try {
        c.model.forward(upload(rt, c.input, shapeOf(c)));
        const dx = track(c.model.backward(seed, { rule }));
        expect(dx.shape).toEqual(shapeOf(c));
        const ref = networkForward(s, c.weights, c.input, n);
        const layer = refName(c.model, seed.kind === 'class' ? s.logits : seed.layer);
        const want = networkBackward(s, c.weights, ref, layer, refSeed(c, seed, ref.acts.get(layer)!.shape), rule);
        expect(want.some((v) => v !== 0)).toBe(true);
        expectClose(await dx.read(), want, GRAD_TOL, dx.shape, `${s.name} ${seed.kind} ${rule} dx`);
      } finally {
        c.model.dispose();
      }
    },
  );

  it.each(SEEDS.filter((_, i) => i % 2 === 0).map(([s, n, seed]) => ({ s, n, seed, name: s.name, kind: seed.kind })))('the vanilla reference backward matches finite differences ($name, $kind seed)', ({ s, n, seed }) => {
    const tensors = randomWeights(s, 3);
    const weights: RefWeights = new Map(tensors.map((t) => [t.name, t.data]));
    const input = Float64Array.from(randomArray(n * 3 * s.input.height * s.input.width, 103));
    // The seed layer as the GPU names it: a fused conv's activation is its ReLU's output.
    const fused = s.layers.find((l) => l.type === 'relu' && seed.kind !== 'class' && l.inputs[0] === seed.layer && s.layers.filter((m) => m.inputs.includes(seed.layer)).length === 1);
    const layer = seed.kind === 'class' ? s.logits : (fused?.name ?? seed.layer);
    const fwd = networkForward(s, weights, input, n);
    const g = refSeed({ spec: s, n } as Case, seed, fwd.acts.get(layer)!.shape);
    const loss = (x: Float64Array) => {
      const y = networkForward(s, weights, x, n).acts.get(layer)!.data;
      return y.reduce((a, v, i) => a + v * g[i], 0);
    };
    const [idx, num] = numericGrad(loss, input, 48);
    expectClose(pick(networkBackward(s, weights, fwd, layer, g, 'vanilla'), idx), num, FD_TOL);
  });

  it('rejects bad seeds and a backward without a kept forward', async () => {
    const rt = await gpu();
    const c = await build(rt, FIRE, 1, 4);
    try {
      expect(() => c.model.backward({ kind: 'class', index: 0 })).toThrow(/backward\(\) needs a forward\(\) with keep: true/);
      const x = upload(rt, c.input, shapeOf(c));
      c.model.forward(x);
      expect(() => c.model.backward({ kind: 'class', index: 4 })).toThrow(/class seed at 'fc': channel 4 is outside \[0, 4\)/);
      expect(() => c.model.backward({ kind: 'neuron', layer: 'conv1', channel: 0, y: 8, x: 0 })).toThrow(/position \(y 8, x 0\) is outside 8x8/);
      expect(() => c.model.backward({ kind: 'gradient', layer: 'gap', gradient: new Float32Array(5) })).toThrow(/gradient has 5 values, expected 6 for shape \(1, 6, 1, 1\)/);
      expect(() => c.model.backward({ kind: 'channel', layer: 'nope', channel: 0 })).toThrow(/no layer named 'nope'/);
      c.model.forward(x, { keep: false });
      expect(() => c.model.backward({ kind: 'class', index: 0 })).toThrow(/needs a forward\(\) with keep: true/);
    } finally {
      c.model.dispose();
    }
  });
});

// ---- concat placement ------------------------------------------------------------------------------

describe('concat without copies', () => {
  it.each([
    { s: INCEPTION, concatName: 'a/output', branches: ['a/1x1', 'a/3x3', 'a/pool_proj'], copies: 0 },
    { s: FIRE, concatName: 'fire/concat', branches: ['fire/e1', 'fire/e3'], copies: 1 },
  ])(
    'branches of $concatName write into their channel slices (copy dispatches: $copies)',
    async ({ s, concatName, branches, copies }) => {
      const rt = await gpu();
      const c = await build(rt, s, 2, 5);
      try {
        const labels: string[] = [];
        const spy = vi.spyOn(rt, 'dispatch').mockImplementation(function (this: Runtime, program, resources, wg) {
          labels.push(program.label);
          return Runtime.prototype.dispatch.call(this, program, resources, wg);
        });
        const copySpy = vi.spyOn(rt, 'copy');
        c.model.forward(upload(rt, c.input, shapeOf(c)));
        spy.mockRestore();
        // INCEPTION's concats are all in place; FIRE's 'feat' copies its flattened input once.
        expect(labels.filter((l) => l.startsWith('copy:')).length).toBe(copies);
        expect(copySpy).not.toHaveBeenCalled();
        copySpy.mockRestore();
        const out = c.model.activation(concatName);
        let c0 = 0;
        for (const b of branches) {
          const t = c.model.activation(b);
          expect([t.buffer === out.buffer, t.base]).toEqual([true, out.base + c0 * t.h * t.w]);
          c0 += t.c;
        }
      } finally {
        c.model.dispose();
      }
    },
  );
});

// ---- errors ------------------------------------------------------------------------------------------

describe('load errors', () => {
  const file = 'mini/weights.safetensors';
  const load = async (s: ModelSpec, tensors: { name: string; shape: number[]; data: Float32Array }[]) =>
    loadModel(await gpu(), { spec: s, weights: writeSafetensors(tensors), file });

  it('names the file and tensor for a wrong shape, a missing and an extra tensor', async () => {
    const good = randomWeights(FIRE, 1);
    const bad = good.map((t) => (t.name === 'conv_g.weight' ? { ...t, shape: [6, 8, 3, 3], data: new Float32Array(432) } : t));
    await expect(load(FIRE, bad)).rejects.toThrow(`${file}: tensor 'conv_g.weight' has shape (6, 8, 3, 3), expected (6, 4, 3, 3)`);
    await expect(load(FIRE, good.filter((t) => t.name !== 'fire/e3.bias'))).rejects.toThrow(`${file}: missing tensor 'fire/e3.bias', expected shape (4)`);
    await expect(load(FIRE, [...good, { name: 'fc9.weight', shape: [2], data: new Float32Array(2) }])).rejects.toThrow(`${file}: unexpected tensor 'fc9.weight'`);
  });

  it.each([
    ['an unknown layer type', (l: LayerSpec[]) => [...l, { type: 'gelu', name: 'g', inputs: ['fc'] } as unknown as LayerSpec], /layer 'g' has unknown type 'gelu'/],
    ['a missing input', (l: LayerSpec[]) => [...l, relu('r', 'fc7')], /layer 'r' reads 'fc7', which is neither a layer nor the input/],
    ['a duplicate name', (l: LayerSpec[]) => [...l, relu('gap', 'fc')], /duplicate layer name 'gap'/],
    ['a cycle', (l: LayerSpec[]) => [relu('r1', 'r2'), relu('r2', 'r1'), ...l], /the layers form a cycle: r1 -> r2 -> r1/],
    ['a channel mismatch', (l: LayerSpec[]) => l.map((x) => (x.name === 'conv_g' ? { ...x, inChannels: 9 } : x)), /layer 'conv_g' \(conv\): input 'fire\/concat' has 8 channels, expected inChannels 9/],
  ] as const)('rejects a spec with %s', async (_what, edit, msg) => {
    const s = { ...FIRE, layers: edit(FIRE.layers) };
    await expect(load(s, randomWeights(FIRE, 1))).rejects.toThrow(msg);
  });

  it('rejects an input of the wrong shape', async () => {
    const rt = await gpu();
    const c = await build(rt, FIRE, 1, 1);
    expect(() => c.model.forward(upload(rt, randomArray(3 * 16 * 17, 1), [1, 3, 16, 17]))).toThrow(
      "model 'mini_fire' forward: input has shape (1, 3, 16, 17), expected (N, 3, 17, 17)",
    );
    c.model.dispose();
  });
});

// ---- resources ------------------------------------------------------------------------------------

describe('resources', () => {
  it('returns the pool to its baseline after dispose and stays flat over repeated passes', async () => {
    const rt = await gpu();
    await rt.sync();
    const base = rt.pool.counters.bytesInUse;
    const c = await build(rt, INCEPTION, 2, 6);
    const x = Tensor.fromData(rt, c.input, shapeOf(c), 'x');
    const pass = () => {
      c.model.forward(x);
      c.model.backward({ kind: 'channel', layer: 'norm1', channel: 1 }, { rule: 'guided' }).dispose();
    };
    pass();
    await rt.sync();
    const after1 = rt.pool.counters;
    for (let i = 0; i < 5; i++) pass();
    await rt.sync();
    expect(rt.pool.counters.bytesInUse).toBe(after1.bytesInUse);
    expect(rt.pool.counters.bytesAllocated).toBe(after1.bytesAllocated);
    c.model.dispose();
    x.dispose();
    await rt.sync();
    expect(rt.pool.counters.bytesInUse).toBe(base);
  });

  it('frees intermediates with keep: false, keeping the output and named layers', async () => {
    const rt = await gpu();
    const c = await build(rt, INCEPTION, 2, 7);
    try {
      const x = upload(rt, c.input, shapeOf(c));
      c.model.forward(x);
      await rt.sync();
      const all = rt.pool.counters.bytesInUse;
      const out = c.model.forward(x, { keep: ['norm1'] });
      await rt.sync();
      expect(rt.pool.counters.bytesInUse).toBeLessThan(all);
      expect(() => c.model.activation('a/3x3')).toThrow(/activation 'a\/3x3' was not kept/);
      const ref = networkForward(INCEPTION, c.weights, c.input, 2);
      expectClose(await out.read(), ref.acts.get('prob')!.data, FORWARD_TOL, out.shape, 'prob');
      expectClose(await c.model.readActivation('norm1'), ref.acts.get('norm1')!.data, FORWARD_TOL, undefined, 'norm1');
    } finally {
      c.model.dispose();
    }
  });
});
