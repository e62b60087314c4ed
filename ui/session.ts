// The page's link to the engine. The one WebGPU runtime and the loaded models live here, never in
// an element: elements call these async functions and render their pending / done / error states.

import { createRuntime, decodeImage, loadModel, type Model, type Prediction, type Runtime } from '../engine/index';

export type { Prediction };

/** Models the page offers (those `npm run weights` converts from the shared folder). */
export const PAGE_MODELS = ['squeezenet1_1', 'googlenet', 'tinyvgg'] as const;
export type PageModel = (typeof PAGE_MODELS)[number];

export interface ClassifyResult {
  model: string;
  top: Prediction[];
  /** Milliseconds: decode + preprocess, and the forward pass including the read-back. */
  decodeMs: number;
  forwardMs: number;
}

let runtime: Promise<Runtime> | null = null;
const models = new Map<string, Promise<Model>>();

function rt(): Promise<Runtime> {
  runtime ??= createRuntime().catch((e: unknown) => {
    runtime = null;
    throw e;
  });
  return runtime;
}

/** The adapter the page runs on, e.g. "google / swiftshader / ... (cpu variants)". */
export async function adapterDescription(): Promise<string> {
  return (await rt()).describe();
}

/** Load (once) the converted model served at /weights/<name>/. */
export function getModel(name: string): Promise<Model> {
  let m = models.get(name);
  if (!m) {
    m = rt().then((r) => loadModel(r, `/weights/${name}/`));
    m.catch(() => models.delete(name));
    models.set(name, m);
  }
  return m;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Classify encoded image bytes (JPEG or PNG), decoded by the same decoder as the CLI. */
export async function classifyBytes(bytes: Uint8Array, name: string, modelName: string, k = 5): Promise<ClassifyResult> {
  const model = await getModel(modelName);
  const t0 = performance.now();
  const img = await decodeImage(bytes, name);
  const input = model.preprocess(img.rgba, img.width, img.height);
  const t1 = performance.now();
  try {
    const [top] = await model.classify(input, k);
    return { model: modelName, top, decodeMs: t1 - t0, forwardMs: performance.now() - t1 };
  } finally {
    input.dispose();
  }
}

export async function classifyUrl(url: string, modelName: string, k = 5): Promise<ClassifyResult> {
  return classifyBytes(await fetchBytes(url), url.split('/').pop() ?? url, modelName, k);
}
