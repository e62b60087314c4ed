// Float64 Grad-CAM of a whole network, written apart from engine/techniques/gradcam*.ts: the
// network reference (network.ts) runs forward; the gradient of the class score at layer L comes from
// the same reference run backward over the sub-network that starts at L (L must be a cut of the
// graph: every later layer reads only L or layers after it). Then alpha_c = mean dScore/dA_c,
// cam = ReLU(sum_c alpha_c A_c), and a bilinear upsampling (half-pixel centres, clamped edges)
// written as explicit 2x2 interpolation weights.

import type { ModelSpec } from '../../engine/models/spec';
import { networkBackward, networkForward, type RefWeights } from './network';
import type { ReluRule } from './relu';

export interface RefGradcam {
  /** A_L (N, C, h, w) and dScore/dA_L. */
  a: Float64Array;
  da: Float64Array;
  shape: [number, number, number, number];
  /** (N, h, w) cam and (N, H, W) upsampled. */
  cam: Float64Array;
  up: Float64Array;
  /** Per-sample class scores (the seed layer's output). */
  scores: Float64Array;
}

/** The sub-network of `spec` that starts at `layer` (its output becomes the input). */
function tail(spec: ModelSpec, layer: string, shape: [number, number, number]): ModelSpec {
  const at = spec.layers.findIndex((l) => l.name === layer);
  if (at < 0) throw new Error(`reference gradcam: no layer '${layer}'`);
  const layers = spec.layers.slice(at + 1);
  const known = new Set([layer, ...layers.map((l) => l.name)]);
  for (const l of layers) for (const i of l.inputs) if (!known.has(i)) throw new Error(`reference gradcam: '${layer}' is not a cut (${l.name} reads ${i})`);
  // The sub-network's input is the layer's activation: any channel count (the spec types it as 3).
  return { ...spec, input: { ...spec.input, name: layer, channels: shape[0] as 3, height: shape[1], width: shape[2] }, layers };
}

/** dScore/dA at `layer` for class `index` of layer `scoreAt` (the logits or the softmax), one class per sample. */
export function refGradAt(spec: ModelSpec, weights: RefWeights, input: ArrayLike<number>, n: number, layer: string, scoreAt: string, index: number, rule: ReluRule = 'vanilla') {
  const fwd = networkForward(spec, weights, input, n);
  const a = fwd.acts.get(layer)!;
  const sub = tail(spec, layer, [a.shape[1], a.shape[2], a.shape[3]]);
  const subFwd = networkForward(sub, weights, a.data, n);
  const out = subFwd.acts.get(scoreAt)!;
  const k = out.data.length / n;
  const seed = new Float64Array(out.data.length);
  for (let s = 0; s < n; s++) seed[s * k + index] = 1;
  const da = networkBackward(sub, weights, subFwd, scoreAt, seed, rule);
  return { a, da, scores: Float64Array.from({ length: n }, (_, s) => out.data[s * k + index]) };
}

/** Bilinear weights of output coordinate o on an axis of `len` samples resized to `outLen`. */
function taps(o: number, len: number, outLen: number): [number, number][] {
  let s = (o + 0.5) * len / outLen - 0.5;
  if (s < 0) s = 0;
  if (s > len - 1) s = len - 1;
  const lo = Math.floor(s);
  const hi = lo + 1 < len ? lo + 1 : lo;
  return [[lo, 1 - (s - lo)], [hi, s - lo]];
}

export function refGradcam(spec: ModelSpec, weights: RefWeights, input: ArrayLike<number>, n: number, layer: string, scoreAt: string, index: number): RefGradcam {
  const { a, da, scores } = refGradAt(spec, weights, input, n, layer, scoreAt, index);
  const [, c, h, w] = a.shape;
  const H = spec.input.height;
  const W = spec.input.width;
  const cam = new Float64Array(n * h * w);
  const up = new Float64Array(n * H * W);
  for (let s = 0; s < n; s++) {
    for (let ch = 0; ch < c; ch++) {
      let g = 0;
      for (let i = 0; i < h * w; i++) g += da[(s * c + ch) * h * w + i];
      const alpha = g / (h * w);
      for (let i = 0; i < h * w; i++) cam[s * h * w + i] += alpha * a.data[(s * c + ch) * h * w + i];
    }
    for (let i = 0; i < h * w; i++) cam[s * h * w + i] = Math.max(0, cam[s * h * w + i]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let v = 0;
        for (const [yy, wy] of taps(y, h, H)) for (const [xx, wx] of taps(x, w, W)) v += wy * wx * cam[s * h * w + yy * w + xx];
        up[(s * H + y) * W + x] = v;
      }
    }
  }
  return { a: a.data, da, shape: a.shape, cam, up, scores };
}
