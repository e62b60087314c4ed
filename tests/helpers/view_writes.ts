// Writes into channel views: a kernel that writes channels [c0, c0 + count) of a larger tensor
// must leave every other channel alone. The larger tensor starts as seeded random values (never
// zero, see scripts/lib/random.ts), so even a stray write of zero shows, and the channels outside
// the view are compared bit for bit with what was there. (Reading from views: helpers/views.ts.)

import type { Runtime } from '../../engine/runtime';
import type { Tensor } from '../../engine/tensor';
import { EXACT, expectClose, type Tolerance } from './close';
import { size, upload } from './gpu';
import { randomArray } from './random';

/** Dense copy of channels [c0, c0 + count) of an NCHW array. */
export function sliceChannels(data: ArrayLike<number>, shape: readonly number[], c0: number, count: number): Float32Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const out = new Float32Array(n * count * hw);
  for (let b = 0; b < n; b++) for (let i = 0; i < count * hw; i++) out[b * count * hw + i] = data[(b * c + c0) * hw + i];
  return out;
}

/** A tracked tensor of seeded random values to write a channel view into, and its initial contents. */
export function prefilled(rt: Runtime, shape: readonly number[], seed: number, label: string): { t: Tensor; init: Float32Array } {
  const init = randomArray(size(shape), seed);
  return { t: upload(rt, init, shape, label), init };
}

/**
 * `got` is the whole (N, C, H, W) tensor read back after writing channels [c0, c0 + count):
 * those channels match `want` (dense, (N, count, H, W)) within `tol`; every other element is
 * bit for bit `init` (the tensor's contents before the write).
 */
export function expectView(
  got: Float32Array,
  shape: readonly number[],
  c0: number,
  count: number,
  want: ArrayLike<number>,
  init: Float32Array,
  tol: Tolerance,
  label: string,
): void {
  const [n, c, h, w] = shape;
  expectClose(sliceChannels(got, shape, c0, count), want, tol, [n, count, h, w], `${label} (channels ${c0}..${c0 + count - 1})`);
  // Expected whole tensor: the initial contents, with the view's channels taken from `got`.
  const keep = Float32Array.from(init);
  const hw = h * w;
  for (let b = 0; b < n; b++) keep.set(got.subarray((b * c + c0) * hw, (b * c + c0 + count) * hw), (b * c + c0) * hw);
  const outside = `${label} (channels outside ${c0}..${c0 + count - 1} must be untouched)`;
  expectClose(got, keep, EXACT, shape, outside);
  expectClose(new Uint32Array(got.buffer, got.byteOffset, got.length), new Uint32Array(keep.buffer), EXACT, shape, `${outside}, float32 bits`);
}
