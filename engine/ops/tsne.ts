// The t-SNE optimisation state on the GPU and one gradient step (kernels/tsne.ts): points y
// (N, 2, 1, 1), joint probabilities p (N, N, 1, 1), gains and momentum buffer iy (1, 2N, 1, 1:
// the same (x, y) pairs, one sample so fill's grid stays small), and the scratch
// (row sums, Z, y_next, mean). After creation a step allocates nothing.

import { dispatchTsneCenter, dispatchTsneRowSums, dispatchTsneStep, type TsneStepParams } from '../kernels/tsne';
import type { Runtime } from '../runtime';
import { Tensor } from '../tensor';
import { opError } from './check';
import { fill } from './elementwise';
import { reduceBatch, reduceSamples } from './reduce';

export type { TsneStepParams } from '../kernels/tsne';

export interface TsneState {
  n: number;
  y: Tensor;
  p: Tensor;
  gains: Tensor;
  iy: Tensor;
  rows: Tensor;
  z: Tensor;
  yNext: Tensor;
  mean: Tensor;
  dispose(): void;
}

/** Uploads P (N x N, row-major, symmetric) and the initial points (N x 2); gains 1, iy 0. */
export function tsneState(rt: Runtime, p: Float32Array, y0: Float32Array): TsneState {
  const n = y0.length / 2;
  if (!Number.isInteger(n) || n < 2) throw opError('tsne', `y0 must hold N x 2 coordinates with N >= 2, got ${y0.length} values`);
  if (p.length !== n * n) throw opError('tsne', `P has ${p.length} values, expected N x N = ${n * n} for N = ${n} points`);
  const t = (shape: number[], label: string) => Tensor.empty(rt, shape, `tsne.${label}`);
  const s: TsneState = {
    n, y: Tensor.fromData(rt, y0, [n, 2, 1, 1], 'tsne.y'), p: Tensor.fromData(rt, p, [n, n, 1, 1], 'tsne.p'),
    gains: t([1, 2 * n, 1, 1], 'gains'), iy: t([1, 2 * n, 1, 1], 'iy'), rows: t([1, n, 1, 1], 'rows'), z: t([1, 1, 1, 1], 'z'),
    yNext: t([n, 2, 1, 1], 'y_next'), mean: t([1, 2, 1, 1], 'mean'),
    dispose() {
      for (const x of [s.y, s.p, s.gains, s.iy, s.rows, s.z, s.yNext, s.mean]) x.dispose();
    },
  };
  fill(s.gains, 1);
  fill(s.iy, 0);
  return s;
}

/** One iteration: Z, the gradient step with gains and momentum, re-centring (5 dispatches). */
export function tsneStep(s: TsneState, params: TsneStepParams): void {
  const rt = s.y.rt;
  dispatchTsneRowSums(rt, s.y, s.rows);
  reduceSamples(s.rows, 'sum', s.z);
  dispatchTsneStep(rt, s.y, s.p, s.z, s.gains, s.iy, s.yNext, params);
  reduceBatch(s.yNext, 'mean', s.mean);
  dispatchTsneCenter(rt, s.yNext, s.mean, s.y);
}
