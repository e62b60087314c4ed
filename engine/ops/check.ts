// Shape and parameter checks shared by the op wrappers: every failure names the op, the tensor,
// and what was expected versus what arrived.

import { shapeStr, Tensor } from '../tensor';

export function opError(op: string, msg: string): Error {
  return new Error(`${op}: ${msg}`);
}

export function expectShape(op: string, name: string, t: Tensor, expected: readonly number[]): void {
  t.assertLive();
  let same = t.shape.length === expected.length;
  for (let i = 0; same && i < expected.length; i++) same = t.shape[i] === expected[i];
  if (!same) {
    throw opError(op, `${name} has shape ${shapeStr(t.shape)}, expected ${shapeStr(expected)}`);
  }
}

export function expectPositiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw opError(op, `${name} must be a positive integer, got ${v}`);
}

export function expectNonNegInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw opError(op, `${name} must be a non-negative integer, got ${v}`);
}

/** The given output tensor (checked against `shape`), or a fresh one from the pool. */
export function outputFor(op: string, like: Tensor, shape: readonly number[], out: Tensor | undefined, label: string): Tensor {
  if (out) {
    expectShape(op, 'out', out, shape);
    return out;
  }
  return Tensor.empty(like.rt, shape, label);
}
