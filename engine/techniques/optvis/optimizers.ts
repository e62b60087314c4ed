// Update rules of the image-optimization loop, on the GPU with nothing read back:
//
//   ascent      x += lr * g                       (Simonyan et al., CS231n, Yosinski et al.)
//   normalized  x += lr * g / mean|g| per sample  (Mordvintsev et al.'s DeepDream)
//   l2norm      x += lr * g / ||g||_2 per sample  (CS231n's class visualization)
//   adam        Adam on g (Lucid: lr 0.05)
//
// `ascend` false descends (the objective is minimized). lr is given at each step, so a setting
// changed mid-run takes effect at the next one. State and scratch are allocated at creation.

import { addScaled } from '../../ops/elementwise';
import { reduceSamples } from '../../ops/reduce';
import { adamState, adamStep, normalizedStep } from '../../ops/optim';
import { Tensor } from '../../tensor';

export const OPTIMIZERS = ['ascent', 'normalized', 'l2norm', 'adam'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

export interface Optimizer {
  readonly kind: OptimizerKind;
  step(x: Tensor, g: Tensor, lr: number, ascend: boolean): void;
  dispose(): void;
}

export interface OptimizerOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** An optimizer for parameters shaped like `x`. */
export function makeOptimizer(kind: OptimizerKind, x: Tensor, o: OptimizerOptions = {}): Optimizer {
  switch (kind) {
    case 'ascent':
      return { kind, step: (p, g, lr, up) => void addScaled(p, up ? lr : -lr, g), dispose: () => undefined };
    case 'normalized': {
      const meanAbs = Tensor.empty(x.rt, [x.n, 1, 1, 1], 'optimizer mean|g|');
      return { kind, step: (p, g, lr, up) => normalizedStep(p, g, up ? lr : -lr, { meanAbs, eps: o.eps }), dispose: () => meanAbs.dispose() };
    }
    case 'l2norm': {
      const norm = Tensor.empty(x.rt, [x.n, 1, 1, 1], 'optimizer ||g||');
      const step = (p: Tensor, g: Tensor, lr: number, up: boolean) => {
        addScaled(p, { tensor: reduceSamples(g, 'l2', norm), perSample: true, scale: up ? lr : -lr, reciprocal: true, eps: o.eps ?? 1e-12 }, g);
      };
      return { kind, step, dispose: () => norm.dispose() };
    }
    case 'adam': {
      const state = adamState(x);
      return { kind, step: (p, g, lr, up) => adamStep(p, g, state, { lr, maximize: up, ...o }), dispose: () => state.dispose() };
    }
    default:
      throw new Error(`unknown optimizer '${kind as string}' (${OPTIMIZERS.join(', ')})`);
  }
}
