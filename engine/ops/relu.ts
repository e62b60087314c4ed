// ReLU op: y = max(x, 0), and its backward with a selectable rule (vanilla / guided / deconvnet).

import { dispatchRelu, dispatchReluBackward, RELU_MODES, type ReluRule } from '../kernels/relu';
import type { Tensor } from '../tensor';
import { expectShape, opError, outputFor } from './check';

export type { ReluRule };

/** (N, C, H, W) -> (N, C, H, W). Pass `out` = x to run in place. */
export function relu(x: Tensor, out?: Tensor): Tensor {
  const y = outputFor('relu', x, x.shape, out, 'relu.y');
  dispatchRelu(x.rt, x, y);
  return y;
}

/** dx for y = relu(x). `x` may be the forward input or output. */
export function reluBackward(x: Tensor, dy: Tensor, rule: ReluRule = 'vanilla', out?: Tensor): Tensor {
  if (!(rule in RELU_MODES)) throw opError('reluBackward', `unknown rule '${rule}' (vanilla, guided, deconvnet)`);
  expectShape('reluBackward', 'dy', dy, x.shape);
  const dx = outputFor('reluBackward', x, x.shape, out, 'relu.dx');
  dispatchReluBackward(x.rt, rule, x, dy, dx);
  return dx;
}
