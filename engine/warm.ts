// Warm-up of a loaded model's pipelines with createComputePipelineAsync, so that the first
// forward on a page does not freeze it while the driver compiles every kernel synchronously.

import type { Model } from './models/graph';
import { Tensor } from './tensor';

/**
 * Build, asynchronously, every pipeline a forward at the model's input size (batch 1) uses: the
 * forward runs once as a dry pass (nothing recorded or computed, see Runtime.programsUsedBy),
 * then the missing pipelines are created with createComputePipelineAsync. Returns the model.
 */
export async function warmModel(model: Model): Promise<Model> {
  const rt = model.rt;
  const { channels, height, width } = model.spec.input;
  const input = Tensor.empty(rt, [1, channels, height, width], `${model.spec.name} warm-up input`);
  try {
    await rt.warm(() => model.forward(input, { keep: false }));
  } finally {
    input.dispose();
  }
  return model;
}
