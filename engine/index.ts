// cnnvis engine: the one documented entry point for the CLI, tests, benchmark and UI, in Node
// (Dawn via the `webgpu` package) and in the browser (navigator.gpu).
//
//   const rt = await createRuntime();
//   const model = await loadModel(rt, 'weights/squeezenet1_1');       // or a base URL in a browser
//   const { width, height, rgba } = await decodeImage(bytes, 'cat.jpg');
//   const x = model.preprocess(rgba, width, height);                  // (1, 3, H, W)
//   const [top5] = await model.classify(x);                           // [{ index, label, prob }, ...]
//   const conv1 = await model.readActivation('conv1');                // post-ReLU when fused
//   const saliency = model.backward({ kind: 'class', index: top5[0].index }, { rule: 'guided' });
//   ...; saliency.dispose(); x.dispose(); model.dispose(); rt.destroy();

import { Runtime, type RuntimeOptions } from './runtime';

export { Runtime, type RuntimeOptions } from './runtime';
export { Tensor, type Shape4 } from './tensor';
export { loadModel, validateSpec, inferShapes, type ModelSource, type Chw, type LoadOptions } from './models/load';
export {
  Model,
  type BackwardOptions,
  type BackwardSeed,
  type ForwardOptions,
  type LayerInfo,
  type Prediction,
} from './models/graph';
export type { ModelSpec, LayerSpec, InputSpec } from './models/spec';
export type { ReluRule } from './ops/relu';
export { decodeImage, type DecodedImage } from './io/decode';
export { tensorToImage, gaussianBlur } from './ops/image';

/**
 * Create the WebGPU runtime (adapter, device, buffer pool, pipeline cache). In Node on a machine
 * without a GPU it falls back to SwiftShader (set VK_ICD_FILENAMES, see engine/device.ts).
 * Call `destroy()` when done.
 */
export function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  return Runtime.create(options);
}
