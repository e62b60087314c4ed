// The gallery rows of `npm run bench -- --techniques` (issue 9), ours and TF.js (tf_techniques.ts):
//   features    a batch of 8 (seeded random inputs, already preprocessed: decoding is not timed)
//               forward to the gallery's default feature layer (defaultFeatureLayer), read back
//   nearest     the 1000 x 1000 Euclidean distance matrix of 1000 feature rows and the top 10 of
//               each row: pairwise() + nearestRows() (neighbors.ts) vs matMul + tf.topk, read back
//   t-SNE       one gradient step on 1000 points (ops/tsne.ts tsneStep vs tsne.py's step in TF.js)
// Each case is a pair of async functions that end with the result on the CPU (t-SNE: the points
// after a batch of steps).

import type { Model } from '../../engine/index';
import { pairwise } from '../../engine/ops/pairwise';
import { tsneState, tsneStep } from '../../engine/ops/tsne';
import { defaultFeatureLayer } from '../../engine/techniques/gallery';
import { nearestRows } from '../../engine/techniques/neighbors';
import { tsneInit, tsneSchedule } from '../../engine/techniques/tsne';
import type { Runtime } from '../../engine/runtime';
import { Tensor } from '../../engine/tensor';
import { randomArray } from '../lib/random';
import { nchwToNhwc } from './data';
import { tfFeatures, tfNearest, tfTsneState, tfTsneStep, type TfModel } from './tf_techniques';
import type { Tf } from './tfjs';

export const GALLERY = { batch: 8, points: 1000, k: 10, tsneSteps: 10 };

export interface PairedCase {
  ours(): Promise<unknown>;
  tfjs: (() => Promise<unknown>) | null;
  dispose(): void;
}

/** Forward a batch of 8 to the feature layer and read the features. */
export function featureCase(model: Model, tfm: TfModel | null, h: number, w: number): PairedCase & { layer: string } {
  const layer = defaultFeatureLayer(model);
  const shape = [GALLERY.batch, 3, h, w];
  const data = randomArray(GALLERY.batch * 3 * h * w, 41);
  const x = Tensor.fromData(model.rt, data, shape, 'bench gallery batch');
  const tx = tfm?.tf.tensor4d(nchwToNhwc(data, shape), [GALLERY.batch, h, w, 3]);
  return {
    layer,
    ours: () => model.forward(x, { until: layer, keep: false }).read(),
    tfjs: tfm && tx ? () => tfFeatures(tfm, tx, layer) : null,
    dispose() {
      x.dispose();
      tx?.dispose();
    },
  };
}

/** Distances between `points` rows of `dim` features and each row's 10 nearest. */
export function nearestCase(rt: Runtime, tf: Tf | null, dim: number, n = GALLERY.points): PairedCase {
  const data = randomArray(n * dim, 43);
  const a = Tensor.fromData(rt, data, [n, dim, 1, 1], 'bench gallery features');
  const ta = tf?.tensor2d(data, [n, dim]);
  return {
    async ours() {
      const d = pairwise(a, a, 'l2');
      try {
        return await nearestRows(rt, d, GALLERY.k);
      } finally {
        d.dispose();
      }
    },
    tfjs: tf && ta ? () => tfNearest(tf, ta, GALLERY.k) : null,
    dispose() {
      a.dispose();
      ta?.dispose();
    },
  };
}

/** A symmetric P with unit sum over `n` points (what jointProbabilities gives, made up). */
function jointP(n: number): Float32Array {
  const r = randomArray(n * n, 47, 0.5);
  const p = new Float32Array(n * n);
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) total += p[i * n + j] = 1 + r[i * n + j] + r[j * n + i];
  return p.map((v) => v / total);
}

/** `steps` t-SNE steps, then the points (N, 2) read back. */
export function tsneCase(rt: Runtime, tf: Tf | null, steps = GALLERY.tsneSteps, n = GALLERY.points): PairedCase {
  const p = jointP(n);
  const y0 = tsneInit(n, 1);
  const s = tsneState(rt, p, y0);
  const ts: ReturnType<typeof tfTsneState> | null = tf ? tfTsneState(tf, p, y0) : null;
  const schedule = tsneSchedule(0, { learningRate: 200 });
  return {
    ours() {
      for (let t = 0; t < steps; t++) tsneStep(s, schedule);
      return s.y.read();
    },
    tfjs: tf && ts ? () => {
      for (let t = 0; t < steps; t++) tfTsneStep(tf, ts, schedule);
      return ts.y.data();
    } : null,
    dispose() {
      s.dispose();
      ts?.dispose();
    },
  };
}
