// `npm run bench -- --techniques` compares like with like: on TinyVGG (real weights, 64 x 64), every
// attribution row, the optimization loops and the gallery rows give the same result on our engine
// and in the TF.js version the benchmark times (speed is never asserted). Small counts keep it fast.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type Model } from '../engine/index';
import type { ModelSpec } from '../engine/models/spec';
import { Runtime } from '../engine/runtime';
import { defaultCamLayer } from '../engine/techniques/gradcam';
import { Tensor } from '../engine/tensor';
import { parseArgs } from '../scripts/bench/args';
import { attributionCases, ATTRIBUTION, type AttributionSet } from '../scripts/bench/attribution_cases';
import { nhwcToNchw } from '../scripts/bench/data';
import { featureCase, nearestCase, tsneCase } from '../scripts/bench/gallery_cases';
import { installNavigatorGpu } from '../scripts/bench/gpu';
import { optvisCases, ourOptvis, referenceImage } from '../scripts/bench/optvis_cases';
import { sizedSpec, timeAsync } from '../scripts/bench/technique_bench';
import { buildTfNetwork } from '../scripts/bench/tf_network';
import { tfOptvis } from '../scripts/bench/tf_optvis';
import { tfModel, type TfModel } from '../scripts/bench/tf_techniques';
import { startTfjs, type TfjsHandle } from '../scripts/bench/tfjs';
import { expectClose, type Tolerance } from './helpers/close';

const DIR = join(__dirname, '..', 'weights', 'tinyvgg');
const S = 64;
/** Two float32 implementations of one gradient: absolute slack relative to the result's scale. */
const scaled = (ref: ArrayLike<number>, rtol: number): Tolerance => {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return { atol: 1e-3 * m, rtol };
};
const TECHNIQUE_RTOL = 1e-2;

let tf: TfjsHandle;
let rt: Runtime;
let model: Model;
let tfm: TfModel;
let spec: ModelSpec;

beforeAll(async () => {
  await installNavigatorGpu();
  tf = await startTfjs();
  rt = await Runtime.create();
  spec = JSON.parse(readFileSync(join(DIR, 'model.json'), 'utf8')) as ModelSpec;
  const weights = readFileSync(join(DIR, 'weights.safetensors'));
  model = await loadModel(rt, DIR);
  tfm = tfModel(tf.tf, buildTfNetwork(tf.tf, sizedSpec(spec, S), weights, 'tinyvgg'), sizedSpec(spec, S));
}, 60_000);

afterAll(() => {
  tfm?.net.dispose();
  model?.dispose();
  rt?.destroy();
});

describe('attribution rows: ours and TF.js compute the same thing', () => {
  let set: AttributionSet;
  const x = () => ({ data: referenceImage(model, S, S), c: 3, h: S, w: S });
  afterAll(() => set?.dispose());

  it('every technique agrees (SmoothGrad with sigma 0, where the noise streams differ; it is then saliency)', async () => {
    set = attributionCases(model, tfm, x(), 1, { camLayer: defaultCamLayer(model), counts: { ...ATTRIBUTION, smoothN: 2, smoothSigma: 0, igSteps: 4, batch: 4, occlusionGrid: 2 } });
    const got = new Map<string, Float32Array>();
    for (const c of set.cases) {
      const ours = await c.ours();
      const raw = await c.tfjs!();
      const theirs = c.layout === 'chw' ? nhwcToNchw(raw, [1, 3, S, S]) : raw;
      expect(theirs.length, c.technique).toBe(ours.length);
      expect(ours.some((v) => v !== 0), `${c.technique} is not all zeros`).toBe(true);
      expectClose(theirs, ours, scaled(ours, TECHNIQUE_RTOL), undefined, `${c.technique}: TF.js vs ours`);
      got.set(c.technique.split(' ')[0], ours);
    }
    expectClose(got.get('smoothgrad')!, got.get('saliency')!, scaled(got.get('saliency')!, 1e-4), undefined, 'smoothgrad sigma 0 = saliency');
    expect(got.get('occlusion')).toHaveLength(4);
  }, 300_000);

  it('integrated gradients: both sides close the completeness gap alike', async () => {
    const s = attributionCases(model, tfm, x(), 1, { camLayer: defaultCamLayer(model), counts: { ...ATTRIBUTION, igSteps: 16, batch: 16 } });
    try {
      const ig = s.cases.find((c) => c.technique.startsWith('ig'))!;
      const ours = await ig.ours();
      const theirs = await ig.tfjs!();
      const sum = (a: Float32Array) => a.reduce((p, v) => p + v, 0);
      // f(x) - f(black)
      const score = async (data: Float32Array) => {
        const t = Tensor.fromData(rt, data, [1, 3, S, S], 'ig end');
        model.forward(t);
        t.dispose();
        return (await model.readActivation(spec.logits))[1];
      };
      const diff = (await score(x().data)) - (await score(new Float32Array(3 * S * S)));
      const gap = (a: Float32Array) => Math.abs(sum(a) - diff) / Math.abs(diff);
      expect(Math.abs(gap(ours) - gap(theirs))).toBeLessThan(0.01);
      expect(gap(ours)).toBeLessThan(0.5);
    } finally {
      s.dispose();
    }
  }, 300_000);
});

describe('optimization rows: the same loop on both sides', () => {
  const cases = optvisCases('tinyvgg');

  // From zeros (class-vis) max-pooling ties route the gradient to different pixels on each side: start from noise.
  const compared = cases.filter((c) => c.param === 'pixel' && c.technique !== 'fool').map((c) => [c.technique, { ...c, init: c.init === 'zeros' ? 'noise' : c.init }] as const);
  it.each(compared)('%s: the objective after one update agrees', async (_name, c) => {
    const ours = ourOptvis(model, c, S, S);
    const theirs = tfOptvis(tfm, c, S, S);
    try {
      const a = await ours.run(2);
      const b = await theirs.run(2);
      expect(Number.isFinite(a.last)).toBe(true);
      expectClose([b.last!], [a.last!], { atol: 1e-4, rtol: TECHNIQUE_RTOL }, undefined, `${c.technique}: TF.js vs ours`);
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  }, 60_000);

  it('the Fourier parameterization runs on both sides (different seeded spectra: finite objectives only)', async () => {
    const c = cases.find((k) => k.param === 'fourier')!;
    const ours = ourOptvis(model, c, S, S);
    const theirs = tfOptvis(tfm, c, S, S);
    try {
      expect(Number.isFinite((await ours.run(1)).last)).toBe(true);
      expect(Number.isFinite((await theirs.run(1)).last)).toBe(true);
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  }, 60_000);
});

describe('gallery rows', () => {
  it('features, distances + top-10 (200 points) and t-SNE steps (200 points) agree', async () => {
    const f = featureCase(model, tfm, S, S);
    const n = nearestCase(rt, tf.tf, 16, 200);
    const t = tsneCase(rt, tf.tf, 3, 200);
    try {
      const ours = (await f.ours()) as Float32Array;
      const [c, h, w] = model.layerShape(f.layer, S, S);
      expectClose(nhwcToNchw((await f.tfjs!()) as Float32Array, [8, c, h, w]), ours, scaled(ours, 1e-3), [8, c, h, w], 'features');
      const a = (await n.ours()) as { indices: Float32Array; distances: Float32Array };
      const b = (await n.tfjs!()) as { indices: Int32Array; distances: Float32Array };
      // TF.js's |a|^2 + |b|^2 - 2 a.b loses digits to cancellation: near ties may swap.
      const same = Array.from(b.indices).filter((v, i) => v === a.indices[i]).length;
      expect(same / a.indices.length).toBeGreaterThan(0.95);
      expect(Array.from({ length: 200 }, (_, i) => b.indices[i * 10])).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expectClose(b.distances, a.distances, scaled(a.distances, 1e-3), undefined, 'distances');
      const ya = (await t.ours()) as Float32Array;
      expectClose((await t.tfjs!()) as Float32Array, ya, scaled(ya, 1e-3), undefined, 't-SNE points after 3 steps');
    } finally {
      [f, n, t].forEach((k) => k.dispose());
    }
  }, 120_000);
});

describe('the --techniques flag', () => {
  it('parses, and the timing loop warms up with its own call', async () => {
    expect(parseArgs(['--techniques', '--quick', '--model', 'tinyvgg'])).toMatchObject({ techniques: true, quick: true, model: 'tinyvgg' });
    const calls: string[] = [];
    const r = await timeAsync(async () => void calls.push('run'), { warmup: 1, iters: 2, repeats: 3 }, 4, async () => void calls.push('warm'));
    expect(calls).toEqual(['warm', ...Array(6).fill('run')]);
    expect(r.samples).toHaveLength(3);
    expect(r.rate! * r.ms!).toBeCloseTo(1000);
  });
});
