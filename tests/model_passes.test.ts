// The model API for image optimization: any input size (plans per size), passes that stop at a
// layer (until), gradients at named layers into caller tensors, pre-ReLU values and seeds.
// Everything is checked against the float64 network reference (tests/reference/network.ts).

import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../engine/models/load';
import type { BackwardSeed } from '../engine/models/backward';
import { Tensor } from '../engine/tensor';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { numericGrad, pick } from './helpers/fd';
import { gpu, track, upload } from './helpers/gpu';
import { atSize, build, dispatchLabels, FIRE, INCEPTION, randomWeights, refName, refSeed, truncated, type Case } from './helpers/model_specs';
import { randomArray } from './helpers/random';
import { networkForward, networkGradients } from './reference/network';
import type { ReluRule } from './reference/relu';

const input = (n: number, h: number, w: number, seed: number) => randomArray(n * 3 * h * w, seed);

/** Reference dScore/dA at every layer for `seed` on a (n, 3, h, w) input. */
function refGradients(c: Case, x: Float32Array, h: number, w: number, seed: BackwardSeed, rule: ReluRule, seedLayer?: string) {
  const s = atSize(c.spec, h, w);
  const fwd = networkForward(s, c.weights, x, c.n);
  const layer = seedLayer ?? refName(c.model, seed.kind === 'class' ? c.spec.logits : seed.layer);
  return { fwd, grads: networkGradients(s, c.weights, fwd, layer, refSeed(c, seed, fwd.acts.get(layer)!.shape), rule) };
}

describe('any input size', () => {
  it('runs FIRE at 21x19 and 17x17 (cached plans) and matches the reference forward and backward', async () => {
    const rt = await gpu();
    const c = await build(rt, FIRE, 2, 11);
    try {
      for (const [h, w] of [[21, 19], [17, 17], [21, 19]]) {
        const xs = input(2, h, w, h * 100 + w);
        c.model.forward(upload(rt, xs, [2, 3, h, w]));
        const ref = networkForward(atSize(FIRE, h, w), c.weights, xs, 2);
        const shapes = c.model.layerShapes(h, w);
        for (const name of ['conv1', 'fire/concat', 'conv_g', 'fc']) {
          const want = ref.acts.get(refName(c.model, name))!;
          expect(shapes.get(name)).toEqual(want.shape.slice(1));
          expectClose(await c.model.readActivation(name), want.data, FORWARD_TOL, want.shape, `${h}x${w} ${name}`);
        }
        const seed: BackwardSeed = { kind: 'class', index: [1, 3] };
        const dx = track(c.model.backward(seed, { rule: 'guided' }));
        const want = refGradients(c, xs, h, w, seed, 'guided').grads.get('data')!;
        expectClose(await dx.read(), want, GRAD_TOL, dx.shape, `${h}x${w} dx`);
      }
      expect(c.model.layers.find((l) => l.name === 'conv1')!.shape).toEqual([6, 8, 8]); // the spec's 17x17
    } finally {
      c.model.dispose();
    }
  });

  it('finds the smallest input, and a too-small input fails naming it', async () => {
    const rt = await gpu();
    const c = await build(rt, FIRE, 1, 12);
    try {
      const min = c.model.minInputSize();
      // conv1 (3x3, stride 2) then conv_g (3x3, pad 1 on one side per axis): 2x2 after conv1 is the least, so 5x5.
      expect(min).toBe(5);
      expect(c.model.minInputSize('conv1')).toBe(3);
      expect(() => c.model.forward(upload(rt, input(1, 4, 4, 1), [1, 3, 4, 4]))).toThrow(
        /model 'mini_fire' at input 4x4: layer 'conv_g': kernel window 3 is larger than the padded input 2: the input is too small; the smallest that works is 5x5/,
      );
      const xs = input(1, 5, 5, 2);
      const out = c.model.forward(upload(rt, xs, [1, 3, 5, 5]));
      const ref = networkForward(atSize(FIRE, 5, 5), c.weights, xs, 1);
      expectClose(await out.read(), ref.acts.get('fc')!.data, FORWARD_TOL, out.shape, '5x5 fc');
    } finally {
      c.model.dispose();
    }
  });

  it('a size the classifier cannot take fails naming the linear layer, the sizes that work and the until to use', async () => {
    const rt = await gpu();
    const c = await build(rt, INCEPTION, 1, 13);
    try {
      let msg = '';
      try {
        c.model.forward(upload(rt, input(1, 31, 31, 3), [1, 3, 31, 31]));
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(/^model 'mini_inception' at input 31x31: layer 'fc1' \(linear\): input 'flat' \(220, 1, 1\) has 220 features, expected inFeatures 99; full passes work at square sizes .*, or stop before it with until: 'flat'$/);
      const first = Number(/square sizes (\d+)x/.exec(msg)![1]);
      const xs = input(1, first, first, 4);
      const out = c.model.forward(upload(rt, xs, [1, 3, first, first]));
      const ref = networkForward(atSize(INCEPTION, first, first), c.weights, xs, 1);
      expectClose(await out.read(), ref.acts.get('prob')!.data, FORWARD_TOL, out.shape, `${first}x${first} prob`);
    } finally {
      c.model.dispose();
    }
  });
});

describe('until', () => {
  it('runs only the ancestors of the layer, at a size the classifier cannot take, and backward works from below it', async () => {
    const rt = await gpu();
    const c = await build(rt, INCEPTION, 2, 14);
    const [h, w] = [31, 27];
    try {
      const xs = input(2, h, w, 5);
      let out!: Tensor;
      const labels = dispatchLabels(rt, () => (out = c.model.forward(upload(rt, xs, [2, 3, h, w]), { until: 'a/3x3' })));
      expect(labels.some((l) => /lrn/.test(l))).toBe(true);
      expect(labels.some((l) => /linear|softmax|avg/.test(l))).toBe(false);
      expect(out).toBe(c.model.activation('a/3x3'));
      expect(() => c.model.activation('a/1x1')).toThrow(/layer 'a\/1x1' was not run: the last forward stopped at until: 'a\/3x3'/);
      const s = truncated(atSize(INCEPTION, h, w), 'a/relu_3x3');
      const ref = networkForward(s, c.weights, xs, 2);
      expectClose(await out.read(), ref.acts.get('a/relu_3x3')!.data, FORWARD_TOL, out.shape, 'until a/3x3');
      const seed: BackwardSeed = { kind: 'channel', layer: 'a/3x3', channel: 1 };
      const dx = track(c.model.backward(seed));
      const want = networkGradients(s, c.weights, ref, 'a/relu_3x3', refSeed(c, seed, ref.acts.get('a/relu_3x3')!.shape), 'vanilla').get('data')!;
      expectClose(await dx.read(), want, GRAD_TOL, dx.shape, 'until dx');
      expect(() => c.model.backward({ kind: 'class', index: 0 })).toThrow(/layer 'fc2' was not run/);
    } finally {
      c.model.dispose();
    }
  });
});

// ---- gradients at layers ---------------------------------------------------------------------------

const LAYER_CASES: { spec: typeof INCEPTION; n: number; seed: BackwardSeed; rule: ReluRule; layers: string[] }[] = [
  { spec: INCEPTION, n: 2, seed: { kind: 'class', index: [2, 4] }, rule: 'vanilla', layers: ['data', 'conv1', 'norm1', 'a/3x3', 'a/output', 'flat', 'fc1'] },
  { spec: INCEPTION, n: 2, seed: { kind: 'class', index: [0, 1] }, rule: 'guided', layers: ['a/relu_3x3_reduce', 'pool1', 'data', 'a/output', 'fc2'] },
  { spec: FIRE, n: 1, seed: { kind: 'channel', layer: 'feat', channel: 3 }, rule: 'deconvnet', layers: ['fire/concat', 'fire/squeeze', 'relu1', 'data'] },
];

describe('gradients at layers', () => {
  it.each(LAYER_CASES.map((k) => ({ ...k, name: k.spec.name, kind: k.seed.kind })))('$name $kind seed ($rule): dScore/dA at each layer matches the reference', async ({ spec, n, seed, rule, layers }) => {
    const rt = await gpu();
    const c = await build(rt, spec, n, 15);
    try {
      c.model.forward(upload(rt, c.input, [n, 3, spec.input.height, spec.input.width]));
      const outName = layers[1];
      const out = track(Tensor.empty(rt, [n, ...c.model.layers.find((l) => l.name === outName)!.shape], 'caller out'));
      const got = c.model.gradients(seed, { rule, layers, out: { [outName]: out } });
      expect(got.get(outName)).toBe(out);
      const { grads } = refGradients(c, c.input, spec.input.height, spec.input.width, seed, rule);
      for (const name of layers) {
        const t = got.get(name)!;
        if (name !== outName) track(t);
        const want = grads.get(refName(c.model, name))!;
        expect([name, want.some((v) => v !== 0)]).toEqual([name, true]);
        expectClose(await t.read(), want, GRAD_TOL, t.shape, `${spec.name} grad at ${name}`);
      }
    } finally {
      c.model.dispose();
    }
  });

  it('the reference gradient at an intermediate layer (norm1) matches finite differences', () => {
    const c = { spec: INCEPTION, n: 1 } as Case;
    const tensors = new Map(randomWeights(INCEPTION, 40).map((t) => [t.name, t.data]));
    const fwd = networkForward(INCEPTION, tensors, input(1, 23, 19, 6), 1);
    const g = refSeed(c, { kind: 'class', index: 3 }, fwd.acts.get('fc2')!.shape);
    const atNorm = networkGradients(INCEPTION, tensors, fwd, 'fc2', g, 'vanilla').get('norm1')!;
    // The network above norm1, with norm1's activation as its input.
    const norm1 = fwd.acts.get('norm1')!;
    const top = { ...INCEPTION, input: { ...INCEPTION.input, name: 'norm1', height: norm1.shape[2], width: norm1.shape[3] }, layers: INCEPTION.layers.slice(INCEPTION.layers.findIndex((l) => l.name === 'norm1') + 1) };
    top.input = { ...top.input, channels: norm1.shape[1] as 3 };
    const loss = (a: Float64Array) => networkForward(top, tensors, a, 1).acts.get('fc2')!.data.reduce((s, v, i) => s + v * g[i], 0);
    const [idx, num] = numericGrad(loss, Float64Array.from(norm1.data), 48);
    expect(num.some((v) => v !== 0)).toBe(true);
    expectClose(pick(atNorm, idx), num, FD_TOL);
  });

  it('writes the input gradient into a caller tensor, and reads a gradient seed in a caller buffer in place', async () => {
    const rt = await gpu();
    const c = await build(rt, INCEPTION, 2, 16);
    try {
      c.model.forward(upload(rt, c.input, [2, 3, 23, 19]));
      const shape = [2, 11, 5, 5] as const;
      const data = randomArray(2 * 11 * 5 * 5, 17);
      // The seed lives 64 elements into a larger caller buffer.
      const big = track(Tensor.fromData(rt, new Float32Array([...new Float32Array(64), ...data, ...new Float32Array(16)]), [1, 1, 1, 64 + data.length + 16], 'caller buffer'));
      const view = Tensor.view(rt, big.buffer, shape, 'seed view', 64);
      const out = track(Tensor.empty(rt, [2, 3, 23, 19], 'dx out'));
      let dx!: Tensor;
      const labels = dispatchLabels(rt, () => (dx = c.model.backward({ kind: 'gradient', layer: 'a/output', gradient: view }, { rule: 'guided', out })));
      expect(dx).toBe(out);
      expect(labels.filter((l) => l.startsWith('copy:'))).toEqual([]);
      const seed: BackwardSeed = { kind: 'gradient', layer: 'a/output', gradient: data };
      const want = refGradients(c, c.input, 23, 19, seed, 'guided').grads.get('data')!;
      expectClose(await out.read(), want, GRAD_TOL, out.shape, 'dx into out');
      expect(() => c.model.backward(seed, { out: track(Tensor.empty(rt, [1, 3, 23, 19], 'bad')) })).toThrow(/out for 'data' has shape \(1, 3, 23, 19\), expected \(2, 3, 23, 19\)/);
      expect(() => c.model.gradients({ kind: 'channel', layer: 'a/1x1', channel: 0 }, { layers: ['a/3x3'] })).toThrow(/layer 'a\/3x3' does not feed the seed layer 'a\/relu_1x1'/);
    } finally {
      c.model.dispose();
    }
  });
});

// ---- pre-ReLU ----------------------------------------------------------------------------------------

describe('pre-ReLU values', () => {
  it('keeps the pre-activation of the named convs, and a preRelu seed reaches a dead unit', async () => {
    const rt = await gpu();
    const c = await build(rt, INCEPTION, 1, 18);
    try {
      const x = upload(rt, c.input, [1, 3, 23, 19]);
      c.model.forward(x, { preRelu: ['a/3x3', 'conv1'] });
      const ref = networkForward(INCEPTION, c.weights, c.input, 1);
      for (const [name, preRelu, refLayer] of [['a/3x3', true, 'a/3x3'], ['a/3x3', false, 'a/relu_3x3'], ['conv1', true, 'conv1'], ['conv1', false, 'relu1'], ['a/output', false, 'a/output'], ['prob', false, 'prob']] as const) {
        const want = ref.acts.get(refLayer)!;
        expectClose(await c.model.readActivation(name, { preRelu }), want.data, FORWARD_TOL, want.shape, `${name} preRelu ${preRelu}`);
      }
      // A unit of a/3x3 whose pre-activation is negative: dead after the ReLU.
      const pre = ref.acts.get('a/3x3')!;
      const at = pre.data.findIndex((v) => v < -0.05);
      expect(at).toBeGreaterThanOrEqual(0);
      const [, , h, w] = pre.shape;
      const unit = { channel: Math.floor(at / (h * w)), y: Math.floor((at % (h * w)) / w), x: at % w };
      const dead = track(c.model.backward({ kind: 'neuron', layer: 'a/3x3', ...unit }));
      expect((await dead.read()).every((v) => v === 0)).toBe(true);
      const seed: BackwardSeed = { kind: 'neuron', layer: 'a/3x3', ...unit, preRelu: true };
      const dx = track(c.model.backward(seed));
      const want = refGradients(c, c.input, 23, 19, seed, 'vanilla', 'a/3x3').grads.get('data')!;
      expect(want.some((v) => v !== 0)).toBe(true);
      expectClose(await dx.read(), want, GRAD_TOL, dx.shape, 'preRelu seed dx');

      expect(() => c.model.activation('a/1x1', { preRelu: true })).toThrow(/layer 'a\/1x1' was fused with its ReLU; forward with \{ preRelu: \['a\/1x1'\] \}/);
      expect(() => c.model.forward(x, { preRelu: ['pool1'] })).toThrow(/preRelu: 'pool1' is not a conv \/ linear followed by its own ReLU \(valid: conv1, a\/1x1, /);
      c.model.forward(x);
      expect(() => c.model.readActivation('conv1', { preRelu: true })).toThrow(/'conv1' was fused/);
    } finally {
      c.model.dispose();
    }
  });
});

// ---- allocation-free optimization loop -------------------------------------------------------------

describe('resources', () => {
  it('forward + backward into caller tensors allocates nothing new over 200 iterations (TinyVGG)', async () => {
    if (!existsSync('weights/tinyvgg/model.json')) throw new Error('weights/tinyvgg is missing: run `npm run weights` first');
    const rt = await gpu();
    const model = await loadModel(rt, 'weights/tinyvgg');
    /** `iterations` steps at size x size (a full pass at 64, else up to conv_2_2); the pool's counters must not move after the first. */
    const loop = async (size: number, iterations: number) => {
      const until = size === 64 ? undefined : 'conv_2_2';
      const x = track(Tensor.fromData(rt, randomArray(3 * size * size, 19), [1, 3, size, size], 'image'));
      const dx = track(Tensor.empty(rt, [1, 3, size, size], 'dx'));
      const dA = track(Tensor.empty(rt, [1, ...model.layerShape('conv_2_1', size, size)], 'dA'));
      const step = (i: number) => {
        model.forward(x, { until });
        const seed: BackwardSeed = until ? { kind: 'channel', layer: until, channel: i % 10 } : { kind: 'class', index: i % 10 };
        model.backward(seed, { rule: 'guided', out: dx });
        model.gradients(seed, { layers: ['conv_2_1'], out: { conv_2_1: dA } });
      };
      step(0);
      await rt.sync();
      const first = { ...rt.pool.counters };
      for (let i = 1; i < iterations; i++) step(i);
      await rt.sync();
      expect([size, rt.pool.counters.bytesAllocated, rt.pool.counters.bytesInUse]).toEqual([size, first.bytesAllocated, first.bytesInUse]);
      expect((await dx.read()).some((v) => v !== 0)).toBe(true);
    };
    try {
      await loop(16, 200);
      await loop(64, 8);
    } finally {
      model.dispose();
    }
  });
});
