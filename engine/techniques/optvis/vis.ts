// What class visualization and neuron visualization share (engine/techniques/class_vis.ts,
// neuron_vis.ts): the options (parameterization, steps, lr, optimizer, the pixel-space
// regularizers, transforms) with their published presets, the run (optvis loop, then the image
// saved as 8 bits and checked by the network again) and the presentation.
//
// Defaults that depend on the parameterization are 0 / 'auto':
//   pixel    CS231n's class visualization: ascent by lr g / ||g||_2, lr 25, 100 steps, L2 1e-3, blur sigma 0.5
//            every 10 steps, wrap-around jitter 16, the valid range clipped;
//   fourier  Lucid: Adam, lr 0.05, 512 steps, pad 12 / jitter 8 / scale 0.90-1.10 / rotate +-10 /
//            jitter 4; the pixel-space regularizers do not apply (the sigmoid keeps it valid).

import { rgbFromTensor } from '../../display/index';
import type { Model } from '../../models/graph';
import { levelUnits, networkImage, SEED_OPTION, sizeOption, stepsOption, lrOption } from '../image_opt';
import { enlarge, since, VIEW_TARGET } from '../present';
import { classLabel, type ClassScore } from '../resolve';
import { softmaxRows } from '../attribution';
import type { OptionSpec, Options, Presentation, RgbaImage, TechniqueContext } from '../technique';
import type { Objective } from './objectives';
import { liveLoop } from './live';
import { optimize, loopSettings, type LoopResult, type LoopSettings } from './loop';
import { OPTIMIZERS, type OptimizerKind } from './optimizers';
import { makeParam, PARAMS, type ParamKind } from './param';
import { LUCID_TRANSFORMS, rollJitter, type TransformStep } from './transforms';

export const TRANSFORM_SETS = ['auto', 'none', 'jitter', 'lucid'] as const;

/**
 * What the pixel settings (lr, l2) are measured in, whatever the network's own input scale:
 *   std    one ImageNet standard deviation of a [0, 1] pixel (torchvision's normalization, so
 *          CS231n's PyTorch settings, lr 25 and L2 1e-3, mean the same on a Caffe 0..255 network);
 *   level  one 8-bit level (Caffe's 0..255 input: Yosinski et al.'s and DeepDream's settings);
 *   input  the network's own input units, unconverted.
 * Percentiles, decay, blur and jitter do not depend on the scale.
 */
export const PIXEL_UNITS = ['std', 'level', 'input'] as const;
export type PixelUnits = (typeof PIXEL_UNITS)[number];

/** ImageNet's per-channel standard deviation of [0, 1] pixels, RGB (torchvision). */
const IMAGENET_STD_RGB = [0.229, 0.224, 0.225];

/** Network input units per pixel-setting unit, the mean over channels. */
export function pixelUnit(model: Model, units: PixelUnits): number {
  if (units === 'input') return 1;
  const level = levelUnits(model);
  const sigma = model.spec.input.channelOrder === 'bgr' ? [...IMAGENET_STD_RGB].reverse() : IMAGENET_STD_RGB;
  const per = units === 'level' ? level : level.map((u, c) => u * 255 * sigma[c]);
  return per.reduce((a, b) => a + b, 0) / per.length;
}

/** The pixel-space regularizers, named as in the loop's settings. */
type PixelSettings = Pick<LoopSettings, 'l2' | 'decay' | 'blurSigma' | 'blurEvery' | 'normPercentile' | 'contribPercentile'>;

export interface VisOptions extends Options, PixelSettings {
  param: ParamKind;
  steps: number;
  lr: number;
  optimizer: 'auto' | OptimizerKind;
  size: number;
  seed: number;
  init: 'zeros' | 'noise';
  jitter: number;
  transforms: (typeof TRANSFORM_SETS)[number];
  clip: boolean;
  units: PixelUnits;
}

export const VIS_OPTIONS: readonly OptionSpec[] = [
  { kind: 'enum', name: 'param', choices: PARAMS, default: 'pixel', help: 'how the image is represented: pixel (the input itself) or fourier (Lucid: 1/f spectrum, decorrelated colour, sigmoid)' },
  stepsOption(0, 'optimization steps (default 0 = 100 for pixel, 512 for fourier)'),
  lrOption(0, 'step size (default 0 = 25 for pixels, CS231n; 0.05 for fourier Adam, Lucid)'),
  { kind: 'enum', name: 'optimizer', choices: ['auto', ...OPTIMIZERS], default: 'auto', help: 'update rule: ascent (x += lr g), normalized (lr g / mean|g|), l2norm (lr g / ||g||_2), adam (default auto = l2norm for pixel, CS231n; adam for fourier)' },
  sizeOption("image side in pixels (default 0 = the model's input size)"),
  SEED_OPTION,
  { kind: 'enum', name: 'init', choices: ['zeros', 'noise'], default: 'zeros', help: 'pixel start: zeros in the network\'s input space (Simonyan et al.) or seeded noise of std 0.1 in --units' },
  { kind: 'number', name: 'l2', default: 1e-3, min: 0, help: 'pixels only: L2 penalty, the objective minus l2 ||x||^2 (CS231n 1e-3)' },
  { kind: 'number', name: 'decay', default: 0, min: 0, max: 1, help: 'pixels only: x *= 1 - decay after each step (Yosinski et al.)' },
  { kind: 'number', name: 'blurSigma', default: 0.5, min: 0, help: 'pixels only: Gaussian blur sigma (0: none)' },
  { kind: 'int', name: 'blurEvery', default: 10, min: 0, help: 'pixels only: blur every k steps (0: never)' },
  { kind: 'number', name: 'normPercentile', default: 0, min: 0, max: 100, help: 'pixels only: zero pixels whose colour norm is below this percentile (0: off)' },
  { kind: 'number', name: 'contribPercentile', default: 0, min: 0, max: 100, help: 'pixels only: zero pixels whose contribution |sum_c x g| is below this percentile (0: off)' },
  { kind: 'int', name: 'jitter', default: 16, min: 0, help: 'pixels: wrap-around jitter of up to this many pixels per step (CS231n 16)' },
  { kind: 'enum', name: 'transforms', choices: TRANSFORM_SETS, default: 'auto', help: "random transforms per step: none, jitter (the roll above), lucid (pad 12, jitter 8, scale 0.9-1.1, rotate +-10, jitter 4); auto = jitter for pixel, lucid for fourier" },
  { kind: 'bool', name: 'clip', default: true, help: "pixels only: clip to the network's valid input range after each step" },
  { kind: 'enum', name: 'units', choices: PIXEL_UNITS, default: 'std', help: "pixels only: what lr and l2 are measured in: std (one ImageNet std of a [0, 1] pixel, CS231n), level (one 8-bit level, Caffe: Yosinski et al.) or input (the network's own units)" },
];

const PIXEL_OFF = { l2: 0, decay: 0, blurSigma: 0, blurEvery: 0, normPercentile: 0, contribPercentile: 0 };

/** Yosinski et al. 2015, the four regularization rows of their table: lr 100, 1000 steps, no jitter. */
const yosinski = (decay: number, blurSigma: number, blurEvery: number, normPercentile: number, contribPercentile: number): Partial<VisOptions> => ({
  param: 'pixel', optimizer: 'ascent', lr: 100, steps: 1000, jitter: 0, l2: 0, decay, blurSigma, blurEvery, normPercentile, contribPercentile, units: 'level',
});

export const VIS_PRESETS: Record<string, Partial<VisOptions>> = {
  cs231n: { param: 'pixel', optimizer: 'l2norm', lr: 25, steps: 100, l2: 1e-3, blurSigma: 0.5, blurEvery: 10, jitter: 16, decay: 0, normPercentile: 0, contribPercentile: 0, units: 'std' },
  yosinski1: yosinski(0, 0.5, 4, 50, 0),
  yosinski2: yosinski(0.3, 0, 0, 20, 0),
  yosinski3: yosinski(1e-4, 1.0, 4, 0, 0),
  yosinski4: yosinski(0, 0.5, 4, 0, 90),
  lucid: { param: 'fourier', optimizer: 'adam', lr: 0.05, steps: 512, transforms: 'lucid', ...PIXEL_OFF },
};

/** The options with 'auto' / 0 resolved for the parameterization. */
export interface VisPlan {
  param: ParamKind;
  steps: number;
  lr: number;
  optimizer: OptimizerKind;
  height: number;
  width: number;
  transforms: TransformStep[];
  transformSet: string;
  /** Pixels: what lr and l2 are in, and network input units per such unit (1 for fourier). */
  units: PixelUnits;
  unit: number;
}

/** lr 0: the parameterization's default (CS231n's 25 for pixels, Lucid's Adam 0.05 for Fourier). */
const DEFAULT_LR: Record<ParamKind, number> = { pixel: 25, fourier: 0.05 };

export function visPlan(model: Model, o: VisOptions): VisPlan {
  const fourier = o.param === 'fourier';
  const set = o.transforms === 'auto' ? (fourier ? 'lucid' : 'jitter') : o.transforms;
  return {
    param: o.param,
    steps: o.steps || (fourier ? 512 : 100),
    lr: o.lr || DEFAULT_LR[o.param],
    optimizer: o.optimizer === 'auto' ? (fourier ? 'adam' : 'l2norm') : o.optimizer,
    height: o.size || model.spec.input.height,
    width: o.size || model.spec.input.width,
    transforms: set === 'lucid' ? [...LUCID_TRANSFORMS] : set === 'jitter' ? rollJitter(o.jitter) : [],
    transformSet: set === 'jitter' ? `jitter ${o.jitter}` : set,
    units: o.units,
    unit: fourier ? 1 : pixelUnit(model, o.units),
  };
}

const PIXEL_SETTINGS = ['l2', 'decay', 'blurSigma', 'blurEvery', 'normPercentile', 'contribPercentile'] as const;

/** The options a live run re-reads at every step (the loop's settings; liveLoop, optvis/live.ts). */
export const VIS_LIVE_OPTIONS = ['lr', ...PIXEL_SETTINGS] as const;

/**
 * The loop's value of a user-facing setting (option `name` = `value`) under `plan`: lr 0 is the
 * parameterization's default; in pixel units u = unit network units, a step of length lr (l2norm,
 * normalized, Adam) is lr u, plain ascent's lr g is lr u^2 (the gradient scales by 1 / u), and the
 * penalty l2 ||x / u||^2 is (l2 / u^2) ||x||^2; the pixel regularizers are off in Fourier space.
 */
export function loopValue(plan: VisPlan, name: string, value: number): number {
  const u = plan.unit;
  if (name === 'lr') return (value || DEFAULT_LR[plan.param]) * (plan.optimizer === 'ascent' ? u * u : u);
  if (plan.param !== 'pixel') return 0;
  return name === 'l2' ? value / (u * u) : value;
}

/** The loop settings of a run (the live sliders change them mid-run through loopValue()). */
export function visSettings(plan: VisPlan, o: VisOptions, redirectSteps = 0): LoopSettings {
  const pixel = Object.fromEntries(PIXEL_SETTINGS.map((k) => [k, loopValue(plan, k, o[k])]));
  return loopSettings({ ...pixel, lr: loopValue(plan, 'lr', plan.lr), redirectSteps, clipRange: plan.param === 'pixel' && o.clip });
}

export interface VisResult {
  technique: string;
  /** What was maximized (term names). */
  objective: string;
  plan: VisPlan;
  /** The optimized image (1, 3, H, W) in the network's input space. */
  image: Float32Array;
  /** It as an 8-bit picture at its own size (what is saved as <stem>.<technique>.png). */
  picture: RgbaImage;
  loop: LoopResult;
  /** The network's top-5 on the 8-bit picture read back as input (null when the full network cannot run at this size). */
  pictureTop: ClassScore[] | null;
  /** The logits of the 8-bit picture (null as above). */
  pictureLogits: Float32Array | null;
  info: Record<string, unknown>;
  ms: number;
}

/** Whether the whole network runs at h x w (a fixed-size classifier head may not). */
function runsWhole(model: Model, h: number, w: number): boolean {
  try {
    model.layerShapes(h, w);
    return true;
  } catch {
    return false;
  }
}

/** The 8-bit picture as network input, the whole network on it: logits and top-5. */
async function checkPicture(model: Model, picture: RgbaImage): Promise<{ top: ClassScore[]; logits: Float32Array } | null> {
  if (!runsWhole(model, picture.height, picture.width)) return null;
  const { height, width } = model.spec.input;
  const own = picture.height === height && picture.width === width;
  const x = own ? model.preprocess(picture.rgba, width, height) : networkImage(model, picture, picture.height, picture.width);
  try {
    model.forward(x, { keep: false });
    const logits = await model.readActivation(model.spec.logits);
    const p = softmaxRows(logits, logits.length);
    const top = Array.from(logits, (_, i) => i).sort((a, b) => p[b] - p[a]).slice(0, 5)
      .map((index) => ({ index, label: classLabel(model, index), logit: logits[index], prob: p[index] }));
    return { top, logits };
  } finally {
    x.dispose();
  }
}

/** Run the optvis loop for `objective` with the shared options; `redirectSteps` seeds pre-ReLU first. */
export async function runVis(ctx: TechniqueContext, o: VisOptions, technique: string, objective: Objective, info: Record<string, unknown>, redirectSteps = 0): Promise<VisResult> {
  const t0 = performance.now();
  const { model } = ctx;
  const plan = visPlan(model, o);
  // Pixel noise of 0.1 in --units (converted like lr); Fourier: the spectrum's own std.
  const param = makeParam(model, plan.param, { height: plan.height, width: plan.width, init: o.init, seed: o.seed, std: 0.1 * plan.unit });
  try {
    const settings = visSettings(plan, o, redirectSteps);
    ctx.onProgress?.(0, plan.steps);
    const loop = await optimize({
      model, objective, param, optimizer: plan.optimizer, steps: plan.steps, seed: o.seed, settings, transforms: plan.transforms,
      signal: ctx.signal,
      ...liveLoop(ctx, {
        image: () => param.render(), settings, objectiveEvery: Math.max(1, Math.round(plan.steps / 50)),
        onStep: (s) => ctx.onProgress?.(s.iteration, plan.steps),
        retune: (v) => Object.fromEntries(VIS_LIVE_OPTIONS.map((k) => [k, loopValue(plan, k, Number(v[k]))])),
      }),
    });
    const image = await param.render().read();
    const picture = rgbFromTensor(image, plan.width, plan.height, model.spec.input);
    const check = await checkPicture(model, picture);
    return {
      technique, objective: objective.terms.map((t) => (t.weight === 1 ? t.name : `${t.weight} * ${t.name}`)).join(' + '), plan, image, picture, loop,
      pictureTop: check?.top ?? null, pictureLogits: check?.logits ?? null, info, ms: since(t0),
    };
  } finally {
    param.dispose();
  }
}

/** The optimized picture itself ('' view, at its own size), enlarged when small, the raw image, the summary. */
export function presentVis(r: VisResult, extra: Record<string, unknown> = {}): Presentation {
  const { plan, loop } = r;
  const views = [{ suffix: '', meaning: `the optimized image itself, ${plan.width}x${plan.height} (the size it was optimized at; feed it back to the network)`, image: r.picture }];
  if (Math.max(r.picture.width, r.picture.height) < VIEW_TARGET) views.push({ suffix: 'enlarged', meaning: 'the same image enlarged (nearest neighbour) for viewing', image: enlarge(r.picture, VIEW_TARGET) });
  return {
    views,
    raw: { data: r.image, shape: [3, plan.height, plan.width], meaning: `the optimized image in the network's input space (after its preprocessing), (3, H, W)` },
    summary: {
      objective: r.objective, ...r.info, ...extra,
      param: plan.param, optimizer: plan.optimizer, lr: plan.lr, ...(plan.param === 'pixel' ? { units: plan.units, inputUnitsPerUnit: plan.unit } : {}), steps: plan.steps, transforms: plan.transformSet, size: [plan.height, plan.width],
      iterations: loop.iterations, aborted: loop.aborted, objectiveFirst: loop.first, objectiveLast: loop.last,
      history: loop.history.map((e) => [e.iteration, e.value]), itPerSec: Math.round(loop.itPerSec * 10) / 10,
      pictureTop5: r.pictureTop, ms: r.ms,
    },
  };
}

/** A file-name-safe stem from a label or layer name ('inception_4c/output' -> 'inception_4c_output'). */
export function safeStem(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'image';
}
