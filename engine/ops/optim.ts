// Optimizer updates of an image on the GPU, nothing read back: Adam (state: the two moment
// tensors and the step count) and the normalized ascent step x += lr * g / mean|g| (DeepDream),
// composed from reduceSamples and addScaled. A plain gradient step is addScaled(x, lr, g).

import { dispatchAdam } from '../kernels/optim';
import { shapeStr, Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { addScaled } from './elementwise';
import { expectShape, opError } from './check';
import { reduceSamples } from './reduce';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Climb the gradient (objective maximized) instead of descending it. Default false. */
  maximize?: boolean;
}

/** Adam's state for one parameter tensor: m, v (dense, zeros at first) and the steps taken. */
export interface AdamState {
  m: Tensor;
  v: Tensor;
  step: number;
  dispose(): void;
}

export function adamState(x: Tensor): AdamState {
  const m = Tensor.zeros(x.rt, x.shape, 'adam.m');
  const v = Tensor.zeros(x.rt, x.shape, 'adam.v');
  return { m, v, step: 0, dispose: () => { m.dispose(); v.dispose(); } };
}

function finiteIn(name: string, v: number, lo: number, hi: number, open = false): void {
  if (!(Number.isFinite(v) && v >= lo && (open ? v < hi : v <= hi))) throw opError('adamStep', `${name} must be in [${lo}, ${hi}${open ? ')' : ']'}, got ${v}`);
}

/** One Adam step on x (in place; x and g may be views); state.step counts up (bias correction). */
export function adamStep(x: Tensor, g: Tensor, state: AdamState, o: AdamOptions): void {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = o;
  expectShape('adamStep', 'g', g, x.shape);
  for (const [name, t] of [['state.m', state.m], ['state.v', state.v]] as const) {
    expectShape('adamStep', name, t, x.shape);
    if (!t.isContiguous) throw opError('adamStep', `${name} must be a dense tensor, got a view of ${shapeStr(t.shape)}`);
  }
  expectSeparate('adamStep', x, [g, state.m, state.v]);
  if (!Number.isFinite(lr)) throw opError('adamStep', `lr must be finite, got ${lr}`);
  finiteIn('beta1', beta1, 0, 1, true);
  finiteIn('beta2', beta2, 0, 1, true);
  finiteIn('eps', eps, 0, Infinity);
  const t = ++state.step;
  const c1 = 1 / (1 - beta1 ** t);
  const c2 = 1 / (1 - beta2 ** t);
  dispatchAdam(x.rt, x, g, state.m, state.v, { lr: (o.maximize ? 1 : -1) * lr, beta1, beta2, c1, c2, eps });
}

/**
 * x += lr * g / (mean|g| + eps) per sample (Mordvintsev et al.'s DeepDream step), in two dispatches.
 * `meanAbs` (N, 1, 1, 1) is scratch for the per-sample mean; given, nothing is allocated.
 */
export function normalizedStep(x: Tensor, g: Tensor, lr: number, options: { eps?: number; meanAbs?: Tensor } = {}): void {
  expectShape('normalizedStep', 'g', g, x.shape);
  if (!Number.isFinite(lr)) throw opError('normalizedStep', `lr must be finite, got ${lr}`);
  const m = reduceSamples(g, 'meanAbs', options.meanAbs);
  addScaled(x, { tensor: m, perSample: true, scale: lr, reciprocal: true, eps: options.eps ?? 1e-8 }, g);
  if (m !== options.meanAbs) m.dispose();
}
