// Live runs of the image-optimization techniques (the app's streaming panels). With `ctx.live`
// set, a technique's loop reads its objective back at every step, hands every iteration's image to
// `ctx.live.onStep` (awaited, so a paused caller holds the loop) and then maps the option values
// as they are now (a slider moved mid-run) to the loop's settings: the change takes effect at the
// next step. Which options a technique re-reads is its `liveOptions` (technique.ts). Without
// `ctx.live` the technique's own onStep and objectiveEvery pass through unchanged.

import type { Tensor } from '../../tensor';
import type { Options, TechniqueContext } from '../technique';
import type { LoopOptions, LoopSettings } from './loop';

export interface LiveLoopSpec {
  /** The image being optimized, (N, 3, H, W) in the network's space (e.g. () => param.render()). */
  image: () => Tensor;
  /** The loop's settings object (the one handed to optimize()), changed in place by retune. */
  settings?: LoopSettings;
  /** The loop settings the live options give (only those the technique lists in liveOptions). */
  retune?: (options: Options) => Partial<LoopSettings>;
  /** The technique's own per-step callback and objective read interval, kept. */
  onStep?: LoopOptions['onStep'];
  objectiveEvery: number;
  /** Iterations before this loop, and in the whole run (a run of several loops: octaves, layers, PNG re-checks). */
  offset?: number;
  total?: number;
}

/** The onStep and objectiveEvery to hand to optimize() under `ctx` (see the file comment). */
export function liveLoop(ctx: TechniqueContext, spec: LiveLoopSpec): Pick<LoopOptions, 'onStep' | 'objectiveEvery'> {
  const live = ctx.live;
  if (!live) return { onStep: spec.onStep, objectiveEvery: spec.objectiveEvery };
  const offset = spec.offset ?? 0;
  // A loop built mid-run (the next octave, layer or PNG re-check) starts from the live values too.
  if (spec.settings && spec.retune) Object.assign(spec.settings, spec.retune(live.options()));
  return {
    objectiveEvery: 1,
    async onStep(s) {
      await spec.onStep?.(s);
      const step = { iteration: offset + s.iteration, steps: spec.total ?? s.steps, objective: s.objective, objectiveAt: offset + s.objectiveAt, itPerSec: s.itPerSec };
      await live.onStep(step, spec.image(), spec.settings);
      if (spec.settings && spec.retune) Object.assign(spec.settings, spec.retune(live.options()));
    },
  };
}
