// The image-optimization loop shared by every technique that climbs a gradient in image space
// (class / neuron visualization, fooling, DeepDream, inversion, texture, style). Lucid's
// optvis/render.py, on the GPU:
//
//   image = param.render()                       pixels, or Fourier spectrum -> RGB -> network input
//   x     = transforms.apply(image)              optional roll / pad / jitter / scale / rotate
//   forward(x, { until: deepest objective layer, preRelu })
//   g     = d objective / d x                    the objective's seeds, one backward per layer
//   gImg  = transforms.backward(g) - penalties   L2 (2 l2 image), TV
//   gP    = param.backward(gImg)
//   optimizer.step(params, gP)                   ascent / normalized / Adam, up or down
//   regularize(params, gP)                       pixels only: decay, blur every k, clipping, range
//
// The model's part of a step (forward, the objective's value and its backward to the input) is
// recorded once (rt.capture) and replayed at every step, so a step costs the CPU the transforms,
// the update and one replay; `capture: false` records it anew at every step (same result).
// Nothing is read back except the objective every `objectiveEvery` steps (a (N, 1, 1, 1) read,
// which also waits for the GPU, so the queue never runs far ahead) and the image on the steps
// asked for; every tensor is allocated before the first step (the pool stays flat). `settings` is
// read at every step, so a caller (a slider) may change it mid-run. All randomness (transforms)
// comes from `seed`, so equal seeds give bit-identical images on the same adapter.

import { uniformStream } from '../attribution';
import type { Capture } from '../../capture';
import type { Model } from '../../models/graph';
import { axpy } from '../../ops/elementwise';
import { regularize, regularizeScratch, type RegularizeOptions } from '../../ops/regularize';
import { tvBackward } from '../../ops/tv';
import { Tensor } from '../../tensor';
import { bindObjective, deepestLayer, type Objective } from './objectives';
import { makeOptimizer, type OptimizerKind, type OptimizerOptions } from './optimizers';
import type { Parameterization } from './param';
import { bindTransforms, canvasSize, type TransformStep } from './transforms';

/** What may change between steps. Percentiles and penalties of 0 are off. */
export interface LoopSettings {
  lr: number;
  /** L2 penalty: the objective gets - l2 ||image||^2 (the gradient -2 l2 image), any optimizer. */
  l2: number;
  /** Pixels only: x *= 1 - decay after each update (Yosinski et al.'s decay). */
  decay: number;
  /** Pixels only: a Gaussian blur of this sigma every `blurEvery` steps (0: never). */
  blurSigma: number;
  blurEvery: number;
  /** Pixels only: zero pixels whose channel norm / |sum_c x g| is below this percentile (0: off). */
  normPercentile: number;
  contribPercentile: number;
  /** Pixels only: clip to the network's valid input range after each step. */
  clipRange: boolean;
  /** Total variation penalty weight (0: off) and exponent. */
  tvWeight: number;
  tvBeta: number;
  /** For this many first steps seed pre-ReLU, so dead units get gradient (Lucid: 16). */
  redirectSteps: number;
}

export const DEFAULT_SETTINGS: Readonly<LoopSettings> = {
  lr: 1, l2: 0, decay: 0, blurSigma: 0, blurEvery: 0, normPercentile: 0, contribPercentile: 0,
  clipRange: true, tvWeight: 0, tvBeta: 2, redirectSteps: 0,
};

/** A settings object (defaults, then `s`) to hand to optimize() and mutate while it runs. */
export function loopSettings(s: Partial<LoopSettings> = {}): LoopSettings {
  return { ...DEFAULT_SETTINGS, ...s };
}

export interface StepInfo {
  /** Steps done so far (1 after the first). */
  iteration: number;
  steps: number;
  /** The objective (mean over samples) at step `objectiveAt`, the latest read; null before any. */
  objective: number | null;
  objectiveAt: number;
  /** Per sample, at objectiveAt. */
  objectives: Float32Array | null;
  /** Iterations per second over the last stretch between two GPU waits. */
  itPerSec: number;
  /** The image (N, 3, H, W) in the network's space, dense: only on the steps asked for (imageEvery). */
  image?: Float32Array;
}

export interface LoopOptions {
  model: Model;
  objective: Objective;
  param: Parameterization;
  optimizer: OptimizerKind;
  optimizerOptions?: OptimizerOptions;
  transforms?: readonly TransformStep[];
  /** The transformed canvas (H, W); default: the transforms' own (pad and crops) when the network runs at it, else the image's. */
  canvas?: [number, number];
  steps: number;
  seed?: number;
  /** Read at every step (see loopSettings). */
  settings: LoopSettings;
  signal?: AbortSignal;
  onStep?: (s: StepInfo) => void | Promise<void>;
  /** Read the objective back every k steps and at the last (0: only at the last). Default 10. */
  objectiveEvery?: number;
  /** Read the image back with onStep every k steps (0: never). Default 0. */
  imageEvery?: number;
  /** Called after each update with the parameters (GPU work only: e.g. a PGD projection). */
  afterStep?: (params: Tensor, iteration: number) => void;
  /**
   * Record the model's part of a step once and replay it (default true); false records it anew
   * at every step. Both give bit-identical images.
   */
  capture?: boolean;
}

export interface LoopResult {
  iterations: number;
  aborted: boolean;
  /** The objective's read-backs: mean over samples, and per sample. */
  history: { iteration: number; value: number; perSample: number[] }[];
  /** The first and last values read (the first at step 1, before any update took effect). */
  first: number | null;
  last: number | null;
  itPerSec: number;
  ms: number;
}

const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;

function checkOptions(o: LoopOptions): void {
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new Error(`optimize: steps must be a non-negative integer, got ${o.steps}`);
  for (const k of ['objectiveEvery', 'imageEvery'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new Error(`optimize: ${k} must be a non-negative integer, got ${v}`);
  }
}

function checkSettings(s: LoopSettings): void {
  const bad = Object.entries(s).find(([k, v]) => k !== 'clipRange' && !Number.isFinite(v));
  if (bad) throw new Error(`optimize: setting ${bad[0]} must be a finite number, got ${bad[1]}`);
  for (const k of ['normPercentile', 'contribPercentile'] as const) {
    if (s[k] < 0 || s[k] > 100) throw new Error(`optimize: setting ${k} must be a percentile in [0, 100], got ${s[k]}`);
  }
  if (s.decay < 0 || s.decay > 1) throw new Error(`optimize: setting decay must be in [0, 1], got ${s.decay}`);
}

/** Pixel-space regularizer options for this step, or null when it would do nothing. */
function regularizerFor(s: LoopSettings, it: number, range: { lo: number[]; hi: number[] }): RegularizeOptions | null {
  const blur = s.blurSigma > 0 && s.blurEvery > 0 && it % s.blurEvery === 0;
  const r: RegularizeOptions = {
    decay: s.decay,
    blurSigma: blur ? s.blurSigma : 0,
    ...(s.normPercentile > 0 ? { pNorm: s.normPercentile } : {}),
    ...(s.contribPercentile > 0 ? { pContrib: s.contribPercentile } : {}),
    ...(s.clipRange ? range : {}),
  };
  return r.decay! > 0 || blur || r.pNorm !== undefined || r.pContrib !== undefined || s.clipRange ? r : null;
}

/**
 * The transforms' own canvas when the network runs there up to the objective's layer, else the
 * image's size (a classifier head fixed to one size, e.g. TinyVGG's 64 x 64).
 */
function fittingCanvas(model: Model, objective: Objective, steps: readonly TransformStep[], h: number, w: number): [number, number] {
  const own = canvasSize(steps.filter((s) => s.kind !== 'roll'), h, w);
  if (objective.terms.length === 0) return own;
  try {
    model.layerShapes(own[0], own[1], deepestLayer(model, objective));
    return own;
  } catch {
    return [h, w];
  }
}

/** Run the loop; resolves when `steps` are done or the signal fires (aborted: true, the image as it stands). */
export async function optimize(o: LoopOptions): Promise<LoopResult> {
  checkOptions(o);
  const { model, param, settings } = o;
  const rt = model.rt;
  const [n, , h, w] = param.shape;
  const rand = uniformStream(o.seed ?? 0);
  const canvas = o.canvas ?? (o.transforms?.length ? fittingCanvas(model, o.objective, o.transforms, h, w) : undefined);
  const tr = o.transforms?.length ? bindTransforms({ rt, shape: param.shape }, o.transforms, { padValue: param.gray, canvas }) : null;
  const [ch, cw] = tr?.canvas ?? [h, w];
  const bound = bindObjective(model, o.objective, n, ch, cw);
  const up = o.objective.maximize;
  const optimizer = makeOptimizer(o.optimizer, param.params, o.optimizerOptions);
  const gIn = Tensor.empty(rt, [n, param.shape[1], ch, cw], 'optvis input grad');
  const value = Tensor.empty(rt, [n, 1, 1, 1], 'optvis objective');
  const scratch = param.kind === 'pixel' ? regularizeScratch(param.params) : null;
  const every = o.objectiveEvery ?? 10;
  const syncEvery = every > 0 ? every : 16;
  const history: LoopResult['history'] = [];
  const t0 = performance.now();
  let mark = { it: 0, t: t0 };
  let itPerSec = 0;
  let last: { at: number; values: Float32Array } | null = null;
  let it = 0;
  let aborted = false;
  // The model's part of a step, by whether it seeds pre-ReLU (redirect), and the input it reads.
  const modelStep = (x: Tensor, redirect: boolean) => {
    model.forward(x, { until: bound.until, preRelu: bound.preReluLayers(redirect) });
    bound.value(value, redirect);
    bound.backward(gIn, redirect);
  };
  const recorded = new Map<boolean, { x: Tensor; capture: Capture<void> }>();
  const runModelStep = (x: Tensor, redirect: boolean) => {
    if (o.capture === false) return modelStep(x, redirect);
    let r = recorded.get(redirect);
    if (r && (r.x !== x || r.capture.staleReason)) {
      r.capture.dispose();
      r = undefined;
    }
    if (!r) recorded.set(redirect, (r = { x, capture: rt.capture(() => modelStep(x, redirect), `optvis step${redirect ? ' (pre-ReLU seeds)' : ''}`) }));
    r.capture.replay();
  };
  try {
    for (; it < o.steps; it++) {
      if (o.signal?.aborted) {
        aborted = true;
        break;
      }
      const s = settings;
      checkSettings(s);
      const redirect = it < s.redirectSteps;
      const image = param.render();
      const x = tr ? tr.apply(image, rand) : image;
      runModelStep(x, redirect);
      const read = it === 0 || it === o.steps - 1 || (every > 0 && (it + 1) % every === 0);
      const gImg = tr ? tr.backward(gIn) : gIn;
      if (s.l2 > 0) axpy((up ? -2 : 2) * s.l2, image, 1, gImg, gImg);
      if (s.tvWeight > 0) tvBackward(image, { beta: s.tvBeta, eps: 1e-8, weight: (up ? -1 : 1) * s.tvWeight, accumulate: true }, gImg);
      const gP = param.backward(gImg);
      optimizer.step(param.params, gP, s.lr, up);
      const reg = scratch && regularizerFor(s, it + 1, param.range);
      if (reg) regularize(param.params, gP, reg, scratch!);
      o.afterStep?.(param.params, it + 1);
      if (read) {
        const values = await value.read();
        last = { at: it + 1, values };
        history.push({ iteration: it + 1, value: mean(values), perSample: Array.from(values) });
      } else if ((it + 1) % syncEvery === 0) await rt.sync();
      if (read || (it + 1) % syncEvery === 0) {
        const now = performance.now();
        if (it + 1 > mark.it) itPerSec = ((it + 1 - mark.it) * 1000) / Math.max(now - mark.t, 1e-3);
        mark = { it: it + 1, t: now };
      }
      if (o.onStep) {
        const wantImage = (o.imageEvery ?? 0) > 0 && (it + 1) % o.imageEvery! === 0;
        await o.onStep({
          iteration: it + 1, steps: o.steps, itPerSec,
          objective: last ? mean(last.values) : null, objectiveAt: last?.at ?? 0, objectives: last?.values ?? null,
          ...(wantImage ? { image: await param.render().read() } : {}),
        });
      }
    }
    param.render();
    await rt.sync();
    return {
      iterations: it, aborted, history, itPerSec,
      first: history.length ? history[0].value : null,
      last: history.length ? history[history.length - 1].value : null,
      ms: Math.round((performance.now() - t0) * 10) / 10,
    };
  } finally {
    for (const r of recorded.values()) r.capture.dispose();
    for (const t of [gIn, value]) t.dispose();
    scratch?.dispose();
    optimizer.dispose();
    bound.dispose();
    tr?.dispose();
  }
}
