// A whole-network row's inputs and runners, shared by `npm run bench -- --networks`
// (network_bench.ts, in Node) and the browser benchmark page (browser/page.ts): a seeded batch
// on both engines with one class per sample, and per pass (forward, or forward + backward to
// the image from those class scores) a runner for our engine and one for TF.js's network
// (tf_network.ts), and our forward recorded once with rt.capture and replayed (the prepared-graph
// counterpart of ORT's session.run). No Node modules here: the page bundles this file.

import type * as TF from '@tensorflow/tfjs-core';
import type { Model } from '../../engine/index';
import { Tensor } from '../../engine/tensor';
import { randomArray } from '../lib/random';
import { nchwToNhwc } from './data';
import type { TfNetwork } from './tf_network';
import { tfSync, type Tf } from './tfjs';
import type { Timed } from './timing';

export type Pass = 'forward' | 'forward+backward';
export const PASSES: Pass[] = ['forward', 'forward+backward'];

export type NetworkRunner = Timed & { dispose(): void };

/** Batch `n` of seeded inputs (N, C, H, W) for our engine, NHWC for TF.js, and the class of each sample. */
export interface NetworkBatch {
  shape: number[];
  classes: number[];
  input: Tensor;
  /** TF.js's copy, and the classes one-hot (N, K); absent without TF.js. */
  x?: TF.Tensor4D;
  onehot?: TF.Tensor;
  dispose(): void;
}

export function networkBatch(model: Model, tf: Tf | null | undefined, n: number): NetworkBatch {
  const { spec } = model;
  const { channels, height, width } = spec.input;
  const shape = [n, channels, height, width];
  const data = randomArray(n * channels * height * width, 17, 50);
  const classes = Array.from({ length: n }, (_, i) => (i * 97 + 1) % spec.labels.length);
  const input = Tensor.fromData(model.rt, data, shape, 'bench input');
  const x = tf?.tensor4d(nchwToNhwc(data, shape), [n, height, width, channels]);
  const onehot = tf?.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(classes, 'int32'), spec.labels.length), 'float32'));
  return {
    shape, classes, input, x, onehot,
    dispose() {
      input.dispose();
      x?.dispose();
      onehot?.dispose();
    },
  };
}

export function ourNetworkRunner(model: Model, b: NetworkBatch, pass: Pass): NetworkRunner {
  return {
    run() {
      if (pass === 'forward') {
        model.forward(b.input, { keep: false });
      } else {
        model.forward(b.input);
        model.backward({ kind: 'class', index: b.classes }).dispose();
      }
    },
    sync: () => model.rt.sync(),
    dispose() {},
  };
}

/**
 * Our forward (the same pass as ourNetworkRunner's) recorded once with rt.capture, here, outside
 * any timed region; run() is capture.replay() and sync() the runtime's, as for the ordinary
 * forward. `logits` hold the latest replay's values (read them before another forward of this
 * model replaces its activations); dispose() frees the capture.
 */
export function ourReplayedForward(model: Model, b: NetworkBatch): NetworkRunner & { logits: Tensor; dispatches: number } {
  const cap = model.rt.capture(() => {
    model.forward(b.input, { keep: false });
    return model.activation(model.spec.logits);
  }, `bench ${model.spec.name} forward`);
  return {
    logits: cap.result,
    dispatches: cap.dispatches,
    run: () => cap.replay(),
    sync: () => model.rt.sync(),
    dispose: () => cap.dispose(),
  };
}

/** TF.js's side; needs the batch's TF.js copy (networkBatch with tf). */
export function tfNetworkRunner(tf: Tf, net: TfNetwork, b: NetworkBatch, pass: Pass): NetworkRunner {
  const { x, onehot } = b;
  if (!x || !onehot) throw new Error('tfNetworkRunner: the batch was made without TF.js');
  const grad = tf.grad((xi: TF.Tensor) => tf.sum(tf.mul(tf.reshape(net.logits(xi as TF.Tensor4D), onehot.shape), onehot)));
  let last: TF.Tensor | null = null;
  return {
    run() {
      const y = tf.tidy(() => (pass === 'forward' ? net.forward(x) : grad(x)));
      last?.dispose();
      last = y;
    },
    sync: () => tfSync(tf),
    dispose() {
      last?.dispose();
    },
  };
}
