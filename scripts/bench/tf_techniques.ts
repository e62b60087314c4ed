// The attribution techniques and the gallery computations written with TF.js's WebGPU backend
// over the TF.js network of tf_network.ts (NHWC, same weights), for `npm run bench -- --techniques`.
// Each one is the technique as a TF.js user would write it: tf.grad over the network, the maps
// reduced on the GPU, ending with one read of the result to the CPU (occlusion reads the class
// probabilities once per batch, as ours does).
//
//   saliency     max_c |d logit / d x|                        tf.grad, tf.max(tf.abs(g), channel)
//   guided       guided backprop                               tf.customGrad on every ReLU: dx = dy [y > 0] [dy > 0]
//   gradcam      ReLU(sum_c mean_yx(dS/dA_c) A_c), upsampled   a zero probe added at the layer, tf.grad w.r.t. it
//   occlusion    p(class) with each window at the mean colour  masks built once (untimed), batches of 16
//   smoothgrad   max_c |mean_k d logit / d x (x + eps_k)|       tf.randomNormal noise, one batch of n
//   ig           (x - x') mean_k d logit / d x (x' + a_k (x - x'))   midpoint rule, batches of 16
//
// Gallery: features (forward to a layer, read), pairwise L2 distances + tf.topk, and one t-SNE
// step (tsne.py's update, as shaders/tsne.wgsl).

import type * as TF from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../engine/models/spec';
import type { TfNetwork } from './tf_network';
import type { Tf } from './tfjs';

/** A TF.js network at one input size, with what the techniques need to know about it. */
export interface TfModel {
  tf: Tf;
  net: TfNetwork;
  spec: ModelSpec;
  /** The ReLU layers (guided backprop replaces them). */
  relus: Set<string>;
}

export function tfModel(tf: Tf, net: TfNetwork, spec: ModelSpec): TfModel {
  return { tf, net, spec, relus: new Set(spec.layers.filter((l) => l.type === 'relu').map((l) => l.name)) };
}

/** Sum over samples of logit `index`: (N, H, W, C) -> scalar. */
function classScore(m: TfModel, x: TF.Tensor4D, index: number, tap?: (name: string, y: TF.Tensor4D) => TF.Tensor4D): TF.Scalar {
  const { tf } = m;
  const k = m.spec.labels.length;
  const logits = tf.reshape(m.net.run(x, m.spec.logits, tap), [x.shape[0], k]);
  return tf.sum(tf.slice(logits, [0, index], [-1, 1]));
}

const channelMaxAbs = (tf: Tf, g: TF.Tensor): TF.Tensor => tf.max(tf.abs(g), -1);

export async function tfSaliency(m: TfModel, x: TF.Tensor4D, index: number): Promise<Float32Array> {
  const { tf } = m;
  const grad = tf.grad((xi) => classScore(m, xi as TF.Tensor4D, index));
  const map = tf.tidy(() => channelMaxAbs(tf, grad(x)));
  return readAndDispose(map);
}

export async function tfGuided(m: TfModel, x: TF.Tensor4D, index: number): Promise<Float32Array> {
  const { tf } = m;
  const relu = (t: TF.Tensor, save: TF.GradSaveFunc) => {
    const y = tf.relu(t);
    save([y]);
    return { value: y, gradFunc: (dy: TF.Tensor, [saved]: TF.Tensor[]) => tf.mul(dy, tf.mul(tf.step(saved), tf.step(dy))) };
  };
  const guidedRelu = tf.customGrad(relu as unknown as Parameters<Tf['customGrad']>[0]) as (t: TF.Tensor) => TF.Tensor4D;
  const grad = tf.grad((xi) => classScore(m, xi as TF.Tensor4D, index, (name, y) => (m.relus.has(name) ? guidedRelu(y) : y)));
  return readAndDispose(tf.tidy(() => grad(x)));
}

/** Grad-CAM at `layer`: the CAM at the layer (h, w) and upsampled to the input (H, W). */
export async function tfGradCam(m: TfModel, x: TF.Tensor4D, index: number, layer: string): Promise<{ cam: Float32Array; map: Float32Array }> {
  const { tf } = m;
  const act = tf.tidy(() => m.net.run(x, layer));
  const probe = tf.zerosLike(act);
  // d score / d probe, probe added at the layer's output, is d score / dA.
  const grad = tf.grad((z) => classScore(m, x, index, (name, y) => (name === layer ? tf.add(y, z) : y)));
  const [cam, map] = tf.tidy(() => {
    const dA = grad(probe);
    const alpha = tf.mean(dA, [1, 2], true);
    const c = tf.relu(tf.sum(tf.mul(act, alpha), -1, true)) as TF.Tensor4D;
    return [c, tf.image.resizeBilinear(c, [x.shape[1], x.shape[2]], false, true)];
  });
  act.dispose();
  probe.dispose();
  return { cam: await readAndDispose(cam), map: await readAndDispose(map) };
}

/** Occluded copies of x (1, H, W, C): window 0 occludes nothing; masks are 0 inside a window. */
export interface TfOcclusion {
  masks: TF.Tensor4D[];
  fill: TF.Tensor;
  dispose(): void;
}

export function tfOcclusionMasks(tf: Tf, h: number, w: number, windows: readonly { y: number; x: number; size: number }[], batch: number, means: readonly number[]): TfOcclusion {
  const masks: TF.Tensor4D[] = [];
  for (let start = 0; start < windows.length; start += batch) {
    const part = windows.slice(start, start + batch);
    const data = new Float32Array(part.length * h * w).fill(1);
    part.forEach((win, s) => {
      for (let y = win.y; y < Math.min(h, win.y + win.size); y++) data.fill(0, (s * h + y) * w + win.x, (s * h + y) * w + Math.min(w, win.x + win.size));
    });
    masks.push(tf.tensor4d(data, [part.length, h, w, 1]));
  }
  const fill = tf.tensor4d(Float32Array.from(means), [1, 1, 1, means.length]);
  return { masks, fill, dispose: () => [...masks, fill].forEach((t) => t.dispose()) };
}

/** The class probability with each window occluded, in window order. */
export async function tfOcclusion(m: TfModel, x: TF.Tensor4D, index: number, occ: TfOcclusion): Promise<Float32Array> {
  const { tf } = m;
  const k = m.spec.labels.length;
  const out: number[] = [];
  for (const mask of occ.masks) {
    const p = tf.tidy(() => {
      const xb = tf.add(tf.mul(x, mask), tf.mul(occ.fill, tf.sub(1, mask))) as TF.Tensor4D;
      return tf.slice(tf.softmax(tf.reshape(m.net.run(xb, m.spec.logits), [mask.shape[0], k])), [0, index], [-1, 1]);
    });
    out.push(...(await readAndDispose(p)));
  }
  return Float32Array.from(out);
}

/** SmoothGrad's map: n noisy copies in one batch, noise N(0, sigma^2) (sigma in input units). */
export async function tfSmoothGrad(m: TfModel, x: TF.Tensor4D, index: number, n: number, sigma: number, seed: number): Promise<Float32Array> {
  const { tf } = m;
  const [, h, w, c] = x.shape;
  const grad = tf.grad((xi) => classScore(m, xi as TF.Tensor4D, index));
  return readAndDispose(tf.tidy(() => {
    const xb = tf.add(x, tf.randomNormal([n, h, w, c], 0, sigma, 'float32', seed)) as TF.Tensor4D;
    return channelMaxAbs(tf, tf.mean(grad(xb), 0));
  }));
}

/** Integrated gradients (H, W, C) with the midpoint rule over `steps` points, `batch` at a time. */
export async function tfIntegratedGradients(m: TfModel, x: TF.Tensor4D, base: TF.Tensor4D, index: number, steps: number, batch: number): Promise<Float32Array> {
  const { tf } = m;
  const grad = tf.grad((xi) => classScore(m, xi as TF.Tensor4D, index));
  let acc: TF.Tensor = tf.zerosLike(x);
  for (let start = 0; start < steps; start += batch) {
    const count = Math.min(batch, steps - start);
    const alphas = Float32Array.from({ length: count }, (_, k) => (start + k + 0.5) / steps);
    const next = tf.tidy(() => {
      const a = tf.tensor4d(alphas, [count, 1, 1, 1]);
      const xb = tf.add(base, tf.mul(a, tf.sub(x, base))) as TF.Tensor4D;
      return tf.add(acc, tf.sum(grad(xb), 0, true));
    });
    acc.dispose();
    acc = next;
  }
  const attr = tf.tidy(() => tf.mul(tf.sub(x, base), tf.div(acc, steps)));
  acc.dispose();
  return readAndDispose(attr);
}

// ---- gallery ------------------------------------------------------------------------------------

/** A batch's features at `layer` (NHWC order), read back. */
export async function tfFeatures(m: TfModel, x: TF.Tensor4D, layer: string): Promise<Float32Array> {
  return readAndDispose(m.tf.tidy(() => m.net.run(x, layer)));
}

/** Euclidean distances between the rows of a (N, D) and the k nearest of each row (itself included). */
export async function tfNearest(tf: Tf, a: TF.Tensor2D, k: number): Promise<{ indices: Int32Array; distances: Float32Array }> {
  const { values, indices } = tf.tidy(() => {
    const sq = tf.sum(tf.square(a), 1, true);
    const d2 = tf.relu(tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(2, tf.matMul(a, a, false, true))));
    const t = tf.topk(tf.neg(tf.sqrt(d2)), k);
    return { values: tf.neg(t.values), indices: t.indices };
  });
  return { indices: (await readAndDispose(indices)) as unknown as Int32Array, distances: await readAndDispose(values) };
}

/** t-SNE state as TF.js variables: points y (N, 2), P (N, N), gains, momentum buffer. */
export interface TfTsne {
  y: TF.Variable;
  gains: TF.Variable;
  iy: TF.Variable;
  p: TF.Tensor2D;
  offDiagonal: TF.Tensor2D;
  dispose(): void;
}

export function tfTsneState(tf: Tf, p: Float32Array, y0: Float32Array): TfTsne {
  const n = y0.length / 2;
  const s: TfTsne = {
    y: tf.variable(tf.tensor2d(y0, [n, 2])),
    gains: tf.variable(tf.ones([n, 2])),
    iy: tf.variable(tf.zeros([n, 2])),
    p: tf.tensor2d(p, [n, n]),
    offDiagonal: tf.tidy(() => tf.sub(1, tf.eye(n)) as TF.Tensor2D),
    dispose: () => [s.y, s.gains, s.iy, s.p, s.offDiagonal].forEach((t) => t.dispose()),
  };
  return s;
}

/** One step: tsne.py's gradient (without the paper's 4), gains, momentum, re-centring. */
export function tfTsneStep(tf: Tf, s: TfTsne, o: { exaggeration: number; momentum: number; eta: number; minGain: number }): void {
  tf.tidy(() => {
    const { y } = s;
    // Differences (N, N, 2) taken directly, as the kernel does (|a|^2 + |b|^2 - 2ab loses the digits).
    const diff = tf.sub(tf.expandDims(y, 1), tf.expandDims(y, 0));
    const num = tf.mul(tf.div(1, tf.add(1, tf.sum(tf.square(diff), 2))), s.offDiagonal);
    const q = tf.div(num, tf.sum(num));
    const pq = tf.mul(tf.sub(tf.mul(s.p, o.exaggeration), q), num);
    const dy = tf.sum(tf.mul(tf.expandDims(pq, 2), diff), 1);
    const differ = tf.notEqual(tf.greater(dy, 0), tf.greater(s.iy, 0));
    const gains = tf.maximum(tf.where(differ, tf.add(s.gains, 0.2), tf.mul(s.gains, 0.8)), o.minGain);
    const iy = tf.sub(tf.mul(s.iy, o.momentum), tf.mul(tf.mul(gains, dy), o.eta));
    const next = tf.add(y, iy);
    s.gains.assign(gains);
    s.iy.assign(iy);
    s.y.assign(tf.sub(next, tf.mean(next, 0, true)));
  });
}

async function readAndDispose(t: TF.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}
