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
//   const g = model.gradients({ kind: 'class', index: 0 }, { layers: ['fire9/concat'] });  // Map name -> dScore/dA
//   model.forward(x2, { until: 'inception_4c/output', preRelu: ['conv1'] });  // any H x W >= model.minInputSize()
//   ...; saliency.dispose(); x.dispose(); model.dispose(); rt.destroy();

import { Runtime, type RuntimeOptions } from './runtime';

export { Runtime, type RuntimeOptions } from './runtime';
export { Tensor, type Shape4 } from './tensor';
export { loadModel, validateSpec, type ModelSource, type LoadOptions } from './models/load';
export { inferShapes, layerShape, pooledExtent, expectedTensors, ShapeError, type Chw, type InferOptions } from './models/shapes';
export {
  Model,
  type BackwardOptions,
  type BackwardSeed,
  type ForwardOptions,
  type GradientsOptions,
  type LayerInfo,
  type Prediction,
} from './models/graph';
export type { ModelSpec, LayerSpec, InputSpec } from './models/spec';
export type { ReluRule } from './ops/relu';
export { decodeImage, type DecodedImage } from './io/decode';
export { tensorToImage, gaussianBlur } from './ops/image';
export { axpy, addScaled, scale, fill, clamp, mul, type GpuScalar, type Scalar } from './ops/elementwise';
export { reduceSamples, reduceChannels, reduceBatch, percentile, percentileRank, type SampleReduction, type ChannelReduction, type BatchReduction } from './ops/reduce';
export { broadcastSamples, occludeBatch, maskBlend, type BroadcastOptions, type MaskBlendOptions, type Window } from './ops/batch_input';
export { regularize, regularizeScratch, type RegularizeOptions, type RegularizeScratch } from './ops/regularize';
export { tv, tvBackward, type TvOptions } from './ops/tv';
export { gram, gramBackward, gramLoss } from './ops/gram';
export { fourierPlan, spectrumShape, irfft2, irfft2Backward, toValidRgb, toValidRgbBackward, colorDecorrelation, COLOR_CORRELATION_SVD_SQRT, COLOR_MEAN, LUCID_FFT, type FourierPlan, type IrfftOptions, type RgbOptions } from './ops/fft';
export { affine, affineBackward, affineMatrix, affineMatrices, roll, type Affine, type AffineOptions, type AffineParams, type PadMode } from './ops/transform';
export { adamState, adamStep, normalizedStep, type AdamOptions, type AdamState } from './ops/optim';
export { pairwise, METRICS, type Metric } from './ops/pairwise';
export { topk, TOPK_MAX, type TopkOptions } from './ops/topk';
export { tsneState, tsneStep, type TsneState, type TsneStepParams } from './ops/tsne';

/**
 * Create the WebGPU runtime (adapter, device, buffer pool, pipeline cache). In Node on a machine
 * without a GPU it falls back to SwiftShader (set VK_ICD_FILENAMES, see engine/device.ts).
 * Call `destroy()` when done.
 */
export function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  return Runtime.create(options);
}
