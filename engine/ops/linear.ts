// Fully connected op: y = act(x W^T + b) with x (N, C, H, W) read as (N, In), In = C*H*W in NCHW
// flatten order; weight (Out, In, 1, 1) row-major [out][in] (possibly a weight-arena view); bias
// (1, Out, 1, 1) or null; y (N, Out, 1, 1). Backward to the input and to the parameters.

import { dispatchLinear, dispatchLinearBackwardInput, dispatchLinearBackwardWeights } from '../kernels/linear';
import { checkShape, shapeStr, Tensor, type Shape4 } from '../tensor';
import { expectShape, opError, outputFor } from './check';

export { LINEAR_VARIANTS } from '../kernels/linear';

function expectWeight(op: string, weight: Tensor, inF: number, what: string): void {
  weight.assertLive();
  if (weight.c !== inF || weight.h !== 1 || weight.w !== 1) {
    throw opError(op, `weight has shape ${shapeStr(weight.shape)}, expected (${weight.n}, ${inF}, 1, 1): In = ${inF} from ${what}`);
  }
}

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, opts: { relu?: boolean } = {}, out?: Tensor): Tensor {
  x.assertLive();
  expectWeight('linear', weight, x.sampleSize, `x ${shapeStr(x.shape)}`);
  const outF = weight.n;
  if (bias) expectShape('linear', 'bias', bias, [1, outF, 1, 1]);
  const y = outputFor('linear', x, [x.n, outF, 1, 1], out, 'linear.y');
  dispatchLinear(x.rt, x, weight, bias, y, opts.relu ?? false);
  return y;
}

/** dx = dy W, shaped xShape (the forward input's shape). */
export function linearBackwardInput(dy: Tensor, weight: Tensor, xShape: Shape4, out?: Tensor): Tensor {
  const s = checkShape(xShape, 'linearBackwardInput: xShape');
  const inF = s[1] * s[2] * s[3];
  expectWeight('linearBackwardInput', weight, inF, `xShape ${shapeStr(s)}`);
  expectShape('linearBackwardInput', 'dy', dy, [s[0], weight.n, 1, 1]);
  const dx = outputFor('linearBackwardInput', dy, s, out, 'linear.dx');
  dispatchLinearBackwardInput(dy.rt, dy, weight, dx);
  return dx;
}

/** dw = dy^T x (Out, In, 1, 1) and db = sum_n dy (1, Out, 1, 1), both reduced over the batch. */
export function linearBackwardWeights(x: Tensor, dy: Tensor, hasBias: boolean): { dw: Tensor; db: Tensor | null } {
  x.assertLive();
  dy.assertLive();
  if (dy.n !== x.n || dy.h !== 1 || dy.w !== 1) {
    throw opError('linearBackwardWeights', `dy has shape ${shapeStr(dy.shape)}, expected (${x.n}, Out, 1, 1) for x ${shapeStr(x.shape)}`);
  }
  const dw = Tensor.empty(x.rt, [dy.c, x.sampleSize, 1, 1], 'linear.dw');
  const db = hasBias ? Tensor.empty(x.rt, [1, dy.c, 1, 1], 'linear.db') : null;
  dispatchLinearBackwardWeights(x.rt, x, dy, dw, db);
  return { dw, db };
}
