// Timing: warm up (compiles pipelines), then `repeats` times submit `iters` iterations back to
// back, wait for the queue, and take wall time / iters. The median repeat is reported.

export interface TimingOptions {
  warmup: number;
  iters: number;
  repeats: number;
}

/** Something timed: run() records one iteration; sync() submits and waits for the device. */
export interface Timed {
  run(): void;
  sync(): Promise<void>;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds per iteration: the median over repeats, and every repeat. */
export async function measure(t: Timed, o: TimingOptions): Promise<{ ms: number; samples: number[] }> {
  for (let i = 0; i < o.warmup; i++) t.run();
  await t.sync();
  const samples: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < o.iters; i++) t.run();
    await t.sync();
    samples.push((performance.now() - t0) / o.iters);
  }
  return { ms: median(samples), samples };
}

export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}
