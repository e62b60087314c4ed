// The 'gemv_subgroup' linear variant (shaders/linear_gemv_subgroup.wgsl) against the float64
// reference on awkward shapes, and its feature gating: a device made without 'subgroups' does
// not offer it and refuses it by name.

import { afterAll, describe, expect, it } from 'vitest';
import { linearVariant, linearVariantsFor, LINEAR_VARIANTS } from '../engine/kernels/linear';
import { linear } from '../engine/ops/linear';
import { Runtime } from '../engine/runtime';
import { Tensor } from '../engine/tensor';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import * as ref from './reference/linear';

const withSubgroups = Runtime.create({ variants: { linear: 'gemv_subgroup' } });
const withoutSubgroups = Runtime.create({ subgroups: false });
afterAll(async () => {
  (await withSubgroups).destroy();
  (await withoutSubgroups).destroy();
});

/**
 * (N, In, Out): In not a multiple of 4 (scalar entry point) nor of any subgroup size 4..64, and
 * multiples of 4 (vec4 entry point) that are not multiples of the subgroup size; Out 1, 7, 1000
 * (Out not a multiple of the 16 rows per workgroup); batches 1 and 3, and 8 (one full sample block).
 */
const GRID: [number, number, number][] = [
  [1, 1, 1],
  [1, 3, 7],
  [3, 37, 7],
  [1, 101, 1000],
  [3, 132, 1],
  [1, 68, 1000],
  [3, 1000, 17],
  [8, 9, 33],
  [1, 9216, 7], // AlexNet pool5 features (vec4), few rows
];

/** Weights scaled by 1/sqrt(In) so outputs stay O(1) for every In. */
const weights = (outF: number, inF: number, seed: number): Float32Array => randomArray(outF * inF, seed, 1 / Math.sqrt(inF));

describe('linear forward, variant gemv_subgroup', () => {
  it('is offered on this adapter (SwiftShader under Dawn exposes subgroups)', async () => {
    const rt = await withSubgroups;
    expect(rt.gpu.features.subgroups).toBe(true);
    expect(linearVariantsFor(rt)).toEqual([...LINEAR_VARIANTS]);
    expect(linearVariant(rt, 1)).toBe('gemv_subgroup');
    expect(rt.describe()).toMatch(/variants, subgroups \d+(-\d+)?\)$/);
  });

  it.each(GRID)('N %i, In %i -> Out %i: with bias and relu, bias only, neither', async (n, inF, outF) => {
    const rt = await withSubgroups;
    const xShape = [n, inF, 1, 1];
    const x = randomArray(size(xShape), 11);
    const w = weights(outF, inF, 12);
    const b = randomArray(outF, 13);
    const xt = upload(rt, x, xShape);
    const wt = upload(rt, w, [outF, inF, 1, 1], 'w');
    const bt = upload(rt, b, [1, outF, 1, 1], 'b');
    for (const [bias, relu] of [[true, true], [true, false], [false, false], [false, true]] as const) {
      const y = track(linear(xt, wt, bias ? bt : null, { relu }));
      expect(y.shape).toEqual([n, outF, 1, 1]);
      expectClose(await y.read(), ref.linearForward(x, w, bias ? b : null, n, inF, outF, relu), FORWARD_TOL, y.shape, `gemv_subgroup y bias=${bias} relu=${relu}`);
    }
  });

  it('reads x as a channel view and w at an odd arena offset (scalar path), and at an aligned one (vec4 path)', async () => {
    const rt = await withSubgroups;
    const [n, outF, inF] = [3, 7, 20];
    for (const wAt of [37, 40]) {
      const big = randomArray(n * 2 * inF, 21); // (3, 2 * 20): x is the second half of each sample
      const bigT = upload(rt, big, [n, 2 * inF, 1, 1], 'x big');
      const xv = bigT.channels(inF, inF);
      const arena = randomArray(wAt + outF * inF, 22);
      const arenaT = upload(rt, arena, [1, wAt + outF * inF, 1, 1], 'arena');
      const wv = Tensor.view(rt, arenaT.buffer, [outF, inF, 1, 1], 'w view', wAt);
      const x = new Float32Array(n * inF);
      for (let s = 0; s < n; s++) x.set(big.subarray(s * 2 * inF + inF, (s + 1) * 2 * inF), s * inF);
      const y = track(linear(xv, wv, null));
      expectClose(await y.read(), ref.linearForward(x, arena.subarray(wAt), null, n, inF, outF), FORWARD_TOL, y.shape, `gemv_subgroup views, w at ${wAt}`);
    }
  });
});

describe('linear variants without the subgroups feature', () => {
  it('a device created without requesting subgroups does not offer gemv_subgroup', async () => {
    const rt = await withoutSubgroups;
    expect(rt.gpu.features.subgroups).toBe(false);
    expect(rt.device.features.has('subgroups')).toBe(false);
    expect(rt.describe()).toMatch(/ variants\)$/);
    expect(linearVariantsFor(rt)).toEqual(LINEAR_VARIANTS.filter((v) => v !== 'gemv_subgroup'));
  });

  it('refuses gemv_subgroup forced on it, naming the feature and the variants it can run', async () => {
    const rt = await withoutSubgroups;
    const forced = Object.assign(Object.create(Runtime.prototype) as Runtime, { gpu: rt.gpu, device: rt.device, variants: { linear: 'gemv_subgroup' } });
    expect(() => linearVariant(forced, 1)).toThrow(/variant 'gemv_subgroup' needs the WebGPU feature 'subgroups'.*variants here: register, tiled, gemv$/);
    // The other variants still run on it.
    const [n, inF, outF] = [1, 13, 5];
    const x = randomArray(n * inF, 31);
    const w = weights(outF, inF, 32);
    const y = track(linear(upload(rt, x, [n, inF, 1, 1]), upload(rt, w, [outF, inF, 1, 1], 'w'), null));
    expectClose(await y.read(), ref.linearForward(x, w, null, n, inF, outF), FORWARD_TOL, y.shape, 'linear without subgroups');
  });
});
