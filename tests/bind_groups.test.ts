// The runtime's bind-group cache (engine/bind_groups.ts) and uniform packing (engine/uniforms.ts):
//   - a dispatch repeated over the same buffers reuses its bind group and computes the same thing;
//   - changed uniforms are honoured in the same batch (new versions), across batches (the slot
//     rewritten in place) and past the version limit (an uncached bind group), each result checked
//     against a float64 reference of the sequence;
//   - a pool buffer handed to a new tensor reuses the entry and reads the new tensor's data;
//     buffers the pool destroys drop their entries, and later dispatches stay valid;
//   - a model forward + backward repeated creates no bind group after its first run (passes free
//     their tensors newest first, so the pool hands back the same buffers) and gives bit-identical
//     results; so do the optimization loop's steps (Adam, roll jitter);
//   - packing errors name the kernel, the member and what was expected.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../engine/index';
import { classLogit, loopSettings, maximize, optimize, pixelParam } from '../engine/techniques/optvis/index';
import { reluForwardKernel } from '../engine/kernels/relu';
import { addScaled } from '../engine/ops/elementwise';
import { Tensor } from '../engine/tensor';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { gpu, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHAPE = [2, 3, 5, 7] as const;
const N = SHAPE.reduce((a, b) => a * b, 1);

/** float64 y + sum_i a_i x, the reference of repeated in-place addScaled. */
function refAxpys(y: Float32Array, x: Float32Array, as: readonly number[]): Float64Array {
  const out = Float64Array.from(y);
  for (const a of as) for (let i = 0; i < out.length; i++) out[i] += a * x[i];
  return out;
}

describe('bind-group cache', () => {
  it('reuses the bind group of a repeated dispatch over the same buffers', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(N, 1), SHAPE, 'x');
    const y0 = randomArray(N, 2);
    const y = upload(rt, y0, SHAPE, 'y');
    addScaled(y, 0.5, x);
    await rt.sync();
    const s0 = { ...rt.stats };
    for (let i = 0; i < 5; i++) addScaled(y, 0.5, x);
    expect(rt.stats.bindGroupsCreated - s0.bindGroupsCreated).toBe(0);
    expect(rt.stats.bindGroupsReused - s0.bindGroupsReused).toBe(5);
    expectClose(await y.read(), refAxpys(y0, await x.read(), Array(6).fill(0.5)), FORWARD_TOL, SHAPE, 'six repeated axpys');
  });

  it('honours changed uniforms in one batch, across batches, and past the version limit', async () => {
    const rt = await gpu();
    const xData = randomArray(N, 3);
    const y0 = randomArray(N, 4);
    const x = upload(rt, xData, SHAPE, 'x');
    const y = upload(rt, y0, SHAPE, 'y');
    const as: number[] = [];
    const step = (a: number) => (as.push(a), addScaled(y, a, x));
    // One batch: distinct coefficients make new versions, then (past 16) uncached bind groups.
    await rt.sync();
    const s0 = { ...rt.stats };
    for (let i = 0; i < 20; i++) step((i % 2 ? -1 : 1) * (0.125 + i / 8));
    expect(rt.stats.dispatches - s0.dispatches).toBe(20);
    expect(rt.stats.bindGroupsReused - s0.bindGroupsReused).toBeLessThanOrEqual(16);
    expectClose(await y.read(), refAxpys(y0, xData, as), FORWARD_TOL, SHAPE, 'twenty coefficients in one batch');
    // Across batches: a coefficient never used before rewrites an idle version's slot in place.
    const s1 = { ...rt.stats };
    for (const a of [7, -7, 0.5]) {
      step(a);
      rt.flush();
    }
    expect(rt.stats.uniformRewrites - s1.uniformRewrites).toBe(3);
    expect(rt.stats.bindGroupsCreated - s1.bindGroupsCreated).toBe(0);
    expectClose(await y.read(), refAxpys(y0, xData, as), FORWARD_TOL, SHAPE, 'coefficients changed between batches');
  });

  it('a pool buffer handed to a new tensor reuses the entry and reads the new data; destroyed buffers drop their entries', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(N, 5), SHAPE, 'x');
    const first = Tensor.fromData(rt, randomArray(N, 6), SHAPE, 'first');
    addScaled(first, 1, x);
    await first.read();
    const buffer = first.buffer;
    first.dispose();
    const y1 = randomArray(N, 7);
    const second = track(Tensor.fromData(rt, y1, SHAPE, 'second'));
    expect(second.buffer).toBe(buffer); // the pool handed the same buffer out again
    const s0 = { ...rt.stats };
    addScaled(second, 1, x);
    expect(rt.stats.bindGroupsReused - s0.bindGroupsReused).toBe(1);
    expectClose(await second.read(), refAxpys(y1, await x.read(), [1]), FORWARD_TOL, SHAPE, 'axpy into the recycled buffer');

    // A free buffer that the pool destroys takes its bind groups with it.
    const third = Tensor.fromData(rt, randomArray(999, 8), [1, 1, 1, 999], 'third');
    const x3 = track(Tensor.fromData(rt, randomArray(999, 9), [1, 1, 1, 999], 'x3'));
    addScaled(third, 2, x3);
    await third.read();
    const destroyed = third.buffer;
    expect(rt.bindGroups.uses(destroyed)).toBe(1);
    const before = rt.bindGroups.size;
    third.dispose();
    rt.pool.trim();
    expect(rt.bindGroups.uses(destroyed)).toBe(0);
    expect(rt.bindGroups.size).toBeLessThan(before);
    const y4 = randomArray(999, 10);
    const fourth = track(Tensor.fromData(rt, y4, [1, 1, 1, 999], 'fourth'));
    addScaled(fourth, 2, x3);
    expectClose(await fourth.read(), refAxpys(y4, await x3.read(), [2]), FORWARD_TOL, [1, 1, 1, 999], 'axpy into a fresh buffer after trim');
    rt.checkAlive();
  });

  it('a model forward + backward repeated creates no bind group after its first run, bit-identical', async () => {
    const rt = await gpu();
    const model = await loadModel(rt, join(ROOT, 'weights', 'tinyvgg'));
    try {
      const x = upload(rt, randomArray(3 * 64 * 64, 11), [1, 3, 64, 64], 'image');
      const g = track(Tensor.empty(rt, [1, 3, 64, 64], 'grad'));
      const run = async () => {
        const logits = await model.forward(x).read();
        model.backward({ kind: 'class', index: 2 }, { out: g });
        return { logits, grad: await g.read() };
      };
      const first = await run();
      // Passes free their tensors newest first, so the second run gets the same buffers: all hits.
      const s0 = { ...rt.stats };
      const again = [await run(), await run()];
      expect(rt.stats.bindGroupsCreated - s0.bindGroupsCreated).toBe(0);
      expect(rt.stats.bindGroupsReused - s0.bindGroupsReused).toBe(rt.stats.dispatches - s0.dispatches);
      for (const r of again) {
        expect(r.logits).toEqual(first.logits);
        expect(r.grad).toEqual(first.grad);
      }
      // Disposing the model destroys its weight arena, and the entries binding it go with it.
      const conv = model.layers.find((l) => l.type === 'conv')!;
      const arena = model.weight(`${conv.name}.weight`).buffer;
      expect(rt.bindGroups.uses(arena)).toBeGreaterThan(0);
      model.dispose();
      expect(rt.bindGroups.uses(arena)).toBe(0);
    } finally {
      model.dispose();
    }
  });
});

describe('the optimization loop on the cache', () => {
  it.each([true, false])('class-vis steps (Adam, roll jitter; model step recorded: %s) reuse bind groups: none created past step 20 (changed uniforms rewrite idle versions), the cache stays flat', async (capture) => {
    const rt = await gpu();
    const model = await loadModel(rt, join(ROOT, 'weights', 'tinyvgg'));
    const param = pixelParam(model, { height: 64, width: 64, init: 'noise', std: 0.1, seed: 3 });
    try {
      const seen: Record<number, { created: number; reused: number; dispatches: number; rewrites: number; replayed: number; entries: number }> = {};
      await optimize({
        model, param, objective: maximize(classLogit(model, 1)), optimizer: 'adam', steps: 40, seed: 2, objectiveEvery: 10, capture,
        transforms: [{ kind: 'roll', max: 2 }], settings: loopSettings({ lr: 0.05 }),
        onStep: (s) => {
          if (s.iteration === 20 || s.iteration === 40) {
            const { bindGroupsCreated: created, bindGroupsReused: reused, dispatches, uniformRewrites: rewrites, replayed } = rt.stats;
            seen[s.iteration] = { created, reused, dispatches, rewrites, replayed, entries: rt.bindGroups.size };
          }
        },
      });
      // By step 20 every per-step uniform (Adam's step count, the jitter) has a version per step of a batch.
      const [a, b] = [seen[20], seen[40]];
      expect(b.dispatches - a.dispatches).toBeGreaterThan(20 * 15);
      expect(b.rewrites - a.rewrites).toBeGreaterThan(20);
      expect(b.created - a.created).toBe(0);
      // Every dispatch reused a cached bind group or was replayed with the capture's own (the model's part of each step).
      const replayed = b.replayed - a.replayed;
      if (capture) expect(replayed).toBeGreaterThan(20 * 5);
      else expect(replayed).toBe(0);
      expect(b.reused - a.reused + replayed).toBe(b.dispatches - a.dispatches);
      expect(b.entries).toBe(a.entries);
    } finally {
      param.dispose();
      model.dispose();
    }
  }, 120_000);
});

describe('uniform packing errors', () => {
  const relu = async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(8, 12), [1, 1, 2, 4], 'x');
    const y = track(Tensor.empty(rt, [1, 1, 2, 4], 'y'));
    const program = rt.program({ ...reluForwardKernel, entryPoint: 'relu_forward', constants: { WG: 256 } });
    const params = { per_sample: 8, ...x.layout('x'), ...y.layout('y') };
    return { rt, x, y, program, params };
  };

  it.each([
    ['a missing member', (p: Record<string, number>) => { const { per_sample: _, ...rest } = p; return rest; }, /uniform params\.per_sample was not given/],
    ['an unknown member', (p: Record<string, number>) => ({ ...p, bogus: 1 }), /params has no member 'bogus'/],
    ['a vector for a scalar', (p: Record<string, number>) => ({ ...p, per_sample: [1, 2] as unknown as number }), /params\.per_sample expects 1 values, got 2/],
    ['a negative u32', (p: Record<string, number>) => ({ ...p, per_sample: -1 }), /params\.per_sample must be a non-negative integer, got -1/],
  ])('names the kernel and the member: %s', async (_, edit, message) => {
    const { rt, x, y, program, params } = await relu();
    expect(() => rt.dispatch(program, { params: edit(params), x, y }, [1, 1, 1])).toThrow(message);
    expect(() => rt.dispatch(program, { params: edit(params), x, y }, [1, 1, 1])).toThrow(/relu:relu_forward/);
    rt.dispatch(program, { params, x, y }, [1, 1, 1]);
    const out = await y.read();
    expect(Array.from(out)).toEqual(Array.from(await x.read(), (v) => Math.max(v, 0)));
  });
});
