// One runtime per test file (Vitest runs files in separate workers), plus upload helpers and a
// tracker that disposes every tensor a test created.

import { afterAll, afterEach } from 'vitest';
import { Runtime, type RuntimeOptions } from '../../engine/runtime';
import { Tensor } from '../../engine/tensor';

let shared: Promise<Runtime> | null = null;

/** The file's runtime, created on first use and destroyed after the file's tests. */
export function gpu(options?: RuntimeOptions): Promise<Runtime> {
  if (!shared) {
    shared = Runtime.create(options);
    afterAll(async () => {
      (await shared!).destroy();
      shared = null;
    });
  }
  return shared;
}

const live: Tensor[] = [];

/** Register tensors for disposal after the current test. */
export function track<T extends Tensor>(t: T): T {
  live.push(t);
  return t;
}

afterEach(() => {
  for (const t of live.splice(0)) t.dispose();
});

export function upload(rt: Runtime, data: Float32Array, shape: readonly number[], label = 'input'): Tensor {
  return track(Tensor.fromData(rt, data, shape, label));
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
