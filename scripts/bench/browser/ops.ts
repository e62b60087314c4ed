// Page side: one layer of the other families (pooling, LRN, ReLU, softmax, concat) at its real
// shape, forward or backward, on our engine (engine/ops) and on TF.js (the same op, NHWC; its
// backward through tf.grad with the same upstream gradient). Concat's backward is zero-copy
// channel views in our engine (no kernel), so only its forward is timed.

import type * as TF from '@tensorflow/tfjs-core';
import { concat } from '../../../engine/ops/concat';
import { lrn, lrnBackward } from '../../../engine/ops/lrn';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward, type Pool2dParams } from '../../../engine/ops/pool';
import { relu, reluBackward } from '../../../engine/ops/relu';
import { softmax, softmaxBackward } from '../../../engine/ops/softmax';
import type { Runtime } from '../../../engine/runtime';
import { Tensor } from '../../../engine/tensor';
import { randomArray } from '../../lib/random';
import { nchwToNhwc } from '../data';
import type { Direction } from '../layers';
import { tfSync, type Tf } from '../tfjs';
import type { Timed } from '../timing';
import type { Chw, OpCase } from './types';

export type Runner = Timed & { dispose(): void };

const NEG = -3.0e38;
const size = ([c, h, w]: Chw): number => c * h * w;

export function opShapeText(o: OpCase): string {
  const s = (x: Chw) => `(1, ${x.join(', ')})`;
  const k = o.kernel ? ` ${o.kernel[0]}x${o.kernel[1]}/${o.stride![0]} p${o.pad!.join(',')}${o.ceil ? ' ceil' : ''}` : '';
  const n = o.lrn ? ` size ${o.lrn.size}` : '';
  return `${o.inputs.map(s).join(' + ')}${k}${n} -> ${s(o.output)}`;
}

/** Elements read + written once each, as float32 bytes. Backward reads x (or y) and dy, writes dx. */
export function opBytes(o: OpCase, dir: Direction): number {
  const ins = o.inputs.reduce((a, x) => a + size(x), 0);
  return 4 * (dir === 'forward' ? ins + size(o.output) : 2 * ins + size(o.output));
}

/** Rough arithmetic: one op per output (per window element for pooling, per window channel for LRN). */
export function opFlops(o: OpCase): number {
  const out = size(o.output);
  if (o.kernel) return out * o.kernel[0] * o.kernel[1];
  if (o.lrn) return out * (o.lrn.size * 2 + 4);
  return o.family === 'softmax' ? out * 4 : out;
}

export const opDirections = (o: OpCase): Direction[] => (o.family === 'concat' ? ['forward'] : ['forward', 'backward']);

const poolParams = (o: OpCase): Pool2dParams => ({ kernel: o.kernel!, stride: o.stride!, pad: o.pad!, ceil: o.ceil!, countIncludePad: o.countIncludePad });

export function ourOp(rt: Runtime, o: OpCase, dir: Direction): Runner {
  const owned: Tensor[] = [];
  const up = (shape: Chw, seed: number, label: string): Tensor => {
    const t = Tensor.fromData(rt, randomArray(size(shape), seed), [1, ...shape], `bench.${label}`);
    owned.push(t);
    return t;
  };
  const xs = o.inputs.map((s, i) => up(s, 11 + i, `x${i}`));
  const x = xs[0];
  const xShape = [1, ...o.inputs[0]] as [number, number, number, number];
  let op: () => Tensor;
  let cleanup = (): void => {};
  if (dir === 'forward') {
    switch (o.family) {
      case 'maxpool': op = () => { const r = maxPool2d(x, poolParams(o)); r.argmax.dispose(); return r.y; }; break;
      case 'avgpool': op = () => avgPool2d(x, poolParams(o)); break;
      case 'lrn': op = () => lrn(x, o.lrn!); break;
      case 'relu': op = () => relu(x); break;
      case 'softmax': op = () => softmax(x); break;
      case 'concat': op = () => concat(xs); break;
    }
  } else {
    const dy = up(o.output, 21, 'dy');
    switch (o.family) {
      case 'maxpool': {
        const { y, argmax } = maxPool2d(x, poolParams(o));
        owned.push(y, argmax);
        op = () => maxPool2dBackward(dy, argmax, xShape, poolParams(o));
        break;
      }
      case 'avgpool': op = () => avgPool2dBackward(dy, xShape, poolParams(o)); break;
      case 'lrn': {
        const y = lrn(x, o.lrn!);
        owned.push(y);
        op = () => lrnBackward(x, y, dy, o.lrn!);
        break;
      }
      case 'relu': op = () => reluBackward(x, dy); break;
      case 'softmax': {
        const y = softmax(x);
        owned.push(y);
        op = () => softmaxBackward(y, dy);
        break;
      }
      case 'concat': throw new Error('concat: the backward is channel views, there is no kernel to time');
    }
  }
  let last: Tensor | null = null;
  cleanup = () => {
    last?.dispose();
    last = null;
    for (const t of owned) t.dispose();
  };
  return {
    run() {
      const y = op();
      last?.dispose();
      last = y;
    },
    sync: () => rt.sync(),
    dispose: cleanup,
  };
}

function tfForward(tf: Tf, o: OpCase): (xs: TF.Tensor4D[]) => TF.Tensor {
  const [, h, w] = o.inputs[0];
  switch (o.family) {
    case 'maxpool':
    case 'avgpool': {
      // Caffe's ceil mode: pad bottom / right past the input (with -inf for max), as tf_network.ts does.
      const [, oh, ow] = o.output;
      const [kh, kw] = o.kernel!;
      const [sh, sw] = o.stride!;
      const [pt, pb, pl, pr] = o.pad!;
      const extraH = Math.max(0, (oh - 1) * sh + kh - (h + pt + pb));
      const extraW = Math.max(0, (ow - 1) * sw + kw - (w + pl + pr));
      const padding: [number, number][] = [[0, 0], [pt, pb + extraH], [pl, pr + extraW], [0, 0]];
      const padded = padding.some(([a, b]) => a || b);
      if (o.family === 'maxpool') return ([x]) => tf.maxPool(padded ? tf.pad(x, padding, NEG) : x, o.kernel!, o.stride!, 'valid');
      return ([x]) => tf.avgPool(padded ? tf.pad(x, padding) : x, o.kernel!, o.stride!, 'valid');
    }
    case 'lrn': {
      const p = o.lrn!;
      return ([x]) => tf.localResponseNormalization(x, (p.size - 1) / 2, p.k, p.alpha / p.size, p.beta);
    }
    case 'relu': return ([x]) => tf.relu(x);
    case 'softmax': return ([x]) => tf.softmax(tf.reshape(x, [1, size(o.inputs[0])]));
    case 'concat': return (xs) => tf.concat(xs, 3);
  }
}

export function tfOp(tf: Tf, o: OpCase, dir: Direction): Runner {
  const nhwc = ([c, h, w]: Chw): [number, number, number, number] => [1, h, w, c];
  const xs = o.inputs.map((s, i) => tf.tensor4d(nchwToNhwc(randomArray(size(s), 11 + i), [1, ...s]), nhwc(s)));
  const f = tfForward(tf, o);
  const dyShape = o.family === 'softmax' ? [1, size(o.output)] : nhwc(o.output);
  const dy = tf.tensor(randomArray(size(o.output), 21), dyShape);
  const grad = tf.grad((x: TF.Tensor) => f([x as TF.Tensor4D]));
  let last: TF.Tensor | null = null;
  return {
    run() {
      const y = tf.tidy(() => (dir === 'forward' ? f(xs) : grad(xs[0], dy)));
      last?.dispose();
      last = y;
    },
    sync: () => tfSync(tf),
    dispose() {
      last?.dispose();
      for (const t of [...xs, dy]) t.dispose();
    },
  };
}
