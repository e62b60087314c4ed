// A whole-network row's inputs and runners, shared by `npm run bench -- --networks`
// (network_bench.ts, in Node) and the browser benchmark page (browser/page.ts): a seeded batch
// on both engines with one class per sample, and per pass (forward, or forward + backward to
// the image from those class scores) a runner for our engine and one for TF.js's network
// (tf_network.ts), and our pass recorded once with rt.capture and replayed (the prepared-graph
// counterpart of ORT's session.run), checked against the ordinary pass. No Node modules here: the
// page bundles this file.

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

/**
 * Record our pass on the batch: the forward (keeping only what the output needs), or the forward
 * and the backward to the image from the batch's class scores. Returns the pass's output: the
 * model's logits activation (the model's), or the input gradient (the caller's to dispose).
 */
function recordPass(model: Model, b: NetworkBatch, pass: Pass): Tensor {
  if (pass === 'forward') {
    model.forward(b.input, { keep: false });
    return model.activation(model.spec.logits);
  }
  model.forward(b.input);
  return model.backward({ kind: 'class', index: b.classes });
}

export function ourNetworkRunner(model: Model, b: NetworkBatch, pass: Pass): NetworkRunner {
  return {
    run() {
      const out = recordPass(model, b, pass);
      if (pass !== 'forward') out.dispose();
    },
    sync: () => model.rt.sync(),
    dispose() {},
  };
}

/** A replayed pass: its output (the logits, or the input gradient) holds the latest replay's values. */
export type ReplayedRunner = NetworkRunner & { output: Tensor; dispatches: number };

/**
 * Our pass (the same as ourNetworkRunner's) recorded once with rt.capture, here, outside any
 * timed region; run() is capture.replay() and sync() the runtime's, as for the ordinary pass.
 * `output` is the forward's logits or the forward + backward's gradient at the input, with the
 * latest replay's values (read them before another pass of this model replaces its activations);
 * dispose() frees the capture.
 */
export function ourReplayedPass(model: Model, b: NetworkBatch, pass: Pass): ReplayedRunner {
  const cap = model.rt.capture(() => recordPass(model, b, pass), `bench ${model.spec.name} ${pass}`);
  return {
    output: cap.result,
    dispatches: cap.dispatches,
    run: () => cap.replay(),
    sync: () => model.rt.sync(),
    dispose: () => cap.dispose(),
  };
}

/**
 * The check before a replayed pass is timed: the ordinary pass's output (logits or input
 * gradient), then the same pass recorded and replayed once, and max |replayed - ordinary| over
 * it (0: bit-identical). Returns the replayed runner (the caller disposes it) and the difference;
 * throws where the two outputs differ in size or the pass cannot be recorded.
 */
export async function checkedReplay(model: Model, b: NetworkBatch, pass: Pass): Promise<{ runner: ReplayedRunner; maxAbsDiff: number }> {
  const out = recordPass(model, b, pass);
  let plain: Float32Array;
  try {
    plain = await out.read();
  } finally {
    if (pass !== 'forward') out.dispose();
  }
  const runner = ourReplayedPass(model, b, pass);
  try {
    runner.run();
    const got = await runner.output.read();
    const what = pass === 'forward' ? 'logits' : 'input gradient';
    if (got.length !== plain.length) throw new Error(`the replayed ${what} has ${got.length} values, the ordinary pass's ${plain.length}`);
    let maxAbsDiff = 0;
    for (let i = 0; i < got.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i] - plain[i]));
    return { runner, maxAbsDiff };
  } catch (e) {
    runner.dispose();
    throw e;
  }
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
