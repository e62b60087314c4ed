// Shared pieces of the attribution techniques (occlusion, Grad-CAM, SmoothGrad, integrated
// gradients, faithfulness): the score a technique explains (class logit or probability), batched
// forward / backward loops over inputs built on the CPU (one upload per batch), and the per-pixel
// reductions that turn an input gradient (N, 3, H, W) into a map (H, W).
//
// Batches are made on the GPU from the one uploaded image (engine/ops/batch_input.ts: one
// dispatch per batch), or built as one Float32Array (B, 3, H, W) and uploaded with one
// Tensor.fromData write; never one write per sample.

import type { Model } from '../models/graph';
import { Tensor } from '../tensor';
import { throwIfAborted, type TechniqueContext } from './technique';

/** What is explained: the class logit (the input of the softmax, the default) or its probability. */
export type ScoreKind = 'logit' | 'prob';
export const SCORE_CHOICES: readonly ScoreKind[] = ['logit', 'prob'];

/** An image's preprocessed input as data: (3, H, W) floats, in the model's channel order. */
export interface InputImage {
  data: Float32Array;
  c: number;
  h: number;
  w: number;
}

/** The softmax layer that reads the logits, if the network has one. */
function probLayer(model: Model): string | undefined {
  const logits = model.spec.logits;
  return model.layers.find((l) => l.type === 'softmax' && l.inputs[0] === logits)?.name;
}

/** The layer a class seed goes to for `score`: the logits, or the softmax after them. */
export function scoreLayer(model: Model, score: ScoreKind): string {
  if (score === 'logit') return model.spec.logits;
  const p = probLayer(model);
  if (!p) throw new Error(`model '${model.spec.name}': --score prob needs a softmax layer after '${model.spec.logits}' (this network has none; use --score logit)`);
  return p;
}

/** Row-wise softmax of (N, K) logits, in float64. */
export function softmaxRows(logits: ArrayLike<number>, k: number): Float64Array {
  const p = new Float64Array(logits.length);
  for (let s = 0; s * k < logits.length; s++) {
    let m = -Infinity;
    for (let i = 0; i < k; i++) m = Math.max(m, logits[s * k + i]);
    let z = 0;
    for (let i = 0; i < k; i++) z += p[s * k + i] = Math.exp(logits[s * k + i] - m);
    for (let i = 0; i < k; i++) p[s * k + i] /= z;
  }
  return p;
}

/** Per-sample `score` of class `index` from the last forward. */
export async function readScores(model: Model, index: number, score: ScoreKind): Promise<Float64Array> {
  const logits = await model.readActivation(model.spec.logits);
  const k = logits.length / model.batch;
  const v = score === 'prob' ? softmaxRows(logits, k) : logits;
  return Float64Array.from({ length: model.batch }, (_, s) => v[s * k + index]);
}

/** The image as the network's input, read back as data. */
export async function readInput(model: Model, image: { width: number; height: number; rgba: Uint8Array | Uint8ClampedArray } | undefined, technique: string): Promise<InputImage> {
  if (!image) throw new Error(`${technique}: needs an input image`);
  const x = model.preprocess(image.rgba, image.width, image.height);
  try {
    return { data: await x.read(), c: x.c, h: x.h, w: x.w };
  } finally {
    x.dispose();
  }
}

export interface BatchLoop {
  total: number;
  batch: number;
  /** Make samples [start, start + count) as one (count, C, H, W) tensor (a GPU batch op: one dispatch); the loop disposes it. */
  make?(start: number, count: number): Tensor;
  /** Or fill `out` (count, C, H, W) on the CPU with them (uploaded with one write). */
  build?(start: number, count: number, out: Float32Array): void;
  /** Consume the batch. */
  use(x: Tensor, start: number, count: number): Promise<void>;
}

/** Run `loop` in batches: one GPU build (or one CPU build and one upload) per batch, progress and abort between batches. */
export async function inBatches(model: Model, shape: { c: number; h: number; w: number }, loop: BatchLoop, ctx: TechniqueContext, label: string): Promise<void> {
  if (!Number.isInteger(loop.batch) || loop.batch < 1) throw new Error(`${label}: --batch must be a positive integer, got ${loop.batch}`);
  const per = shape.c * shape.h * shape.w;
  for (let start = 0; start < loop.total; start += loop.batch) {
    throwIfAborted(ctx.signal);
    const count = Math.min(loop.batch, loop.total - start);
    let x: Tensor;
    if (loop.make) x = loop.make(start, count);
    else {
      const data = new Float32Array(count * per);
      loop.build!(start, count, data);
      x = Tensor.fromData(model.rt, data, [count, shape.c, shape.h, shape.w], `${label} batch`);
    }
    try {
      await loop.use(x, start, count);
    } finally {
      x.dispose();
    }
    ctx.onProgress?.(start + count, loop.total);
  }
}

/** The image (1, C, H, W) on the GPU; the caller disposes it. */
export function uploadImage(model: Model, x: InputImage, label: string): Tensor {
  return Tensor.fromData(model.rt, x.data, [1, x.c, x.h, x.w], label);
}

/** Forward a batch, then d score / d input for class `index`: the gradient (count, C, H, W) and the scores. */
export async function gradientBatch(model: Model, x: Tensor, index: number, score: ScoreKind): Promise<{ grad: Float32Array; scores: Float64Array }> {
  model.forward(x);
  const scores = await readScores(model, index, score);
  const g = model.backward({ kind: 'class', index, layer: scoreLayer(model, score) }, { rule: 'vanilla' });
  try {
    return { grad: await g.read(), scores };
  } finally {
    g.dispose();
  }
}

/** max over channels of |g| per pixel: (C, H, W) -> (H, W) (the saliency map of Simonyan et al.). */
export function channelMaxAbs(g: ArrayLike<number>, c: number, hw: number, offset = 0): Float32Array {
  const m = new Float32Array(hw);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) m[i] = Math.max(m[i], Math.abs(g[offset + ch * hw + i]));
  return m;
}

/** Sum over channels per pixel: (C, H, W) -> (H, W) (signed; integrated gradients' pixel attribution). */
export function channelSum(g: ArrayLike<number>, c: number, hw: number): Float32Array {
  const m = new Float32Array(hw);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) m[i] += g[ch * hw + i];
  return m;
}

/** Per-channel mean of an image (C, H, W): the occlusion patch colour. */
export function channelMeans(x: InputImage): number[] {
  const hw = x.h * x.w;
  return Array.from({ length: x.c }, (_, ch) => {
    let s = 0;
    for (let i = 0; i < hw; i++) s += x.data[ch * hw + i];
    return s / hw;
  });
}

/** The preprocessed value of a black pixel in each channel ((0 * scale - mean) / std). */
export function blackPixel(model: Model): number[] {
  const { mean, std } = model.spec.input;
  return mean.map((m, i) => -m / std[i]);
}

/** Seeded uniform numbers in [0, 1) (splitmix32). */
export function uniformStream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}
