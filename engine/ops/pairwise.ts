// Pairwise distances between the rows (samples) of two tensors: a (Na, C, H, W) and b (Nb, C, H, W)
// with the same C*H*W -> out (Na, Nb, 1, 1), out[i, j] = metric(a_i, b_j). Views are fine.

import { dispatchPairwise, METRICS, type Metric } from '../kernels/pairwise';
import { shapeStr, type Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { opError, outputFor } from './check';

export { METRICS, PAIRWISE_VARIANTS, type Metric } from '../kernels/pairwise';

/** 'l2' (Euclidean), 'sqeuclidean' (its square) or 'cosine' (1 - cosine similarity) distances. */
export function pairwise(a: Tensor, b: Tensor, metric: Metric = 'l2', out?: Tensor): Tensor {
  a.assertLive();
  b.assertLive();
  if (!METRICS.includes(metric)) throw opError('pairwise', `unknown metric '${metric}' (metrics: ${METRICS.join(', ')})`);
  if (a.sampleSize !== b.sampleSize) {
    throw opError('pairwise', `a ${shapeStr(a.shape)} has rows of ${a.sampleSize} values but b ${shapeStr(b.shape)} has ${b.sampleSize}`);
  }
  expectSeparate('pairwise', out, [a, b]);
  const d = outputFor('pairwise', a, [a.n, b.n, 1, 1], out, `pairwise.${metric}`);
  dispatchPairwise(a.rt, a, b, metric, d);
  return d;
}
