// Softmax and log-softmax over channels C, independently for each (n, h, w); classification
// scores are (N, C, 1, 1). Backwards take the forward *output* y.

import { dispatchSoftmax, dispatchSoftmaxBackward } from '../kernels/softmax';
import type { Tensor } from '../tensor';
import { expectShape, outputFor } from './check';

export function softmax(x: Tensor, out?: Tensor): Tensor {
  const y = outputFor('softmax', x, x.shape, out, 'softmax.y');
  dispatchSoftmax(x.rt, x, y, false);
  return y;
}

export function logSoftmax(x: Tensor, out?: Tensor): Tensor {
  const y = outputFor('logSoftmax', x, x.shape, out, 'logsoftmax.y');
  dispatchSoftmax(x.rt, x, y, true);
  return y;
}

/** dx = y * (dy - sum_c dy * y), y = softmax(x). */
export function softmaxBackward(y: Tensor, dy: Tensor, out?: Tensor): Tensor {
  expectShape('softmaxBackward', 'dy', dy, y.shape);
  const dx = outputFor('softmaxBackward', y, y.shape, out, 'softmax.dx');
  dispatchSoftmaxBackward(y.rt, y, dy, dx, false);
  return dx;
}

/** dx = dy - exp(y) * sum_c dy, y = logSoftmax(x). */
export function logSoftmaxBackward(y: Tensor, dy: Tensor, out?: Tensor): Tensor {
  expectShape('logSoftmaxBackward', 'dy', dy, y.shape);
  const dx = outputFor('logSoftmaxBackward', y, y.shape, out, 'logsoftmax.dx');
  dispatchSoftmaxBackward(y.rt, y, dy, dx, true);
  return dx;
}
