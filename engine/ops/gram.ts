// Gram matrices of a layer's features (Gatys et al.): gram(F) = F F^T / (H*W) per sample, F
// (N, C, H, W) -> G (N, 1, C, C); gramBackward; and the style loss weight * sum (G - T)^2 with
// its gradient, composed from the elementwise and reduce ops (no read-back).

import { dispatchGram, dispatchGramBackward } from '../kernels/gram';
import { shapeStr, type Tensor } from '../tensor';
import { expectSeparate } from './alias';
import { axpy, scale } from './elementwise';
import { expectShape, opError, outputFor } from './check';
import { reduceSamples } from './reduce';

function gramShape(f: Tensor): number[] {
  return [f.n, 1, f.c, f.c];
}

function expectDense(op: string, name: string, t: Tensor): void {
  if (!t.isContiguous) throw opError(op, `${name} must be a dense tensor, got a view of ${shapeStr(t.shape)}`);
}

/** G = F F^T / (H*W) -> (N, 1, C, C); f may be a channel view, out must be dense. */
export function gram(f: Tensor, out?: Tensor): Tensor {
  expectSeparate('gram', out, [f]);
  const g = outputFor('gram', f, gramShape(f), out, 'gram');
  expectDense('gram', 'out', g);
  dispatchGram(f.rt, f, g);
  return g;
}

/** dF = (dG + dG^T) F / (H*W) -> like f; with `accumulate`, added into `out`. */
export function gramBackward(f: Tensor, dg: Tensor, options: { out?: Tensor; accumulate?: boolean } = {}): Tensor {
  expectShape('gramBackward', 'dg', dg, gramShape(f));
  expectDense('gramBackward', 'dg', dg);
  if (options.accumulate && !options.out) throw opError('gramBackward', 'accumulate needs out (the gradient to add into)');
  expectSeparate('gramBackward', options.out, [f, dg]);
  const df = outputFor('gramBackward', f, f.shape, options.out, 'gram.df');
  dispatchGramBackward(f.rt, f, dg, df, options.accumulate ?? false);
  return df;
}

/**
 * Style loss weight * sum (G - target)^2 per sample -> { value (N, 1, 1, 1), grad dL/dG (N, 1, C, C) }.
 * `value` and `grad` may be given (then nothing is allocated); grad must not be g or target.
 */
export function gramLoss(g: Tensor, target: Tensor, options: { weight?: number; value?: Tensor; grad?: Tensor } = {}): { value: Tensor; grad: Tensor } {
  const weight = options.weight ?? 1;
  if (!Number.isFinite(weight)) throw opError('gramLoss', `weight must be finite, got ${weight}`);
  expectShape('gramLoss', 'target', target, g.shape);
  expectSeparate('gramLoss', options.grad, [g, target]);
  const grad = axpy(1, g, -1, target, outputFor('gramLoss', g, g.shape, options.grad, 'gram.loss.grad'));
  const value = reduceSamples(grad, 'sumSquares', options.value);
  scale(value, weight, value);
  scale(grad, 2 * weight, grad);
  return { value, grad };
}
