// Reduction ops, deterministic (fixed-order trees, no float atomics): per sample (sum, mean |x|,
// sum of squares, L2 norm, min, max) -> (N, 1, 1, 1); over channels per pixel (max |x|, mean,
// sum, max) -> (N, 1, H, W); over samples (mean, sum) -> (1, C, H, W); and an exact per-sample
// percentile by selection -> (N, 1, 1, 1). Outputs stay on the GPU (feed them to the
// elementwise ops as GPU scalars); `out` may be a view.

import { dispatchReduce, dispatchSelectKth, type Post, type ReduceOp } from '../kernels/reduce';
import type { Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { opError, outputFor } from './check';

const PER_SAMPLE = { sum: ['sum', 0], meanAbs: ['sumAbs', 1], sumSquares: ['sumSquares', 0], l2: ['sumSquares', 2], min: ['min', 0], max: ['max', 0], maxAbs: ['maxAbs', 0], mean: ['sum', 1] } as const;
const OVER_CHANNELS = { maxAbs: ['maxAbs', 0], max: ['max', 0], sum: ['sum', 0], mean: ['sum', 1], meanAbs: ['sumAbs', 1] } as const;
const OVER_SAMPLES = { mean: ['sum', 1], sum: ['sum', 0] } as const;

export type SampleReduction = keyof typeof PER_SAMPLE;
export type ChannelReduction = keyof typeof OVER_CHANNELS;
export type BatchReduction = keyof typeof OVER_SAMPLES;

function lookup<T extends Record<string, readonly [ReduceOp, Post]>>(op: string, table: T, kind: string): readonly [ReduceOp, Post] {
  if (!Object.hasOwn(table, kind)) throw opError(op, `unknown reduction '${kind}' (${Object.keys(table).join(', ')})`);
  return table[kind];
}

/** Per sample: (N, C, H, W) -> (N, 1, 1, 1). kind: sum, mean, meanAbs, sumSquares, l2, min, max, maxAbs. */
export function reduceSamples(x: Tensor, kind: SampleReduction, out?: Tensor): Tensor {
  const [op, post] = lookup('reduceSamples', PER_SAMPLE, kind);
  expectSeparate('reduceSamples', out, [x]);
  const o = outputFor('reduceSamples', x, [x.n, 1, 1, 1], out, `reduce.${kind}`);
  dispatchReduce(x.rt, 'per_sample', op, post, x, o);
  return o;
}

/** Over channels, per pixel: (N, C, H, W) -> (N, 1, H, W). kind: maxAbs (saliency), max, sum, mean, meanAbs. */
export function reduceChannels(x: Tensor, kind: ChannelReduction, out?: Tensor): Tensor {
  const [op, post] = lookup('reduceChannels', OVER_CHANNELS, kind);
  expectSeparate('reduceChannels', out, [x]);
  const o = outputFor('reduceChannels', x, [x.n, 1, x.h, x.w], out, `reduce.channels.${kind}`);
  dispatchReduce(x.rt, 'over_channels', op, post, x, o);
  return o;
}

/** Over samples: (N, C, H, W) -> (1, C, H, W). kind: mean (SmoothGrad / IG averages) or sum. */
export function reduceBatch(x: Tensor, kind: BatchReduction = 'mean', out?: Tensor): Tensor {
  const [op, post] = lookup('reduceBatch', OVER_SAMPLES, kind);
  expectSeparate('reduceBatch', out, [x]);
  const o = outputFor('reduceBatch', x, [1, x.c, x.h, x.w], out, `reduce.batch.${kind}`);
  dispatchReduce(x.rt, 'over_samples', op, post, x, o);
  return o;
}

/**
 * The 0-based rank of the p-th percentile among `count` sorted values: the smallest v with at
 * least p% of the values <= v ("inverted CDF"), i.e. sorted[ceil(p/100 * count) - 1], clamped.
 */
export function percentileRank(count: number, p: number): number {
  return Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count - 1e-9) - 1));
}

/**
 * Per sample, the exact p-th percentile (0 <= p <= 100) of |x| (abs, the default) or of x:
 * (N, C, H, W) -> (N, 1, 1, 1), e.g. the value below which the p% smallest attributions lie.
 */
export function percentile(x: Tensor, p: number, options: { abs?: boolean; out?: Tensor } = {}): Tensor {
  if (!(p >= 0 && p <= 100)) throw opError('percentile', `p must be a percentage in [0, 100], got ${p}`);
  expectSeparate('percentile', options.out, [x]);
  const o = outputFor('percentile', x, [x.n, 1, 1, 1], options.out, `percentile.p${p}`);
  dispatchSelectKth(x.rt, x, percentileRank(x.sampleSize, p), options.abs ?? true, o);
  return o;
}
