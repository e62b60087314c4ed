// Top-k per row: x (N, C, H, W) read as N rows of C*H*W values -> values and indices (N, k, 1, 1),
// the k smallest (or largest) in order, ties broken by the smaller index (indices as floats).

import { dispatchTopk, TOPK_MAX } from '../kernels/topk';
import { shapeStr, type Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { opError, outputFor } from './check';

export { TOPK_MAX, TOPK_VARIANTS } from '../kernels/topk';

export interface TopkOptions {
  /** The largest values instead of the smallest (default false). */
  largest?: boolean;
  values?: Tensor;
  indices?: Tensor;
}

export function topk(x: Tensor, k: number, opts: TopkOptions = {}): { values: Tensor; indices: Tensor } {
  x.assertLive();
  if (!Number.isInteger(k) || k < 1 || k > TOPK_MAX) throw opError('topk', `k must be an integer in [1, ${TOPK_MAX}], got ${k}`);
  if (k > x.sampleSize) throw opError('topk', `k = ${k} is more than the ${x.sampleSize} values per row of x ${shapeStr(x.shape)}`);
  expectSeparate('topk', opts.values, [x]);
  expectSeparate('topk', opts.indices, [x, opts.values]);
  const values = outputFor('topk', x, [x.n, k, 1, 1], opts.values, 'topk.values');
  const indices = outputFor('topk', x, [x.n, k, 1, 1], opts.indices, 'topk.indices');
  if (!values.isContiguous || !indices.isContiguous) throw opError('topk', 'values and indices must be dense tensors');
  dispatchTopk(x.rt, x, k, opts.largest ?? false, values, indices);
  return { values, indices };
}
