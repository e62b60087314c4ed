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
import type { LoopSettings } from '../engine/techniques/optvis/loop';
import { throwIfAborted, type LiveStep, type TechniqueContext } from '../engine/techniques/technique';
import { liveCanvas, probeCanvasSharing, type CanvasChoice, type LiveCanvas } from './live_canvas';
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
  // Before the page's device: the probe of a WebGPU canvas on a CPU adapter may lose every device (live_canvas.ts).
  runtime ??= probeCanvasSharing().then(() => createRuntime()).then(
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
  live?: LiveRun,
): Promise<TechniqueRun> {
  return withModel(modelName, async (model) => {
    const t0 = performance.now();
    const ctx: TechniqueContext = { model, image, stem, signal, onProgress };
    let view: LiveCanvas | null = null;
    if (live && t.liveOptions) {
      // An iterative technique streamed: every iteration drawn into the live canvas (ui/live_canvas.ts).
      const v = (view = await liveCanvas(model, live.canvas, live.choice));
      live.onCanvas?.(v);
      // A run held by a pause must not outlive its device (it would hold this model's lock).
      const lost = lostWhileHeld(model);
      ctx.live = {
        async onStep(step, img, settings) {
          await v.draw(img);
          await Promise.race([live.onStep(step, v, settings), lost]);
        },
        options: live.options,
      };
    }
    // The batch sizes a technique runs its gradients at (its `batch` / `samples` options, and 1).
    if (t.group === 'gradients' || t.group === 'last-layer') await warmGradients(model, [1, Number(options.batch), Number(options.samples)]);
    let result: unknown;
    try {
      result = await t.run(ctx, options);
    } finally {
      view?.dispose();
    }
    // The present step (colour maps, overlays, grids on the CPU) and the panel's render each get a
    // task of their own, not one with the run's last read-back: no task holds the page long.
    await nextTask();
    const presentation = t.present(result, ctx);
    await nextTask();
    return { presentation, ms: performance.now() - t0 };
  });
}

/** Rejects once `model`'s device is lost (never resolves); marked handled, so a run that ends first leaves no unhandled rejection. */
function lostWhileHeld(model: Model): Promise<never> {
  const p = model.rt.gpu.lost.then((reason): never => {
    throw new Error(`WebGPU device lost (${reason}) during the live run; run it again`);
  });
  p.catch(() => undefined);
  return p;
}

/** Resolves in a new task of the page's event loop (scheduler.yield where there is one). */
function nextTask(): Promise<void> {
  const s = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof s?.yield === 'function') return s.yield();
  return new Promise((r) => setTimeout(r, 0));
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

/** What a streaming panel gives runTechnique for an iterative technique (one with liveOptions). */
export interface LiveRun {
  canvas: HTMLCanvasElement;
  /** The page's canvas choice (URL canvas=, default auto). */
  choice?: CanvasChoice;
  /** Once the live canvas exists (its path and note). */
  onCanvas?: (view: LiveCanvas) => void;
  /** Awaited after each iteration is drawn (with the loop's settings object): a paused caller holds the run. */
  onStep(step: LiveStep, view: LiveCanvas, settings?: Readonly<LoopSettings>): void | Promise<void>;
  /** The option values now (a slider moved mid-run takes effect at the next step). */
  options(): Options;
}
