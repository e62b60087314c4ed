import { describe, expect, it, vi } from 'vitest';
import { loadModel } from '../engine/models/load';
import type { BackwardSeed } from '../engine/models/backward';
import { writeSafetensors } from '../engine/models/safetensors';
import type { LayerSpec, ModelSpec } from '../engine/models/spec';
import { Tensor } from '../engine/tensor';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { numericGrad, pick } from './helpers/fd';
import { gpu, track, upload } from './helpers/gpu';
import { build, dispatchLabels, FIRE, INCEPTION, randomWeights, refName, refSeed, relu, shapeOf, type Case } from './helpers/model_specs';
import { randomArray } from './helpers/random';
import { networkBackward, networkForward, type RefWeights } from './reference/network';
import type { ReluRule } from './reference/relu';

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
        const copySpy = vi.spyOn(rt, 'copy');
        const labels = dispatchLabels(rt, () => c.model.forward(upload(rt, c.input, shapeOf(c))));
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

  it('rejects an input with the wrong channel count', async () => {
    const rt = await gpu();
    const c = await build(rt, FIRE, 1, 1);
    expect(() => c.model.forward(upload(rt, randomArray(4 * 16 * 17, 1), [1, 4, 16, 17]))).toThrow(
      "model 'mini_fire' forward: input has shape (1, 4, 16, 17), expected (N, 3, H, W)",
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
