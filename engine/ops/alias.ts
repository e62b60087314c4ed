// Aliasing checks for ops that bind an output read-write beside their inputs: WebGPU rejects a
// dispatch whose writable binding overlaps another binding of the same buffer, and the error
// would surface later, far from the call. These fail at the call, naming both tensors.

import type { Tensor } from '../tensor';
import { opError } from './check';

/** Whether a and b are the same view (same buffer, base and batch stride). */
export function sameView(a: Tensor, b: Tensor): boolean {
  return a.buffer === b.buffer && a.base === b.base && a.batchStride === b.batchStride;
}

/** out may be one of the inputs itself (the op then runs in place), but no other view of its buffer. */
export function expectNoPartialAlias(op: string, out: Tensor, inputs: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (out.buffer === t.buffer && !sameView(out, t)) {
      throw opError(op, `out '${out.label}' is another view of ${name}'s buffer ('${t.label}'); write to ${name} itself (in place) or to separate memory`);
    }
  }
}

/** out must not share a buffer with any input. */
export function expectSeparate(op: string, out: Tensor | undefined, inputs: readonly (Tensor | undefined)[]): void {
  const hit = out && inputs.find((t) => t && t.buffer === out.buffer);
  if (hit) throw opError(op, `out '${out.label}' shares a buffer with input '${hit.label}'; give it separate memory`);
}
