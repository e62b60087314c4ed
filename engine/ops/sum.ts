// Stack sum op: the total of k gradient contributions written back to back into one buffer.

import { dispatchSumStack } from '../kernels/sum';
import { shapeStr, type Shape4, type Tensor } from '../tensor';
import { expectPositiveInt, opError, outputFor } from './check';

/**
 * `stack` is a dense tensor holding k tensors of `shape` (N, C, H, W) back to back, i.e. of shape
 * (k*N, C, H, W). Returns their elementwise sum, (N, C, H, W); `out` may be a channel view.
 */
export function sumStack(stack: Tensor, k: number, shape: Shape4, out?: Tensor): Tensor {
  expectPositiveInt('sumStack', 'k', k);
  if (!stack.isContiguous) throw opError('sumStack', 'stack must be a dense tensor');
  const [n, c, h, w] = shape;
  if (stack.size !== k * n * c * h * w || stack.sampleSize !== c * h * w) {
    throw opError('sumStack', `stack has shape ${shapeStr(stack.shape)}, expected (${k * n}, ${c}, ${h}, ${w}) for ${k} x ${shapeStr(shape)}`);
  }
  const y = outputFor('sumStack', stack, shape, out, 'sum.y');
  dispatchSumStack(stack.rt, stack, k, y);
  return y;
}
