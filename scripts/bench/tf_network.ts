// A whole ModelSpec network built from TF.js ops with the same weights (safetensors), NHWC, for
// the --networks comparison. Weights are converted once (OIHW -> HWIO, split per group).
//   conv      tf.fused.conv2d (+bias, ReLU fused when the ReLU is its only consumer); groups as
//             one conv per group + concat
//   linear    tf.fused.matMul(x, W^T) + bias (+ReLU); its input flattened in NCHW order
//   maxpool   Caffe ceil mode by padding bottom/right with a large negative value, then valid
//   avgpool   zero padding counted in the divisor (Caffe, PyTorch default); no ceil overhang
//   lrn       tf.localResponseNormalization, depthRadius (size-1)/2, alpha per element alpha/size
//   globalavgpool / adaptiveavgpool (evenly dividing) / concat / dropout (identity) / softmax

import type * as TF from '@tensorflow/tfjs-core';
import { inferShapes, validateSpec, type Chw } from '../../engine/models/load';
import { parseSafetensors, readTensorF32 } from '../../engine/models/safetensors';
import type { LayerSpec, ModelSpec } from '../../engine/models/spec';
import type { Tf } from './tfjs';

const NEG = -3.0e38;

export interface TfNetwork {
  /** (N, H, W, 3) -> the spec's last layer output, as TF.js computes it (call inside tf.tidy). */
  forward(x: TF.Tensor4D): TF.Tensor;
  /** The logits layer's output for the last forward. */
  logits(x: TF.Tensor4D): TF.Tensor;
  /** Up to layer `until`; `tap(name, y)` may replace each layer's output (probes, custom gradients). */
  run(x: TF.Tensor4D, until: string, tap?: (name: string, y: TF.Tensor4D) => TF.Tensor4D): TF.Tensor4D;
  dispose(): void;
}

type Weights = { w: TF.Tensor[]; b: (TF.Tensor | null)[] };

export function buildTfNetwork(tf: Tf, spec: ModelSpec, weightBytes: Uint8Array, file: string): TfNetwork {
  const order = validateSpec(spec, file);
  const shapes = inferShapes(spec, order, file);
  const st = parseSafetensors(weightBytes, file);
  const consumers = new Map<string, number>();
  for (const l of order) for (const i of l.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const reluOnly = (name: string) => consumers.get(name) === 1 && order.some((l) => l.type === 'relu' && l.inputs[0] === name);

  const weights = new Map<string, Weights>();
  const all: TF.Tensor[] = [];
  const keep = <T extends TF.Tensor>(t: T): T => (all.push(t), t);
  for (const l of order) {
    if (l.type === 'conv') {
      const [kh, kw] = l.kernel;
      const g = l.groups;
      const ci = l.inChannels / g;
      const co = l.outChannels / g;
      const src = readTensorF32(st, `${l.name}.weight`);
      const bias = l.bias ? readTensorF32(st, `${l.name}.bias`) : null;
      const ws: TF.Tensor[] = [];
      const bs: (TF.Tensor | null)[] = [];
      for (let grp = 0; grp < g; grp++) {
        const hwio = new Float32Array(kh * kw * ci * co);
        for (let o = 0; o < co; o++) for (let i = 0; i < ci; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
          hwio[((y * kw + x) * ci + i) * co + o] = src[((((grp * co + o) * ci + i) * kh + y) * kw) + x];
        }
        ws.push(keep(tf.tensor4d(hwio, [kh, kw, ci, co])));
        bs.push(bias ? keep(tf.tensor1d(bias.subarray(grp * co, (grp + 1) * co))) : null);
      }
      weights.set(l.name, { w: ws, b: bs });
    } else if (l.type === 'linear') {
      const w = keep(tf.tensor2d(readTensorF32(st, `${l.name}.weight`), [l.outFeatures, l.inFeatures]));
      weights.set(l.name, { w: [w], b: [l.bias ? keep(tf.tensor1d(readTensorF32(st, `${l.name}.bias`))) : null] });
    }
  }

  const shapeOf = (name: string): Chw => shapes.get(name)!;

  function layer(l: LayerSpec, ins: TF.Tensor4D[], fuse: boolean): TF.Tensor4D {
    const x = ins[0];
    const [c, h, w] = shapeOf(l.inputs[0]);
    const activation = fuse ? 'relu' : 'linear';
    switch (l.type) {
      case 'conv': {
        const { w: ws, b: bs } = weights.get(l.name)!;
        const xs = l.groups === 1 ? [x] : (tf.split(x, l.groups, 3) as TF.Tensor4D[]);
        const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [l.pad[0], l.pad[1]], [l.pad[2], l.pad[3]], [0, 0]];
        const ys = xs.map((xg, i) => tf.fused.conv2d({ x: xg, filter: ws[i] as TF.Tensor4D, strides: l.stride, pad, bias: bs[i] ?? undefined, activation }) as TF.Tensor4D);
        return ys.length === 1 ? ys[0] : tf.concat(ys, 3);
      }
      case 'linear': {
        const { w: [wt], b: [b] } = weights.get(l.name)!;
        // The spec flattens NCHW: go back to channel-major order first.
        const flat = tf.reshape(h * w > 1 ? tf.transpose(x, [0, 3, 1, 2]) : x, [x.shape[0], c * h * w]) as TF.Tensor2D;
        const y = tf.fused.matMul({ a: flat, b: wt as TF.Tensor2D, transposeB: true, bias: b ?? undefined, activation });
        return tf.reshape(y, [x.shape[0], 1, 1, l.outFeatures]);
      }
      case 'relu': return tf.relu(x);
      case 'maxpool':
      case 'avgpool': {
        const [, oh, ow] = shapeOf(l.name);
        const extraH = (oh - 1) * l.stride[0] + l.kernel[0] - (h + l.pad[0] + l.pad[1]);
        const extraW = (ow - 1) * l.stride[1] + l.kernel[1] - (w + l.pad[2] + l.pad[3]);
        const padding: [number, number][] = [[0, 0], [l.pad[0], l.pad[1] + Math.max(0, extraH)], [l.pad[2], l.pad[3] + Math.max(0, extraW)], [0, 0]];
        const padded = padding.some(([a, b]) => a || b);
        if (l.type === 'maxpool') return tf.maxPool(padded ? tf.pad(x, padding, NEG) : x, l.kernel, l.stride, 'valid');
        if (extraH > 0 || extraW > 0 || l.countIncludePad === false) throw new Error(`${l.name}: avgpool with ceil overhang or countIncludePad false is not built for TF.js`);
        return tf.avgPool(padded ? tf.pad(x, padding) : x, l.kernel, l.stride, 'valid');
      }
      case 'globalavgpool': return tf.mean(x, [1, 2], true);
      case 'adaptiveavgpool': {
        const [oh, ow] = l.output;
        if (h % oh || w % ow) throw new Error(`${l.name}: adaptive pooling ${h}x${w} -> ${oh}x${ow} does not divide evenly`);
        return oh === h && ow === w ? x : tf.avgPool(x, [h / oh, w / ow], [h / oh, w / ow], 'valid');
      }
      case 'lrn': return tf.localResponseNormalization(x, (l.size - 1) / 2, l.k, l.alpha / l.size, l.beta);
      case 'concat': return tf.concat(ins, 3);
      case 'dropout': return x;
      case 'flatten': return tf.reshape(h * w > 1 ? tf.transpose(x, [0, 3, 1, 2]) : x, [x.shape[0], 1, 1, c * h * w]);
      case 'softmax': return tf.reshape(tf.softmax(tf.reshape(x, [x.shape[0], c * h * w])), x.shape);
    }
  }

  function run(x: TF.Tensor4D, until: string, tap?: (name: string, y: TF.Tensor4D) => TF.Tensor4D): TF.Tensor4D {
    const acts = new Map<string, TF.Tensor4D>([[spec.input.name, x]]);
    for (const l of order) {
      // A ReLU folded into the conv / linear before it just names that output.
      const y = l.type === 'relu' && weights.has(l.inputs[0]) && reluOnly(l.inputs[0])
        ? acts.get(l.inputs[0])!
        : layer(l, l.inputs.map((i) => acts.get(i)!), (l.type === 'conv' || l.type === 'linear') && reluOnly(l.name));
      acts.set(l.name, tap ? tap(l.name, y) : y);
      if (l.name === until) break;
    }
    return acts.get(until)!;
  }

  return {
    forward: (x) => run(x, order[order.length - 1].name),
    logits: (x) => run(x, spec.logits),
    run,
    dispose: () => all.forEach((t) => t.dispose()),
  };
}
