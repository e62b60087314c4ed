// The page's link to the engine. The one WebGPU runtime and the loaded models live here, never in
// an element: elements call these async functions and render their pending / done / error states.
//
// Work on one model is serialized (a model keeps the tensors of its last forward pass, so a
// classification must not run in the middle of a technique). When the device is lost the runtime
// and the models are dropped; the next call creates a new device and reloads the model, and
// `sessionEvents` fires 'device-lost' so the page can say so.

import { createRuntime, decodeImage, loadModel, Tensor, type Model, type Prediction, type Runtime } from '../engine/index';
import { modelFields } from '../engine/techniques/receptive_field';
import type { Options, Presentation, RgbaImage, Technique } from '../engine/techniques/technique';
import type { LayerInfo } from '../engine/index';
import { calibrate, kernelSource, profilePass, type Ceilings, type PassProfile } from '../engine/inspect';
import { classLogit, loopSettings, makeParam, maximize, optimize, type LoopResult, type LoopSettings } from '../engine/techniques/optvis/index';
import { visPlan, type VisOptions, type VisPlan } from '../engine/techniques/optvis/vis';
import { resolveClass } from '../engine/techniques/resolve';
import { throwIfAborted } from '../engine/techniques/technique';
import { liveCanvas, type CanvasPath } from './live_canvas';
import { weightsBase } from './sources';

export type { Prediction };

/** Models the page offers (those `npm run weights` converts from the shared folder). */
export const PAGE_MODELS = ['squeezenet1_1', 'googlenet', 'tinyvgg'] as const;

/** What the page shows about a loaded model. */
export interface ModelInfo {
  name: string;
  /** Input (C, H, W). */
  input: [number, number, number];
  parameters: number;
  layers: LayerInfo[];
  /** Receptive field of each layer's units, in input pixels (the side of the largest square they see). */
  receptiveField: Map<string, number>;
  labels: string[];
}

export interface ClassifyResult {
  model: string;
  top: Prediction[];
  /** Milliseconds: the forward pass including the read-back. */
  forwardMs: number;
}

export interface TechniqueRun {
  presentation: Presentation;
  ms: number;
}

/** Fires 'device-lost' (CustomEvent<string>, the reason) when the GPU device goes away. */
export const sessionEvents = new EventTarget();

let runtime: Promise<Runtime> | null = null;
const models = new Map<string, Promise<Model>>();
const locks = new Map<string, Promise<unknown>>();
const images = new Map<string, Promise<RgbaImage>>();

const NO_WEBGPU =
  'This browser does not offer WebGPU. Open the page in Chrome or Edge 113+ (or Chromium started with ' +
  '--enable-unsafe-webgpu), served over https or from http://127.0.0.1.';

const NO_ADAPTER =
  'WebGPU is switched off or offers no adapter in this browser (a blocklisted GPU or driver, or a flag). Open the page in ' +
  'Chrome or Edge 113+ with hardware acceleration on (see chrome://gpu), or start Chromium with --enable-unsafe-webgpu ' +
  '(on Linux also --enable-features=Vulkan), then reload.';

function rt(): Promise<Runtime> {
  if (typeof navigator !== 'undefined' && !navigator.gpu) return Promise.reject(new Error(NO_WEBGPU));
  runtime ??= createRuntime().then(
    (r) => {
      r.gpu.lost.then((reason) => {
        if (runtime === null) return;
        runtime = null;
        models.clear();
        sessionEvents.dispatchEvent(new CustomEvent('device-lost', { detail: reason }));
      });
      return r;
    },
    (e: unknown) => {
      runtime = null;
      const why = e instanceof Error ? e.message : String(e);
      if (/no WebGPU adapter/i.test(why)) throw new Error(NO_ADAPTER);
      throw new Error(`No WebGPU device: ${why} (a GPU driver problem: reload the page, or try another browser).`);
    },
  );
  return runtime;
}

/** The adapter the page runs on, e.g. "google / swiftshader / ... (cpu variants)". */
export async function adapterDescription(): Promise<string> {
  return (await rt()).describe();
}

/** For tests and demos: destroy the device as a driver crash would. */
export async function loseDevice(): Promise<void> {
  (await rt()).device.destroy();
}

/** Load (once) the converted model served at `<weights base><name>/`. */
export function getModel(name: string): Promise<Model> {
  let m = models.get(name);
  if (!m) {
    const base = `${weightsBase()}${name}/`;
    m = rt().then((r) =>
      loadModel(r, base).catch((e: unknown) => {
        const why = e instanceof Error ? e.message : String(e);
        throw new Error(`No weights for model '${name}' at ${base} (${why}). Convert them with \`npm run weights\`, ` +
          `or point the page at them with ?weights=<base URL>. Models offered: ${PAGE_MODELS.join(', ')}.`);
      }),
    );
    m.catch(() => models.delete(name));
    models.set(name, m);
  }
  return m;
}

/** Run `fn` with the model when no other work on it is in flight. */
function withModel<T>(name: string, fn: (m: Model) => Promise<T>): Promise<T> {
  const prev = locks.get(name) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => getModel(name)).then(fn);
  locks.set(name, next.catch(() => undefined));
  return next;
}

function countParameters(m: Model): number {
  let n = 0;
  for (const l of m.spec.layers) {
    if (l.type === 'conv') n += (l.outChannels * l.inChannels * l.kernel[0] * l.kernel[1]) / l.groups + (l.bias ? l.outChannels : 0);
    if (l.type === 'linear') n += l.outFeatures * l.inFeatures + (l.bias ? l.outFeatures : 0);
  }
  return n;
}

/** The largest receptive field (side, input pixels) of each layer's units, from the engine's analysis. */
function receptiveFields(m: Model): Map<string, number> {
  return new Map([...modelFields(m)].map(([name, l]) => [name, Math.max(...l.fields.flatMap((f) => f.size))]));
}

export async function modelInfo(name: string): Promise<ModelInfo> {
  const m = await getModel(name);
  const i = m.spec.input;
  return {
    name, input: [i.channels, i.height, i.width], parameters: countParameters(m), layers: m.layers,
    receptiveField: receptiveFields(m), labels: m.spec.labels,
  };
}

/** Fetch and decode (once per URL) a JPEG or PNG, by the same decoder as the CLI. */
export function loadImage(url: string, name = url): Promise<RgbaImage> {
  let p = images.get(url);
  if (!p) {
    p = (async () => {
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new Error(`${url}: cannot fetch (${e instanceof Error ? e.message : String(e)})`);
      }
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      const img = await decodeImage(new Uint8Array(await res.arrayBuffer()), name);
      return { width: img.width, height: img.height, rgba: new Uint8ClampedArray(img.rgba.buffer, img.rgba.byteOffset, img.rgba.byteLength) };
    })();
    p.catch(() => images.delete(url));
    images.set(url, p);
  }
  return p;
}

/** The top-k classes of an image. */
export function classifyImage(img: RgbaImage, modelName: string, k = 5): Promise<ClassifyResult> {
  return withModel(modelName, async (model) => {
    const t0 = performance.now();
    const input = model.preprocess(img.rgba, img.width, img.height);
    try {
      const [top] = await model.classify(input, k);
      return { model: modelName, top, forwardMs: performance.now() - t0 };
    } finally {
      input.dispose();
    }
  });
}

/** Fetch, decode and classify the image at `url`. */
export async function classifyUrl(url: string, modelName: string, k = 5): Promise<ClassifyResult> {
  return classifyImage(await loadImage(url, url.split('/').pop() ?? url), modelName, k);
}

/**
 * Build, with createComputePipelineAsync, the pipelines `pass` would use up to its first read
 * (the dry pass of Runtime.programsUsedBy: nothing is computed, the first read rejects), so that
 * their synchronous compilation on first use does not hold the page's main thread for 100+ ms.
 */
async function warmPrefix(rt: Runtime, pass: () => Promise<unknown>): Promise<void> {
  let p: Promise<unknown> = Promise.resolve();
  const specs = rt.programsUsedBy(() => {
    p = pass();
  });
  await p.catch(() => undefined);
  await rt.warm(specs);
}

/** Batch sizes whose gradient pipelines are already built, per model. */
const warmed = new WeakMap<Model, Set<number>>();

/** Warm the forward (keeping activations) and backward pipelines, both ReLU rules, at batch sizes `batches`. */
async function warmGradients(model: Model, batches: readonly number[]): Promise<void> {
  const done = warmed.get(model) ?? new Set<number>();
  warmed.set(model, done);
  const { channels, height, width } = model.spec.input;
  for (const n of new Set(batches.filter((b) => Number.isInteger(b) && b >= 1 && b <= 64 && !done.has(b)))) {
    const x = Tensor.empty(model.rt, [n, channels, height, width], 'warm-up gradients input');
    try {
      await model.rt.warm(() => {
        model.forward(x, { keep: true });
        for (const rule of ['vanilla', 'guided'] as const) model.backward({ kind: 'class', index: 0 }, { rule }).dispose();
      });
      done.add(n);
    } finally {
      x.dispose();
    }
  }
}

/** Run a technique and present its result (views, raw array, summary). */
export function runTechnique(
  t: Technique,
  modelName: string,
  options: Options,
  image: RgbaImage | undefined,
  stem: string,
  signal: AbortSignal,
  onProgress: (done: number, total: number) => void,
): Promise<TechniqueRun> {
  return withModel(modelName, async (model) => {
    const t0 = performance.now();
    const ctx = { model, image, stem, signal, onProgress };
    // The batch sizes a technique runs its gradients at (its `batch` / `samples` options, and 1).
    if (t.group === 'gradients' || t.group === 'last-layer') await warmGradients(model, [1, Number(options.batch), Number(options.samples)]);
    const result = await t.run(ctx, options);
    return { presentation: t.present(result, ctx), ms: performance.now() - t0 };
  });
}

/** Ceilings measured once per device (the calibration run takes a moment). */
let ceilings: { rt: Runtime; c: Promise<Ceilings> } | null = null;

export interface InspectorRun extends PassProfile {
  ceilings: Ceilings;
  /** WGSL source of each kernel family in the pass. */
  sources: Record<string, string>;
  adapter: string;
  ms: number;
}

/** Profile a forward + backward pass of `img` through the model, and the adapter's ceilings (kernel inspector). */
export function inspectPass(modelName: string, img: RgbaImage, signal: AbortSignal): Promise<InspectorRun> {
  return withModel(modelName, async (model) => {
    const t0 = performance.now();
    if (ceilings?.rt !== model.rt) ceilings = { rt: model.rt, c: calibrate(model.rt) };
    const c = ceilings.c;
    c.catch(() => (ceilings = null));
    const cal = await c;
    throwIfAborted(signal);
    const input = model.preprocess(img.rgba, img.width, img.height);
    try {
      const p = await profilePass(model, input);
      const sources = Object.fromEntries([...new Set(p.profile.records.map((r) => r.family))].map((f) => [f, kernelSource(f)]));
      return { ...p, ceilings: cal, sources, adapter: model.rt.describe(), ms: performance.now() - t0 };
    } finally {
      input.dispose();
    }
  });
}

/** The loop settings of a class-vis run, as runVis (engine/techniques/optvis/vis.ts) makes them: the live sliders change them mid-run. */
export function liveSettings(plan: VisPlan, o: VisOptions): LoopSettings {
  const pixel = plan.param === 'pixel';
  const off = { l2: 0, decay: 0, blurSigma: 0, blurEvery: 0, normPercentile: 0, contribPercentile: 0 };
  return loopSettings({
    lr: plan.lr, clipRange: pixel && o.clip,
    ...(pixel ? { l2: o.l2, decay: o.decay, blurSigma: o.blurSigma, blurEvery: o.blurEvery, normPercentile: o.normPercentile, contribPercentile: o.contribPercentile } : off),
  });
}

export interface LiveStep {
  iteration: number;
  steps: number;
  objective: number | null;
  objectiveAt: number;
  itPerSec: number;
}

export interface LiveResult {
  classIndex: number;
  label: string;
  path: CanvasPath;
  loop: LoopResult;
}

/**
 * Class visualization live (the class-vis technique's options and plan, engine/techniques/optvis/vis.ts):
 * run the optimization loop, draw every iteration into `canvas` (straight from the GPU where the
 * canvas can share the device) and call `onStep` after each (the loop waits for it, so a paused
 * caller holds the run). `settings` (see liveSettings) is read at every step.
 */
export function runLive(
  modelName: string,
  options: VisOptions & { class: string },
  settings: (plan: VisPlan) => LoopSettings,
  canvas: HTMLCanvasElement,
  signal: AbortSignal,
  onStep: (s: LiveStep, path: CanvasPath) => void | Promise<void>,
): Promise<LiveResult> {
  return withModel(modelName, async (model) => {
    const classIndex = resolveClass(model, options.class, 'class-vis-live') ?? 0;
    const plan = visPlan(model, options);
    const view = liveCanvas(model, canvas);
    const paramOf = () => makeParam(model, plan.param, { height: plan.height, width: plan.width, init: options.init, seed: options.seed, std: 0.1 });
    const objective = maximize(classLogit(model, classIndex));
    // A dry first step (a throwaway parameterization, blur on) builds every pipeline of the loop asynchronously.
    await warmPrefix(model.rt, async () => {
      const dry = paramOf();
      const s = settings(plan);
      try {
        await optimize({ model, param: dry, objective, steps: 1, settings: { ...s, blurEvery: s.blurSigma > 0 ? 1 : 0 }, optimizer: plan.optimizer, transforms: plan.transforms });
      } finally {
        dry.dispose();
      }
    });
    throwIfAborted(signal);
    const param = paramOf();
    try {
      const loop = await optimize({
        model, param, signal, steps: plan.steps, seed: options.seed, settings: settings(plan), optimizer: plan.optimizer, transforms: plan.transforms,
        objective,
        objectiveEvery: 1,
        onStep: async (s) => {
          await view.draw(param.render());
          await onStep({ iteration: s.iteration, steps: s.steps, objective: s.objective, objectiveAt: s.objectiveAt, itPerSec: s.itPerSec }, view.path);
        },
      });
      return { classIndex, label: model.spec.labels[classIndex] ?? String(classIndex), path: view.path, loop };
    } finally {
      param.dispose();
    }
  });
}
