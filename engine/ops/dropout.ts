// Dropout. The engine runs trained networks for inference and visualization only, where dropout
// is the identity (PyTorch eval(), Caffe TEST phase; both scale at training time). Model specs
// keep dropout layers so that layer names match the source model.

import type { Tensor } from '../tensor';

/** Identity at inference: returns `x` itself (no copy, nothing to dispose); its backward is too. */
export function dropout(x: Tensor): Tensor {
  x.assertLive();
  return x;
}
