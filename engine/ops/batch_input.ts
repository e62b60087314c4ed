// Batched inputs for attribution methods, each one upload and one dispatch for all n samples:
// broadcastSamples (integrated-gradients paths, SmoothGrad noise), occludeBatch (Zeiler & Fergus
// occlusion windows) and maskBlend (deletion / insertion curves). x is one image (1, C, H, W);
// the result is (n, C, H, W), or written into `out` (which may be a channel view).

import { dispatchBroadcast, dispatchMaskBlend, dispatchOcclude, type Window } from '../kernels/batch_input';
import type { Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { expectNonNegInt, expectPositiveInt, expectShape, opError, outputFor } from './check';

export type { Window };

function expectImage(op: string, name: string, t: Tensor, like?: Tensor): void {
  expectShape(op, name, t, like ? [1, like.c, like.h, like.w] : [1, t.c, t.h, t.w]);
}

/** One finite value per sample (or channel) from an array of n values or a single number. */
function perSample(op: string, name: string, v: ArrayLike<number> | number, n: number, unit = 'sample'): Float64Array {
  const arr = typeof v === 'number' ? new Float64Array(n).fill(v) : Float64Array.from(v);
  if (arr.length !== n) throw opError(op, `${name} has ${arr.length} values, expected one per ${unit} (${n})`);
  const bad = arr.findIndex((a) => !Number.isFinite(a));
  if (bad >= 0) throw opError(op, `${name}[${bad}] must be finite, got ${arr[bad]}`);
  return arr;
}

export interface BroadcastOptions {
  /** Per-sample factor on x (default 1). */
  scaleX?: ArrayLike<number>;
  /** (1, C, H, W) baseline, e.g. black or blurred. */
  base?: Tensor;
  /** Per-sample factor on base (default 1 - scaleX[k]: the straight path base + a_k (x - base)). */
  scaleBase?: ArrayLike<number>;
  /** Gaussian noise std per sample, or one for all (default 0). */
  noiseSigma?: ArrayLike<number> | number;
  /** u32 seed of the counter-based noise: equal seeds give identical samples. */
  seed?: number;
  out?: Tensor;
}

/** out[k] = scaleX[k] * x + scaleBase[k] * base + noiseSigma[k] * N(0, 1): (1, C, H, W) -> (n, C, H, W). */
export function broadcastSamples(x: Tensor, n: number, o: BroadcastOptions = {}): Tensor {
  const op = 'broadcastSamples';
  expectPositiveInt(op, 'n', n);
  expectImage(op, 'x', x);
  if (o.base) expectImage(op, 'base', o.base, x);
  if (o.scaleBase && !o.base) throw opError(op, 'scaleBase was given without a base');
  const seed = o.seed ?? 0;
  expectNonNegInt(op, 'seed', seed);
  if (seed > 0xffffffff) throw opError(op, `seed must fit in 32 bits, got ${seed}`);
  const sx = perSample(op, 'scaleX', o.scaleX ?? 1, n);
  const sb = o.base ? perSample(op, 'scaleBase', o.scaleBase ?? sx.map((a) => 1 - a), n) : new Float64Array(n);
  const sigma = perSample(op, 'noiseSigma', o.noiseSigma ?? 0, n);
  if (sigma.some((s) => s < 0)) throw opError(op, `noiseSigma must be >= 0, got [${[...sigma].join(', ')}]`);
  expectSeparate(op, o.out, [x, o.base]);
  const y = outputFor(op, x, [n, x.c, x.h, x.w], o.out, 'broadcast.out');
  dispatchBroadcast(x.rt, x, o.base, sx, sb, sigma, seed, y);
  return y;
}

/** Sample k is x with window k (top y, left x, size; clipped at the borders) set to fill (one value per channel, or one for all). */
export function occludeBatch(x: Tensor, windows: readonly Window[], fill: number | readonly number[], out?: Tensor): Tensor {
  const op = 'occludeBatch';
  expectImage(op, 'x', x);
  if (windows.length === 0) throw opError(op, 'windows is empty');
  windows.forEach((w, k) => {
    if (![w.y, w.x].every(Number.isInteger) || !Number.isInteger(w.size) || w.size < 1) {
      throw opError(op, `window ${k} must have integer y, x and a positive integer size, got { y: ${w.y}, x: ${w.x}, size: ${w.size} }`);
    }
  });
  const values = [...perSample(op, 'fill', fill, x.c, 'channel')];
  expectSeparate(op, out, [x]);
  const y = outputFor(op, x, [windows.length, x.c, x.h, x.w], out, 'occlude.out');
  dispatchOcclude(x.rt, x, windows, values, y);
  return y;
}

export interface MaskBlendOptions {
  /** deletion: pixels with rank < t[k] come from base; insertion: they come from x (default deletion). */
  mode?: 'deletion' | 'insertion';
  /** The rank map holds f32 values (default) or u32 bit patterns (e.g. from an argsort). */
  rankFormat?: 'f32' | 'u32';
  out?: Tensor;
}

/** For deletion / insertion curves: out[k] = rank < t[k] ? base : x (or the reverse); rank (1, 1, H, W). */
export function maskBlend(x: Tensor, base: Tensor, rank: Tensor, thresholds: ArrayLike<number>, o: MaskBlendOptions = {}): Tensor {
  const op = 'maskBlend';
  expectImage(op, 'x', x);
  expectImage(op, 'base', base, x);
  expectShape(op, 'rank', rank, [1, 1, x.h, x.w]);
  const mode = o.mode ?? 'deletion';
  if (mode !== 'deletion' && mode !== 'insertion') throw opError(op, `unknown mode '${mode}' (deletion, insertion)`);
  const format = o.rankFormat ?? 'f32';
  if (format !== 'f32' && format !== 'u32') throw opError(op, `unknown rankFormat '${format}' (f32, u32)`);
  if (thresholds.length === 0) throw opError(op, 'thresholds is empty');
  const t = perSample(op, 'thresholds', thresholds, thresholds.length);
  expectSeparate(op, o.out, [x, base, rank]);
  const y = outputFor(op, x, [t.length, x.c, x.h, x.w], o.out, `${mode}.out`);
  dispatchMaskBlend(x.rt, x, base, rank, format === 'u32', t, mode === 'insertion', y);
  return y;
}
