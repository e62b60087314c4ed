// What every part of the benchmark shares: the engine runtimes (default, and one per forced
// kernel variant, all on one adapter), TF.js (or why it is missing), and the timing options.

import { Runtime } from '../../engine/runtime';
import type { BenchArgs } from './args';
import { installNavigatorGpu } from './gpu';
import { defaultVariants, type Family } from './ours';
import { startTfjs, type TfjsHandle } from './tfjs';
import type { TimingOptions } from './timing';

export interface BenchContext {
  /** The runtime with the adapter's default variants. */
  rt: Runtime;
  ourAdapter: string;
  tf: TfjsHandle | null;
  /** Why TF.js is not measured, when it is not. */
  tfMissing: string | null;
  defaults: Record<Family, string>;
  timing: TimingOptions;
  /** A runtime forced to one variant of a family (created on first use, kept). */
  runtimeFor(family: Family, variant: string): Promise<Runtime>;
  destroy(): void;
}

export async function createContext(args: BenchArgs): Promise<BenchContext> {
  await installNavigatorGpu();
  const rt = await Runtime.create();
  let tf: TfjsHandle | null = null;
  let tfMissing: string | null = args.noTfjs ? 'disabled with --no-tfjs' : null;
  if (!args.noTfjs) {
    try {
      tf = await startTfjs();
    } catch (e) {
      tfMissing = `TF.js WebGPU backend could not start: ${(e as Error).message}`;
    }
  }
  const cpu = rt.kind === 'cpu';
  const timing: TimingOptions = {
    warmup: cpu ? 1 : 3,
    iters: args.iters ?? (cpu ? 1 : 10),
    repeats: args.repeats ?? (cpu ? 3 : 5),
  };
  const forced = new Map<string, Runtime>();
  return {
    rt,
    ourAdapter: rt.describe(),
    tf,
    tfMissing,
    defaults: await defaultVariants(rt),
    timing,
    async runtimeFor(family, variant) {
      const key = `${family}:${variant}`;
      let r = forced.get(key);
      if (!r) forced.set(key, (r = await Runtime.create({ variants: { [family]: variant } })));
      return r;
    },
    destroy() {
      for (const r of forced.values()) r.destroy();
      rt.destroy();
      tf?.tf.disposeVariables();
    },
  };
}
