// Channel views for kernel tests: a tensor of shape (N, C, H, W) living at channel c0 of a larger
// random host (N, C + pad, H, W), so a test can check that a kernel reads only its view and
// leaves the host's other channels untouched.

import type { Runtime } from '../../engine/runtime';
import type { Tensor } from '../../engine/tensor';
import { upload } from './gpu';
import { randomArray } from './random';

export type Shape = readonly [number, number, number, number];

/** hostData (N, hostC, H, W) with the dense (N, C, H, W) `inner` written at channel c0. */
export function embed(hostData: ArrayLike<number>, hostC: number, c0: number, shape: Shape, inner: ArrayLike<number>): Float64Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const out = Float64Array.from(hostData);
  for (let s = 0; s < n; s++) for (let i = 0; i < c * hw; i++) out[(s * hostC + c0) * hw + i] = inner[s * c * hw + i];
  return out;
}

export interface Hosted {
  host: Tensor;
  view: Tensor;
  /** The host's contents as uploaded (the view's channels hold `inner`). */
  data: Float32Array;
  hostC: number;
  c0: number;
}

/** A view of shape `shape` holding `inner` (random if omitted), at channel 1 of a host with 2 extra random channels. */
export function hostedView(rt: Runtime, shape: Shape, seed: number, inner?: ArrayLike<number>, label = 'view'): Hosted {
  const [n, c, h, w] = shape;
  const hostC = c + 2;
  const c0 = 1;
  const data = Float32Array.from(embed(randomArray(n * hostC * h * w, seed + 1000), hostC, c0, shape, inner ?? randomArray(n * c * h * w, seed)));
  const host = upload(rt, data, [n, hostC, h, w], `${label} host`);
  return { host, view: host.channels(c0, c, label), data, hostC, c0 };
}

/** The host's expected contents once the view's channels hold `inner`. */
export function expectedHost(v: Hosted, shape: Shape, inner: ArrayLike<number>): Float64Array {
  return embed(v.data, v.hostC, v.c0, shape, inner);
}
