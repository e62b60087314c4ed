// Multi-conv launches in the model plans (plan.ts): on the 'tiled' conv variant, SqueezeNet 1.1's
// expand1x1 + expand3x3 and GoogLeNet's three 1x1 branches per inception module run as one
// dispatch. The same real weights with and without the fusion (loadModel's fuseConvs) give the
// same probabilities, activations, pre-ReLU values and gradients; SqueezeNet's also match the
// float64 network reference; the conv2d_tiled launches per forward drop by one per fused conv
// after the first (8 for SqueezeNet, 18 for GoogLeNet); the profile names both layers on a fused
// dispatch; and the 'direct' variant plans no fusion.

import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../engine/io/decode';
import { loadModel, type Model } from '../engine/index';
import { parseSafetensors, readTensorF32, writeSafetensors } from '../engine/models/safetensors';
import type { ModelSpec } from '../engine/models/spec';
import { scopeLayers, type DispatchRecord } from '../engine/profile';
import { Runtime } from '../engine/runtime';
import { Tensor } from '../engine/tensor';
import { expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { track, upload } from './helpers/gpu';
import { build, conv, linear, pool, randomWeights, refName, refSeed, relu, shapeOf, spec } from './helpers/model_specs';
import { randomArray } from './helpers/random';
import { networkBackward, networkForward } from './reference/network';

const SHARED = process.env.CNNVIS_SHARED ?? '../shared';
const IMAGENET = `${SHARED}/images/imagenet-samples`;
/** Softmax probabilities, float32 GPU vs float64 reference (as model_real.test.ts). */
const PROB_TOL = { atol: 1e-4, rtol: 0 };
/** Fused vs unfused float32 (the launches may split K differently, so sums differ in order). */
const SAME_TOL = { atol: 1e-4, rtol: 1e-4 };
/** The tiled variant on SwiftShader, two models and a float64 reference, on a shared 2-core machine. */
const TIMEOUT = 400_000;

const tiled = Runtime.create({ variants: { conv2d: 'tiled' } });
afterAll(async () => (await tiled).destroy());

function modelDir(name: string): string {
  const dir = `weights/${name}`;
  if (!existsSync(`${dir}/model.json`)) throw new Error(`${dir}/model.json is missing: run \`npm run weights\` first`);
  return dir;
}

/** The same weights, fused and not, on one runtime. */
async function pair(rt: Runtime, name: string): Promise<{ fused: Model; plain: Model; dispose: () => void }> {
  const fused = await loadModel(rt, modelDir(name));
  const plain = await loadModel(rt, modelDir(name), { fuseConvs: false });
  return { fused, plain, dispose: () => (fused.dispose(), plain.dispose()) };
}

/** Dispatch records of one forward. */
async function profiled(model: Model, x: Tensor, opts: Parameters<Model['forward']>[1] = {}): Promise<DispatchRecord[]> {
  const p = await model.rt.profile(async () => {
    model.forward(x, opts);
    await model.rt.sync();
  });
  return p.records;
}

const launches = (recs: DispatchRecord[]) => recs.filter((r) => r.entryPoint === 'conv2d_tiled').length;

/**
 * A fire module then an inception module, wide enough (16+ channels) for the tiled variant to
 * fuse: expand 1x1 + 3x3 into one concat; three 1x1s (one with no ReLU of its own) into a concat
 * slice and two separate tensors.
 */
const WIDE = spec('mini_wide', [13, 11], [
  conv('conv1', 'data', 3, 16, 3, 1, [1, 1, 1, 1]), relu('relu1', 'conv1'),
  conv('fire/squeeze', 'relu1', 16, 16, 1), relu('fire/relu_squeeze', 'fire/squeeze'),
  conv('fire/e1', 'fire/relu_squeeze', 16, 17, 1), relu('fire/relu_e1', 'fire/e1'),
  conv('fire/e3', 'fire/relu_squeeze', 16, 20, 3, 1, [1, 1, 1, 1]), relu('fire/relu_e3', 'fire/e3'),
  { type: 'concat', name: 'fire/concat', inputs: ['fire/relu_e1', 'fire/relu_e3'] },
  conv('a/1x1', 'fire/concat', 37, 16, 1), relu('a/relu_1x1', 'a/1x1'),
  conv('a/3x3_reduce', 'fire/concat', 37, 18, 1), relu('a/relu_3x3_reduce', 'a/3x3_reduce'),
  conv('a/3x3', 'a/relu_3x3_reduce', 18, 16, 3, 1, [1, 1, 1, 1]), relu('a/relu_3x3', 'a/3x3'),
  conv('a/5x5_reduce', 'fire/concat', 37, 16, 1),
  conv('a/5x5', 'a/5x5_reduce', 16, 16, 5, 1, [2, 2, 2, 2]), relu('a/relu_5x5', 'a/5x5'),
  pool('maxpool', 'a/pool', 'fire/concat', 3, 1, [1, 1, 1, 1], false),
  conv('a/pool_proj', 'a/pool', 37, 16, 1), relu('a/relu_pool_proj', 'a/pool_proj'),
  { type: 'concat', name: 'a/output', inputs: ['a/relu_1x1', 'a/relu_3x3', 'a/relu_5x5', 'a/relu_pool_proj'] },
  { type: 'globalavgpool', name: 'gap', inputs: ['a/output'] },
  { type: 'flatten', name: 'flat', inputs: ['gap'] },
  linear('fc', 'flat', 64, 5),
], 'fc');

describe('a generated fire + inception network on the tiled variant', () => {
  it('fuses both modules; every activation and the input gradient match the float64 network, kept or freed', async () => {
    const rt = await tiled;
    const n = 2;
    const c = await build(rt, WIDE, n, 11);
    try {
      const groups = c.model.nodes.filter((m) => m.fused).map((m) => m.fused!.map((j) => c.model.nodes[j].name));
      expect(groups).toEqual([['fire/e1', 'fire/e3'], ['a/1x1', 'a/3x3_reduce', 'a/5x5_reduce']]);
      const x = upload(rt, c.input, shapeOf(c));
      const ref = networkForward(WIDE, c.weights, c.input, n);
      const before = rt.stats.dispatches;
      c.model.forward(x);
      const fusedCount = rt.stats.dispatches - before;
      for (const l of c.model.layers) {
        const want = ref.acts.get(refName(c.model, l.name))!;
        expectClose(await c.model.readActivation(l.name), want.data, FORWARD_TOL, want.shape, `activation ${l.name}`);
      }
      const seed = { kind: 'class', index: [1, 4] } as const;
      const dx = track(c.model.backward(seed));
      const want = networkBackward(WIDE, c.weights, ref, 'fc', refSeed(c, seed, ref.acts.get('fc')!.shape), 'vanilla');
      expectClose(await dx.read(), want, GRAD_TOL, dx.shape, 'input gradient');
      // Freeing each tensor after its last use: the later convs' tensors are written before their own step.
      const logits = c.model.forward(x, { keep: false });
      expectClose(await logits.read(), ref.acts.get('fc')!.data, FORWARD_TOL, logits.shape, 'logits with keep: false');
      // The same network unfused: 3 more conv launches (1 + 2).
      const plain = await loadModel(rt, { spec: WIDE, weights: writeSafetensors(randomWeights(WIDE, 11)) }, { fuseConvs: false });
      try {
        const b2 = rt.stats.dispatches;
        plain.forward(x);
        expect(rt.stats.dispatches - b2).toBeGreaterThanOrEqual(fusedCount + 3);
        expectClose(await plain.readActivation('fc'), await c.model.readActivation('fc'), SAME_TOL, undefined, 'unfused logits');
      } finally {
        plain.dispose();
      }
    } finally {
      c.model.dispose();
    }
  }, TIMEOUT);
});

describe('SqueezeNet 1.1 on the tiled variant, fused and not', () => {
  it('gives the float64 reference probabilities and the unfused ones, in 8 fewer conv launches', async () => {
    const rt = await tiled;
    const { fused, plain, dispose } = await pair(rt, 'squeezenet1_1');
    try {
      const fire = fused.nodes.filter((n) => n.fused);
      expect(fire.map((n) => n.fused!.map((j) => fused.nodes[j].name))).toEqual(
        [2, 3, 4, 5, 6, 7, 8, 9].map((i) => [`fire${i}/expand1x1`, `fire${i}/expand3x3`]),
      );
      expect(plain.nodes.some((n) => n.fused || n.fusedInto !== null)).toBe(false);

      const files = ['n01443537_goldfish.JPEG', 'n02676566_acoustic_guitar.JPEG'];
      const { height, width } = fused.spec.input;
      const x = track(Tensor.empty(rt, [files.length, 3, height, width], 'images'));
      for (const [i, f] of files.entries()) {
        const img = await decodeImage(new Uint8Array(readFileSync(`${IMAGENET}/${f}`)), f);
        fused.preprocess(img.rgba, img.width, img.height, x, i);
      }
      const recsFused = await profiled(fused, x);
      const recsPlain = await profiled(plain, x);
      const prob = fused.layers[fused.layers.length - 1].name;
      const pf = await fused.readActivation(prob);
      const pp = await plain.readActivation(prob);
      expectClose(pf, pp, SAME_TOL, [files.length, 1000], 'fused vs unfused probabilities');

      // Every conv launch but the first of each fire module is gone; the total drops at least as much.
      expect(launches(recsPlain) - launches(recsFused)).toBe(8);
      expect(recsPlain.length - recsFused.length).toBeGreaterThanOrEqual(8);
      // The fused launch is attributed to both layers.
      const fire2 = recsFused.filter((r) => r.scope === 'fire2/expand1x1+fire2/expand3x3');
      expect(fire2.length).toBeGreaterThanOrEqual(1);
      expect(scopeLayers(fire2[0].scope)).toEqual(['fire2/expand1x1', 'fire2/expand3x3']);
      const names = new Set(fused.layers.map((l) => l.name));
      for (const r of recsFused) for (const l of scopeLayers(r.scope)) expect(names.has(l), `record ${r.index} scope ${r.scope}`).toBe(true);

      const dir = modelDir('squeezenet1_1');
      const spec = JSON.parse(readFileSync(`${dir}/model.json`, 'utf8')) as ModelSpec;
      const st = parseSafetensors(new Uint8Array(readFileSync(`${dir}/weights.safetensors`)), `${dir}/weights.safetensors`);
      const weights = new Map([...st.entries.keys()].map((k) => [k, readTensorF32(st, k)]));
      const ref = networkForward(spec, weights, await x.read(), files.length).acts.get(prob)!;
      expectClose(pf, ref.data, PROB_TOL, ref.shape, 'fused probabilities vs the float64 reference');
    } finally {
      dispose();
    }
  }, TIMEOUT);

  it('keeps activations by name, pre-ReLU values, until and gradients', async () => {
    const rt = await tiled;
    const { fused, plain, dispose } = await pair(rt, 'squeezenet1_1');
    try {
      // A small input keeps SwiftShader quick; SqueezeNet is fully convolutional.
      const size = 67;
      const x = track(Tensor.fromData(rt, randomArray(2 * 3 * size * size, 5, 40), [2, 3, size, size], 'x'));
      const layers = ['fire2/expand1x1', 'fire2/expand3x3', 'fire9/expand3x3', 'fire9/concat'];
      const opts = { preRelu: ['fire3/expand3x3'] };
      const recs = await profiled(fused, x, opts);
      plain.forward(x, opts);
      for (const l of layers) expectClose(await fused.readActivation(l), await plain.readActivation(l), SAME_TOL, undefined, `activation ${l}`);
      const pre = (m: Model) => m.readActivation('fire3/expand3x3', { preRelu: true });
      const preFused = await pre(fused);
      expect(preFused.some((v) => v < 0), 'a pre-ReLU value has negatives').toBe(true);
      expectClose(preFused, await pre(plain), SAME_TOL, undefined, 'pre-ReLU fire3/expand3x3');
      // Asking for fire3/expand3x3's pre-ReLU value leaves fire3 unfused: 7 launches fewer, not 8.
      expect(recs.some((r) => r.scope === 'fire3/expand3x3')).toBe(true);
      expect(recs.some((r) => r.scope?.startsWith('fire3/expand1x1+'))).toBe(false);
      expect(launches(await profiled(plain, x, opts)) - launches(recs)).toBe(7);

      // Gradients through the fused forward equal the unfused ones (backward is the same plan).
      fused.forward(x);
      plain.forward(x);
      const seed = { kind: 'channel', layer: 'fire9/concat', channel: 3 } as const;
      const gf = fused.gradients(seed, { layers: ['data', 'fire2/expand3x3'] });
      const gp = plain.gradients(seed, { layers: ['data', 'fire2/expand3x3'] });
      for (const [k, t] of gf) {
        expectClose(await t.read(), await gp.get(k)!.read(), GRAD_TOL, t.shape, `gradient at ${k}`);
        t.dispose();
        gp.get(k)!.dispose();
      }

      // A pass stopping at one expand runs it alone.
      const y = fused.forward(x, { until: 'fire2/expand1x1' });
      expect(y.shape).toEqual([2, 64, ...fused.layerShape('fire2/expand1x1', size, size).slice(1)]);
      expectClose(await y.read(), await plain.forward(x, { until: 'fire2/expand1x1' }).read(), SAME_TOL, y.shape, 'until fire2/expand1x1');
    } finally {
      dispose();
    }
  }, TIMEOUT);
});

describe('GoogLeNet on the tiled variant, fused and not', () => {
  it('fuses each inception module\'s three 1x1 branches: 18 fewer conv launches, same features', async () => {
    const rt = await tiled;
    const { fused, plain, dispose } = await pair(rt, 'googlenet');
    try {
      const groups = fused.nodes.filter((n) => n.fused).map((n) => n.fused!.map((j) => fused.nodes[j].name.split('/')[1]));
      expect(groups.length).toBe(9);
      for (const g of groups) expect(g).toEqual(['1x1', '3x3_reduce', '5x5_reduce']);
      // Stopping before the classifier lets a small input run the whole trunk.
      const size = 96;
      const until = 'inception_5b/output';
      const x = track(Tensor.fromData(rt, randomArray(3 * size * size, 9, 40), [1, 3, size, size], 'x'));
      const rf = await profiled(fused, x, { until });
      const rp = await profiled(plain, x, { until });
      expect(launches(rp) - launches(rf)).toBe(18);
      expect(rp.length - rf.length).toBeGreaterThanOrEqual(18);
      for (const l of [until, 'inception_3a/3x3_reduce', 'inception_4e/5x5_reduce']) {
        expectClose(await fused.readActivation(l), await plain.readActivation(l), SAME_TOL, undefined, `activation ${l}`);
      }
    } finally {
      dispose();
    }
  }, TIMEOUT);
});

describe('the direct variant', () => {
  it('plans no multi-conv launch', async () => {
    const rt = await Runtime.create({ variants: { conv2d: 'direct' } });
    try {
      const model = await loadModel(rt, modelDir('squeezenet1_1'));
      expect(model.nodes.some((n) => n.fused || n.fusedInto !== null)).toBe(false);
      model.dispose();
    } finally {
      rt.destroy();
    }
  });
});
