// Recorded work replayed (rt.capture, engine/capture.ts):
//   - a replayed forward, and forward + backward, equal the float64 network reference at every
//     new input written into the same tensor, and equal an ordinary forward bit for bit, with no
//     bind group created and exactly the recording's dispatches issued per replay; also on the
//     'tiled' variant, where the plan fuses convs into multi-conv launches with split-K scratch;
//   - the buffers a pass gave back stay the capture's: filling every free pool buffer with
//     garbage after the recording leaves a replay exact; a returned tensor the caller disposes
//     stays allocated until the capture is; dispose gives every byte back;
//   - a replay inside rt.profile() gives one record per dispatch tagged with its layer;
//   - reading, profiling or capturing inside a recording, an async pass, replay after dispose, an
//     input disposed after the recording and a disposed model fail naming the problem; a pass that
//     throws leaves the pool as it was;
//   - the optimization loop with its recorded model step gives bit-identical images and
//     objectives to the loop recording every step.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, Tensor, type Model } from '../engine/index';
import { writeSafetensors } from '../engine/models/safetensors';
import { Runtime } from '../engine/runtime';
import { channelMean, classLogit, loopSettings, maximize, neuron, optimize, pixelParam } from '../engine/techniques/optvis/index';
import { EXACT, expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { gpu, size, track, upload } from './helpers/gpu';
import { build, FIRE, INCEPTION, randomWeights, refSeed, shapeOf } from './helpers/model_specs';
import { randomArray } from './helpers/random';
import { networkBackward, networkForward } from './reference/network';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const tiled = Runtime.create({ variants: { conv2d: 'tiled' } });
afterAll(async () => (await tiled).destroy());

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Fill every free buffer the pool holds with NaNs (what a later user of a wrongly freed buffer would write). */
function poison(rt: Runtime): Tensor[] {
  const made: Tensor[] = [];
  // Acquire tensors of many sizes until the pool has to allocate: each takes a free buffer if one fits.
  for (let words = 64; words <= 1 << 16; words = Math.ceil(words * 1.25)) {
    for (let k = 0; k < 3; k++) made.push(Tensor.fromData(rt, new Float32Array(words).fill(NaN), [1, 1, 1, words], 'poison'));
  }
  return made;
}

describe('a recorded forward, replayed', () => {
  it.each([
    ['mini_inception (direct)', INCEPTION, 'default'],
    ['mini_fire (direct)', FIRE, 'default'],
    ['mini_inception (tiled)', INCEPTION, 'tiled'],
  ] as const)('%s: equals the float64 reference at every new input and an ordinary forward bit for bit, creating no bind group', async (_name, s, variant) => {
    const rt = variant === 'tiled' ? await tiled : await gpu();
    const n = 2;
    const c = await build(rt, s, n, 21);
    try {
      const x = upload(rt, c.input, shapeOf(c));
      const before = rt.stats.dispatches;
      c.model.forward(x);
      const plainDispatches = rt.stats.dispatches - before;
      // forward() returns the last layer (mini_inception's softmax, mini_fire's logits).
      const last = c.model.layers[c.model.layers.length - 1].name;
      const plain = await c.model.readActivation(last);

      const cap = rt.capture(() => c.model.forward(x), 'forward');
      try {
        expect(cap.dispatches).toBe(plainDispatches);
        const logits = cap.result;
        const created = rt.stats.bindGroupsCreated;
        const d0 = rt.stats.dispatches;
        cap.replay();
        expect(rt.stats.dispatches - d0).toBe(cap.dispatches);
        const got = await logits.read();
        expect(bits(got).equals(bits(plain)), 'replay vs ordinary forward, bit for bit').toBe(true);
        expectClose(got, networkForward(s, c.weights, c.input, n).acts.get(last)!.data, FORWARD_TOL, logits.shape, 'replayed output');
        // New inputs into the same tensor: each replay computes from them.
        for (const seed of [5, 6]) {
          const input = randomArray(size(shapeOf(c)), seed);
          x.write(input);
          cap.replay();
          expectClose(await logits.read(), networkForward(s, c.weights, input, n).acts.get(last)!.data, FORWARD_TOL, logits.shape, `replayed output, input ${seed}`);
        }
        expect(rt.stats.bindGroupsCreated).toBe(created);
      } finally {
        cap.dispose();
      }
    } finally {
      c.model.dispose();
    }
  });

  it('forward + backward to the input replays to the float64 gradient at every new input', async () => {
    const rt = await gpu();
    const n = 2;
    const c = await build(rt, INCEPTION, n, 22);
    try {
      const x = upload(rt, c.input, shapeOf(c));
      const seed = { kind: 'class', index: [1, 3] } as const;
      const cap = rt.capture(() => {
        c.model.forward(x);
        return c.model.backward(seed, { rule: 'guided' });
      }, 'forward + backward');
      try {
        for (const s of [0, 7]) {
          const input = s === 0 ? c.input : randomArray(size(shapeOf(c)), s);
          if (s !== 0) x.write(input);
          cap.replay();
          const ref = networkForward(INCEPTION, c.weights, input, n);
          const want = networkBackward(INCEPTION, c.weights, ref, 'fc2', refSeed(c, seed, ref.acts.get('fc2')!.shape), 'guided');
          expectClose(await cap.result.read(), want, GRAD_TOL, cap.result.shape, `guided input gradient, input ${s}`);
        }
      } finally {
        cap.result.dispose();
        cap.dispose();
      }
    } finally {
      c.model.dispose();
    }
  });
});

describe('the buffers of a capture', () => {
  it('buffers the pass freed stay its own: tensors made after the recording (in every free pool buffer) are not overwritten by a replay, which stays exact', async () => {
    const rt = await gpu();
    const n = 1;
    const c = await build(rt, FIRE, n, 23);
    try {
      const x = upload(rt, c.input, shapeOf(c));
      // keep: false frees each activation after its last use inside the pass.
      const cap = rt.capture(() => c.model.forward(x, { keep: false }), 'forward keep false');
      const junk = poison(rt);
      try {
        cap.replay();
        const want = networkForward(FIRE, c.weights, c.input, n).acts.get('fc')!.data;
        expectClose(await cap.result.read(), want, FORWARD_TOL, cap.result.shape, 'replay after the pool was churned');
        // And the replay wrote into none of the buffers the pool handed out since.
        const clobbered: number[] = [];
        for (const [i, t] of junk.entries()) if (!(await t.read()).every(Number.isNaN)) clobbered.push(i);
        expect(clobbered, 'tensors made after the recording that a replay overwrote').toEqual([]);
        // Churn again between replays, with the pool's free buffers rewritten.
        Tensor.disposeAll(junk.splice(0));
        junk.push(...poison(rt));
        cap.replay();
        expectClose(await cap.result.read(), want, FORWARD_TOL, cap.result.shape, 'second replay');
      } finally {
        Tensor.disposeAll(junk);
        cap.dispose();
      }
    } finally {
      c.model.dispose();
    }
  });

  it('a returned tensor the caller disposes stays allocated until the capture is; dispose gives every byte back', async () => {
    const rt = await gpu();
    const c = await build(rt, INCEPTION, 1, 24);
    try {
      const x = upload(rt, c.input, shapeOf(c));
      const seed = { kind: 'class', index: 2 } as const;
      const pass = () => {
        c.model.forward(x);
        return c.model.backward(seed);
      };
      // Baseline: an ordinary pass, its gradient disposed, then a forward that replaces the model's state.
      pass().dispose();
      c.model.forward(x);
      const base = rt.pool.counters.bytesInUse;
      const cap = rt.capture(pass, 'pass');
      cap.replay();
      const inUse = rt.pool.counters.bytesInUse;
      cap.result.dispose();
      expect(rt.pool.counters.bytesInUse, 'the disposed gradient is still the capture\'s').toBe(inUse);
      cap.dispose();
      c.model.forward(x);
      expect(rt.pool.counters.bytesInUse).toBe(base);
    } finally {
      c.model.dispose();
    }
  });

  it('a replay inside rt.profile() gives one record per dispatch, tagged with its layer', async () => {
    const rt = await gpu();
    const c = await build(rt, INCEPTION, 1, 25);
    try {
      const x = upload(rt, c.input, shapeOf(c));
      const plain = await rt.profile(() => c.model.forward(x));
      const cap = rt.capture(() => c.model.forward(x), 'forward');
      try {
        const p = await rt.profile(() => cap.replay());
        expect(p.records.length).toBe(cap.dispatches);
        expect(p.records.map((r) => [r.label, r.scope])).toEqual(plain.records.map((r) => [r.label, r.scope]));
        expect(p.records.some((r) => r.scope === 'a/3x3')).toBe(true);
      } finally {
        cap.dispose();
      }
    } finally {
      c.model.dispose();
    }
  });
});

describe('errors', () => {
  it('reading, profiling or capturing inside a recording, an async pass and replay after dispose fail naming the problem; a throwing pass leaves the pool as it was', async () => {
    const rt = await gpu();
    const c = await build(rt, FIRE, 1, 26);
    try {
      const x = upload(rt, c.input, shapeOf(c));
      c.model.forward(x);
      const base = rt.pool.counters.bytesInUse;
      expect(() => rt.capture(() => void c.model.forward(x).read(), 'reads')).toThrow(/cannot read inside rt.capture\(\) \('reads': nothing has run yet/);
      expect(() => rt.capture(() => rt.profile(() => 0), 'profiles')).toThrow(/profile: capture 'profiles' is being recorded/);
      expect(() => rt.capture(() => rt.capture(() => 0, 'inner'), 'outer')).toThrow(/capture 'inner': capture 'outer' is already being recorded/);
      expect(() => rt.capture(async () => c.model.forward(x), 'async')).toThrow(/capture 'async': the pass returned a promise/);
      expect(() => rt.capture(() => {
        c.model.forward(x);
        throw new Error('boom');
      })).toThrow('boom');
      c.model.forward(x);
      expect(rt.pool.counters.bytesInUse).toBe(base);
      await expect(rt.profile(() => rt.capture(() => 0, 'in profile'))).rejects.toThrow(/capture: cannot record inside rt.profile\(\)/);
      const cap = rt.capture(() => c.model.forward(x), 'done');
      const other = rt.capture(() => 0, 'other');
      expect(() => rt.capture(() => cap.replay(), 'nested')).toThrow(/replay: capture 'nested' is being recorded/);
      cap.dispose();
      other.dispose();
      expect(() => cap.replay()).toThrow(/capture 'done': replay\(\) after dispose\(\)/);
    } finally {
      c.model.dispose();
    }
  });

  it('an input disposed after the recording, or a disposed model, makes replay refuse, naming it', async () => {
    const rt = await gpu();
    const c = await build(rt, FIRE, 1, 27);
    const x = Tensor.fromData(rt, c.input, shapeOf(c), 'my input');
    const cap = rt.capture(() => c.model.forward(x), 'forward');
    try {
      cap.replay();
      x.dispose();
      expect(() => cap.replay()).toThrow(/capture 'forward' cannot replay: buffer 'my input' \(an input it reads\) was released after the recording; record it again/);
    } finally {
      cap.dispose();
    }
    const y = upload(rt, c.input, shapeOf(c));
    const cap2 = rt.capture(() => c.model.forward(y), 'forward 2');
    try {
      c.model.dispose();
      expect(() => cap2.replay()).toThrow(/capture 'forward 2' cannot replay: buffer '.*' was destroyed \(e\.g\. its model was disposed\)/);
    } finally {
      cap2.dispose();
    }
  });
});

describe('the optimization loop, its model step recorded', () => {
  it('gives bit-identical images and objectives to the loop that records every step (TinyVGG, pixels with roll, Adam; pre-ReLU redirect, two layers)', async () => {
    const rt = await gpu();
    const model: Model = await loadModel(rt, join(ROOT, 'weights', 'tinyvgg'));
    try {
      const run = async (capture: boolean) => {
        const param = pixelParam(model, { height: 16, width: 16, init: 'noise', std: 0.1, seed: 3 });
        try {
          const before = rt.stats.dispatches;
          const r = await optimize({
            model, param, optimizer: 'adam', steps: 12, seed: 4, objectiveEvery: 3, capture,
            objective: maximize(neuron('conv_2_2', 3, 1, 1), channelMean('conv_1_2', 2, { weight: 0.2 })),
            transforms: [{ kind: 'roll', max: 2 }],
            settings: loopSettings({ lr: 0.05, redirectSteps: 4, l2: 1e-3, blurSigma: 0.5, blurEvery: 3 }),
          });
          return { r, image: await param.params.read(), dispatches: rt.stats.dispatches - before };
        } finally {
          param.dispose();
        }
      };
      const a = await run(false);
      const b = await run(true);
      expect(a.r.iterations).toBe(12);
      expect(a.r.last!).toBeGreaterThan(a.r.first!);
      expect(bits(b.image).equals(bits(a.image)), 'recorded vs per-step images').toBe(true);
      expect(b.r.history).toEqual(a.r.history);
      expect(b.dispatches).toBe(a.dispatches);
    } finally {
      model.dispose();
    }
  });

  it('a model loaded from generated weights works the same through a recorded step', async () => {
    const rt = await gpu();
    const model = await loadModel(rt, { spec: FIRE, weights: writeSafetensors(randomWeights(FIRE, 28)) });
    try {
      const run = async (capture: boolean) => {
        const param = pixelParam(model, { height: 17, width: 17, init: 'noise', std: 0.1, seed: 5 });
        try {
          await optimize({ model, param, optimizer: 'ascent', steps: 5, seed: 1, capture, objective: maximize(classLogit(model, 0)), settings: loopSettings({ lr: 0.1 }) });
          return await param.params.read();
        } finally {
          param.dispose();
        }
      };
      expectClose(await run(true), await run(false), EXACT, [1, 3, 17, 17], 'recorded vs per-step image');
    } finally {
      model.dispose();
    }
  });
});
