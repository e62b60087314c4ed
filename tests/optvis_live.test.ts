// Live runs of the iterative techniques (engine/techniques/optvis/live.ts, ctx.live) on TinyVGG
// (real weights), in Node:
//   - every technique with liveOptions hands every iteration's image to ctx.live.onStep, counted
//     over the whole run (DeepDream's octaves, inversion's layers), with the objective read at
//     every step, and the loop's own settings object;
//   - a live option changed mid-run reaches the loop's settings at the next step and not before,
//     mapped as the technique maps it (lr in the loop's units);
//   - a live run whose options do not change gives the bit-identical result of a plain run, and one
//     whose live lr differs from the start, the plain run at that lr (inversion's prior included);
//   - options that are not live, moved mid-run, do not reach the running loop.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, type Model } from '../engine/index';
import { TECHNIQUES } from '../engine/techniques/index';
import type { LoopSettings } from '../engine/techniques/optvis/loop';
import { defaultOptions, type LiveStep, type Options, type RgbaImage, type Technique } from '../engine/techniques/technique';
import { gpu } from './helpers/gpu';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = join(ROOT, '..', 'shared', 'models', 'tinyvgg', 'samples');
const STYLE_IMAGE = join(SAMPLES, 'pizza_1.jpeg');
/** The step after which the live option is changed. */
const CHANGE_AT = 3;

/** Small runs of each iterative technique (flags as option names), and its total iterations. */
const SMALL: Record<string, { o: Options; total: number }> = {
  'class-vis': { o: { steps: 6, lr: 20 }, total: 6 },
  'neuron-vis': { o: { steps: 6, lr: 20 }, total: 6 },
  fool: { o: { method: 'pgd', eps: 0.05, alpha: 0.01, steps: 6 }, total: 6 },
  deepdream: { o: { octaves: 2, octaveScale: 1.2, steps: 3, lr: 2 }, total: 6 },
  invert: { o: { layers: 'conv_1_1,conv_2_1', steps: 3, lr: 4 }, total: 6 },
  texture: { o: { steps: 6, lr: 4 }, total: 6 },
  style: { o: { steps: 6, lr: 4, styleImage: STYLE_IMAGE }, total: 6 },
};

/** The option each live test moves (its loop setting is lr), and to what (a quarter: every technique maps it linearly). */
const MOVED: Record<string, string> = { fool: 'alpha' };
const RATIO = 0.25;
const RATIO_TOL = 1e-6;

interface Seen { step: LiveStep; shape: number[]; lr: number; settings: Readonly<LoopSettings> | undefined }

describe('live runs of the iterative techniques', () => {
  let model: Model;
  let boat: RgbaImage;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    const file = join(SAMPLES, 'boat_1.jpeg');
    const d = await decodeImage(readFileSync(file), file);
    boat = { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba.buffer, d.rgba.byteOffset, d.rgba.length) };
  });

  const iterative = TECHNIQUES.filter((t) => t.liveOptions) as Technique[];

  it('the iterative techniques, and only they, declare live options that are their own', () => {
    expect(iterative.map((t) => t.name).sort()).toEqual(Object.keys(SMALL).sort());
    for (const t of iterative) for (const n of t.liveOptions!) expect(t.options.map((o) => o.name), `${t.name}: live option ${n}`).toContain(n);
  });

  it.each(Object.keys(SMALL).map((n) => [n]))('%s streams every iteration and takes a live option at the next step', async (name) => {
    const t = iterative.find((x) => x.name === name)!;
    const { o, total } = SMALL[name];
    const options: Options = { ...defaultOptions(t), ...o };
    const moved = MOVED[name] ?? 'lr';
    const seen: Seen[] = [];
    let now = { ...options };
    await t.run({
      model, image: t.needsImage ? boat : undefined,
      live: {
        onStep(step, image, settings) {
          seen.push({ step, shape: [...image.shape], lr: settings?.lr ?? NaN, settings });
          if (seen.length === CHANGE_AT) now = { ...options, [moved]: Number(options[moved]) * RATIO };
        },
        options: () => now,
      },
    }, options);
    expect(seen.map((s) => s.step.iteration), `${name}: iterations counted over the whole run`).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const s of seen) {
      expect(s.step.steps, `${name}: total steps`).toBe(total);
      expect(s.step.objectiveAt, `${name}: objective read at every step`).toBe(s.step.iteration);
      expect(Number.isFinite(s.step.objective), `${name}: objective at ${s.step.iteration}`).toBe(true);
      expect(s.shape[1], `${name}: an RGB image`).toBe(3);
      expect(s.settings, `${name}: the loop's settings`).toBeDefined();
    }
    // Steps 1..CHANGE_AT ran with the first lr; from CHANGE_AT + 1 on with a quarter of it (a new loop, e.g. the next octave, is built with the option as it is then).
    const lr0 = seen[0].lr;
    for (const s of seen.slice(0, CHANGE_AT)) expect(s.lr, `${name}: lr before the change, step ${s.step.iteration}`).toBe(lr0);
    for (const s of seen.slice(CHANGE_AT)) expect(Math.abs(s.lr / lr0 - RATIO), `${name}: lr after the change, step ${s.step.iteration}: ${s.lr} vs ${lr0}`).toBeLessThan(RATIO_TOL);
  });

  it.each([['class-vis'], ['invert']])('%s: a live run with unchanged options gives the plain run bit for bit', async (name) => {
    const t = iterative.find((x) => x.name === name)!;
    const options: Options = { ...defaultOptions(t), ...SMALL[name].o };
    const ctx = { model, image: t.needsImage ? boat : undefined };
    const plain = t.present(await t.run(ctx, options), ctx).raw.data;
    let frames = 0;
    const live = t.present(await t.run({ ...ctx, live: { onStep: () => void frames++, options: () => options } }, options), ctx).raw.data;
    expect(frames).toBe(SMALL[name].total);
    expect(live.length).toBe(plain.length);
    let differ = 0;
    for (let i = 0; i < plain.length; i++) if (plain[i] !== live[i]) differ++;
    expect(differ, `${name}: elements that differ`).toBe(0);
  });

  // A live value applies to everything the technique derives from the option (inversion's alpha-norm
  // prior steps by lr too), so a run whose live lr differs from the start is the plain run at that lr.
  it.each([['class-vis'], ['invert']])('%s: a live lr set before the first step gives the plain run at that lr bit for bit', async (name) => {
    const t = iterative.find((x) => x.name === name)!;
    const options: Options = { ...defaultOptions(t), ...SMALL[name].o };
    const moved: Options = { ...options, lr: Number(options.lr) * RATIO };
    const ctx = { model, image: t.needsImage ? boat : undefined };
    if (name === 'invert') expect(Number(options.alphaWeight), 'invert: the alpha-norm prior is on').toBeGreaterThan(0);
    const plain = t.present(await t.run(ctx, moved), ctx).raw.data;
    const live = t.present(await t.run({ ...ctx, live: { onStep: () => undefined, options: () => moved } }, options), ctx).raw.data;
    let differ = 0;
    for (let i = 0; i < plain.length; i++) if (plain[i] !== live[i]) differ++;
    expect(differ, `${name}: elements that differ from the plain run at lr ${moved.lr}`).toBe(0);
  });

  // Options that are not live (fool's method and eps, class-vis's optimizer and units) moved
  // mid-run apply to the next run only: the running loop keeps the run's own.
  it.each([
    ['fool', { method: 'ascent', eps: 1 }],
    ['class-vis', { optimizer: 'ascent', units: 'level', steps: 3 }],
  ] as const)('%s: options that are not live do not reach the running loop', async (name, others) => {
    const t = iterative.find((x) => x.name === name)!;
    const options: Options = { ...defaultOptions(t), ...SMALL[name].o };
    const ctx = { model, image: t.needsImage ? boat : undefined };
    const run = async (now: Options) => {
      const lrs: number[] = [];
      const r = await t.run({ ...ctx, live: { onStep: (_s, _i, settings) => void lrs.push(settings!.lr), options: () => now } }, options);
      return { lrs, data: t.present(r, ctx).raw.data };
    };
    const { lrs: own, data: plain } = await run(options);
    const { lrs, data: live } = await run({ ...options, ...others });
    expect(lrs, `${name}: the loop's lr at each step stays the run's`).toEqual(own);
    let differ = 0;
    for (let i = 0; i < plain.length; i++) if (plain[i] !== live[i]) differ++;
    expect(differ, `${name}: elements that differ from the plain run`).toBe(0);
  });
});
