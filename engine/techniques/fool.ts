// Fooling images / adversarial examples: change a correctly classified image, imperceptibly, until
// the network reports a chosen target class (CS231n's lecture: an elephant becomes a koala; Szegedy
// et al. 2014; Goodfellow et al. 2015). Three methods on the optvis loop, maximizing the target's
// logit S_t(x) with x in the network's input space:
//
//   ascent  x += lr * g / ||g||_2, g = dS_t/dx, until the target is top-1 (the lecture's normalized
//           gradient ascent; lr is the L2 length of a step in [0, 1] image units, 1 = 255 levels)
//   fgsm    x' = x0 + eps * sign(g) once (Goodfellow et al.'s fast gradient sign method)
//   pgd     x = P(x + alpha * sign(g)), P the projection on ||x - x0||_inf <= eps (Kurakin et al.'s
//           basic iterative method, Madry et al.'s PGD without the random start), until top-1
//
// Every update is clipped to the valid pixel range. The sign step is Adam with beta1 = beta2 = 0:
// m = g, v = g^2, so the update is lr * g / (|g| + eps) = lr * sign(g) (one dispatch, no read-back).
// eps and alpha are in 8-bit levels. The result is checked as it will be saved: quantized to 8-bit
// RGB, encoded as PNG, decoded and classified again (`fooledAfterPng`); when rounding undoes the
// attack the loop continues from the quantized image until it holds or the steps run out.

import type { Model } from '../models/graph';
import { axpy, clamp } from '../ops/elementwise';
import { decodeImage } from '../io/decode';
import { encodePng, percentile, rgbFromTensor, type RgbaImage } from '../display/index';
import { Tensor } from '../tensor';
import { levelUnit, levelUnits, stepsOption, lrOption } from './image_opt';
import { classLogit, maximize, optimize, pixelParam, loopSettings, type OptimizerKind, type OptimizerOptions } from './optvis/index';
import { liveLoop } from './optvis/live';
import { enlarge, gradientImage, since, VIEW_TARGET } from './present';
import { forwardTarget, inputTensor, resolveClass, type ClassScore } from './resolve';
import { throwIfAborted, type Technique, type TechniqueContext } from './technique';

export const FOOL_METHODS = ['ascent', 'fgsm', 'pgd'] as const;
export type FoolMethod = (typeof FOOL_METHODS)[number];

export interface FoolOptions extends Record<string, string | number> {
  target: string;
  method: FoolMethod;
  /** L-infinity budget of fgsm / pgd, in 8-bit levels. */
  eps: number;
  /** pgd's step, in 8-bit levels. */
  alpha: number;
  steps: number;
  /** ascent's L2 step length, in [0, 1] image units. */
  lr: number;
}

export interface FoolResult {
  method: FoolMethod;
  target: ClassScore;
  /** The network's top-5 on the original (after resize and crop) and on the saved PNG. */
  before: ClassScore[];
  after: ClassScore[];
  /** The target is top-1 on the PNG as saved (8-bit, decoded back). */
  fooledAfterPng: boolean;
  iterations: number;
  /** PNG round trips checked (more than 1: rounding undid the attack and the loop went on). */
  pngChecks: number;
  /** The fooled picture exactly as saved, and the original the network saw. */
  image: RgbaImage;
  original: RgbaImage;
  /** Bytes of the PNG that was checked. */
  png: Uint8Array;
  /** Over the RGB channels, in 8-bit levels: max |d|, sqrt(sum d^2), and PSNR in dB (Infinity when equal). */
  lInf: number;
  l2: number;
  psnr: number;
  /** The saved picture as network input (3, H, W). */
  input: Float32Array;
  width: number;
  height: number;
  ms: number;
}

/** Max |d|, L2 and PSNR between two RGBA pictures of one size, over R, G, B. */
export function pixelDistance(a: RgbaImage, b: RgbaImage): { lInf: number; l2: number; psnr: number } {
  let lInf = 0;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < a.rgba.length; i++) {
    if (i % 4 === 3) continue;
    const d = a.rgba[i] - b.rgba[i];
    lInf = Math.max(lInf, Math.abs(d));
    sum += d * d;
    count++;
  }
  const mse = sum / count;
  return { lInf, l2: Math.sqrt(sum), psnr: mse > 0 ? 10 * Math.log10((255 * 255) / mse) : Infinity };
}

/**
 * The difference fooled - original as RGB (present.ts gradientImage: 0 is mid-gray, +-m saturate,
 * m the 99.5th percentile of |d|, so the few largest changes do not hide the rest); and the gain.
 */
export function diffImage(fooled: RgbaImage, original: RgbaImage): { image: RgbaImage; gain: number } {
  const plane = fooled.width * fooled.height;
  const d = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) d[c * plane + i] = fooled.rgba[i * 4 + c] - original.rgba[i * 4 + c];
  return { image: gradientImage(d, fooled.width, fooled.height, 'rgb'), gain: 127.5 / (percentile(Float32Array.from(d, Math.abs), 99.5) || 1) };
}

/** The class --target names (resolve.ts resolveClass, its errors naming --target). */
function targetClass(model: Model, text: string): number | null {
  try {
    return resolveClass(model, text, 'fool');
  } catch (e) {
    throw new Error((e as Error).message.replace('--class', '--target'));
  }
}

/** The optimizer and loop step of a method (lr in network units). */
function methodStep(model: Model, o: FoolOptions): { optimizer: OptimizerKind; optimizerOptions?: OptimizerOptions; lr: number; steps: number } {
  const unit = levelUnit(model);
  const sign = { optimizer: 'adam' as const, optimizerOptions: { beta1: 0, beta2: 0, eps: 1e-18 } };
  if (o.method === 'fgsm') return { ...sign, lr: o.eps * unit, steps: 1 };
  if (o.method === 'pgd') return { ...sign, lr: o.alpha * unit, steps: o.steps };
  if (o.method === 'ascent') return { optimizer: 'l2norm', lr: 255 * o.lr * unit, steps: o.steps };
  throw new Error(`fool: unknown --method '${o.method as string}' (${FOOL_METHODS.join(', ')})`);
}

function checkOptions(o: FoolOptions): void {
  for (const k of ['eps', 'alpha', 'lr'] as const) {
    if (!(Number.isFinite(o[k]) && o[k] > 0)) throw new Error(`fool: --${k} must be a positive number (${k === 'lr' ? '[0, 1] image units' : '8-bit levels'}), got ${o[k]}`);
  }
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`fool: --steps must be a positive integer, got ${o.steps}`);
}

/**
 * Run the method from `start` towards `target` until the target is top-1 (checked after every
 * step from the logits of that step's forward) or `steps` run out; the result image (1, 3, H, W)
 * is caller-owned.
 */
async function attack(model: Model, start: Tensor, x0: Tensor, target: number, o: FoolOptions, steps: number, ctx: TechniqueContext, offset: number): Promise<{ x: Tensor; iterations: number }> {
  const { signal } = ctx;
  const m = methodStep(model, o);
  const settings = loopSettings({ lr: m.lr, clipRange: true });
  const param = pixelParam(model, { height: start.h, width: start.w, init: start });
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort);
  const eps = levelUnits(model).map((u) => o.eps * u);
  const delta = o.method === 'pgd' ? Tensor.empty(model.rt, start.shape, 'fool delta') : null;
  const k = model.layers.find((l) => l.name === model.spec.logits)!.shape[0];
  try {
    const r = await optimize({
      model, param, objective: maximize(classLogit(model, target)),
      optimizer: m.optimizer, optimizerOptions: m.optimizerOptions,
      steps: Math.min(steps, m.steps), settings, signal: stop.signal,
      afterStep: delta ? (x) => {
        clamp(axpy(1, x, -1, x0, delta), eps.map((e) => -e), eps, delta);
        axpy(1, x0, 1, delta, x);
      } : undefined,
      ...liveLoop(ctx, {
        image: () => param.render(), settings, objectiveEvery: 0, offset, total: m.steps,
        // Only the live options (lr, alpha) are re-read: the method, eps and steps stay the run's.
        retune: (v) => ({ lr: methodStep(model, { ...o, lr: Number(v.lr), alpha: Number(v.alpha) }).lr }),
        onStep: o.method === 'fgsm' ? undefined : async () => {
          const logits = await model.readActivation(model.spec.logits);
          let best = 0;
          for (let i = 1; i < k; i++) if (logits[i] > logits[best]) best = i;
          if (best === target) stop.abort();
        },
      }),
    });
    const x = Tensor.empty(model.rt, start.shape, 'fool image');
    param.params.copyTo(x);
    return { x, iterations: r.iterations };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    delta?.dispose();
    param.dispose();
  }
}

export const fool: Technique<FoolOptions, FoolResult> = {
  name: 'fool',
  title: 'Fooling image',
  group: 'optimization',
  description:
    'Changes a correctly classified image, by amounts too small to see, until the network reports a chosen target class: normalized gradient ascent on the target score (the CS231n lecture), or FGSM / PGD within an L-infinity budget (Goodfellow et al. 2015; Kurakin et al. 2017; Madry et al. 2018). The saved 8-bit PNG is decoded and classified again to prove it still fools the network.',
  needsImage: true,
  options: [
    { kind: 'class', name: 'target', default: '', help: "the class the network should report: an index or a label substring (default: the original's runner-up)" },
    { kind: 'enum', name: 'method', choices: FOOL_METHODS, default: 'ascent', help: 'ascent: normalized gradient ascent until fooled; fgsm: one sign step of size eps; pgd: sign steps of alpha projected on the eps ball' },
    { kind: 'number', name: 'eps', default: 8, min: 0, help: 'L-infinity budget of fgsm and pgd, in 8-bit levels (8 = 8/255)' },
    { kind: 'number', name: 'alpha', default: 1, min: 0, help: "pgd's step in 8-bit levels (Kurakin et al.: 1)" },
    stepsOption(100, 'most iterations (ascent, pgd), PNG re-checks included'),
    lrOption(1, "ascent's step: the L2 length of each change, in [0, 1] image units (the lecture: 1)"),
  ],
  liveOptions: ['lr', 'alpha'],
  presets: {
    lecture: { method: 'ascent', lr: 1, steps: 100 },
    fgsm: { method: 'fgsm', eps: 8 },
    bim: { method: 'pgd', eps: 8, alpha: 1, steps: 10 },
  },
  async run(ctx, o) {
    const t0 = performance.now();
    checkOptions(o);
    const { model } = ctx;
    const chosen = targetClass(model, o.target);
    const x0 = inputTensor(model, ctx.image, 'fool');
    const live: Tensor[] = [x0];
    try {
      const [, , h, w] = x0.shape;
      const original = rgbFromTensor(await x0.read(), w, h, model.spec.input);
      const first = await forwardTarget(model, x0, '', 'logit', 'fool');
      const index = chosen ?? first.top[1].index;
      const budget = methodStep(model, o).steps;
      let start = x0;
      let iterations = 0;
      let pngChecks = 0;
      for (;;) {
        throwIfAborted(ctx.signal);
        const r = await attack(model, start, x0, index, o, budget - iterations, ctx, iterations);
        live.push(r.x);
        throwIfAborted(ctx.signal);
        iterations += r.iterations;
        ctx.onProgress?.(iterations, budget);
        const saved = rgbFromTensor(await r.x.read(), w, h, model.spec.input);
        const png = await encodePng(saved);
        const back = await decodeImage(png, 'fool PNG');
        const xq = model.preprocess(back.rgba, back.width, back.height);
        live.push(xq);
        const after = await forwardTarget(model, xq, String(index), 'logit', 'fool');
        pngChecks++;
        const fooledAfterPng = after.top[0].index === index;
        if (fooledAfterPng || o.method === 'fgsm' || iterations >= budget || r.iterations === 0) {
          const image = { width: back.width, height: back.height, rgba: new Uint8ClampedArray(back.rgba) };
          return {
            method: o.method, target: { index, label: after.label, logit: after.logit, prob: after.prob },
            before: first.top, after: after.top, fooledAfterPng, iterations, pngChecks,
            image, original, png, ...pixelDistance(image, original), input: await xq.read(), width: w, height: h, ms: since(t0),
          };
        }
        start = xq;
      }
    } finally {
      for (const t of live) t.dispose();
    }
  },
  present(r) {
    const diff = diffImage(r.image, r.original);
    return {
      views: [
        { suffix: '', meaning: `the fooled image as saved (8-bit PNG, ${r.width}x${r.height}); the network reads it as '${r.after[0].label}'`, image: r.image },
        { suffix: 'diff', meaning: `fooled - original, magnified ${diff.gain.toFixed(1)}x and clipped at the 99.5th percentile of |change| (mid-gray = unchanged; L-inf ${r.lInf} levels)`, image: enlarge(diff.image, VIEW_TARGET) },
      ],
      raw: { data: r.input, shape: [3, r.height, r.width], meaning: 'the saved fooled image as network input (3, H, W), in the model\'s channel order and normalization' },
      summary: {
        method: r.method,
        target: { index: r.target.index, label: r.target.label, logit: r.target.logit, prob: r.target.prob },
        original: r.before[0], before: r.before, after: r.after,
        fooledAfterPng: r.fooledAfterPng, iterations: r.iterations, pngChecks: r.pngChecks,
        lInf: r.lInf, l2: Math.round(r.l2 * 1000) / 1000, psnr: Number.isFinite(r.psnr) ? Math.round(r.psnr * 100) / 100 : 'inf',
        inputSize: [r.height, r.width], ms: r.ms,
      },
    };
  },
};
