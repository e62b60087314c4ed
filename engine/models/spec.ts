// The converted model format: `weights/<model>/model.json` holds a ModelSpec, and
// `weights/<model>/weights.safetensors` the tensors it names. Converters (scripts/convert/) write
// it; engine/models/ loads and runs it. Layers are listed in topological order.

export type ChannelOrder = 'rgb' | 'bgr';

export interface InputSpec {
  /** Layer name of the input; other layers refer to it in `inputs`. Conventionally 'data'. */
  name: string;
  channels: 3;
  height: number;
  width: number;
  /** Channel order the network expects. */
  channelOrder: ChannelOrder;
  /**
   * Preprocessing, per channel in the network's channel order:
   *   value = (pixel_0_255 * scale - mean[c]) / std[c]
   * Caffe models: scale 1, mean [104, 117, 123] (BGR), std [1, 1, 1].
   * torchvision: scale 1/255, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225] (RGB).
   * TinyVGG: scale 1/255, mean 0, std 1 (RGB).
   */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** How a larger image is brought to height x width: resize the short side to this, then center crop. */
  resizeShortSide?: number;
}

/** [top, bottom, left, right]. */
export type Pad4 = [number, number, number, number];

interface LayerBase {
  name: string;
  inputs: string[];
}

export interface ConvLayer extends LayerBase {
  type: 'conv';
  /** Tensors `${name}.weight` (Cout, Cin/groups, KH, KW) i.e. OIHW, and `${name}.bias` (Cout). */
  outChannels: number;
  inChannels: number;
  kernel: [number, number];
  stride: [number, number];
  pad: Pad4;
  groups: number;
  bias: boolean;
}

export interface LinearLayer extends LayerBase {
  type: 'linear';
  /** Tensors `${name}.weight` (out, in) and `${name}.bias` (out). The input is flattened NCHW. */
  outFeatures: number;
  inFeatures: number;
  bias: boolean;
}

export interface ReluLayer extends LayerBase {
  type: 'relu';
}

export interface PoolLayer extends LayerBase {
  type: 'maxpool' | 'avgpool';
  kernel: [number, number];
  stride: [number, number];
  pad: Pad4;
  /** Caffe sizes outputs with ceil, PyTorch (default) and TF with floor. */
  ceil: boolean;
  /** avgpool: whether padded cells count in the divisor (Caffe and PyTorch default: true). */
  countIncludePad?: boolean;
}

export interface GlobalAvgPoolLayer extends LayerBase {
  type: 'globalavgpool';
}

/** PyTorch's AdaptiveAvgPool2d to a fixed output size (AlexNet's 6x6). */
export interface AdaptiveAvgPoolLayer extends LayerBase {
  type: 'adaptiveavgpool';
  output: [number, number];
}

export interface LrnLayer extends LayerBase {
  type: 'lrn';
  /** Caffe ACROSS_CHANNELS: y = x / (k + alpha/size * sum_{window} x^2)^beta. */
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

export interface ConcatLayer extends LayerBase {
  type: 'concat';
}

export interface DropoutLayer extends LayerBase {
  type: 'dropout';
  /** Identity at inference; kept so layer names match the source model. */
  ratio: number;
}

export interface FlattenLayer extends LayerBase {
  type: 'flatten';
}

export interface SoftmaxLayer extends LayerBase {
  type: 'softmax';
}

export type LayerSpec =
  | ConvLayer
  | LinearLayer
  | ReluLayer
  | PoolLayer
  | GlobalAvgPoolLayer
  | AdaptiveAvgPoolLayer
  | LrnLayer
  | ConcatLayer
  | DropoutLayer
  | FlattenLayer
  | SoftmaxLayer;

export type LayerType = LayerSpec['type'];

export interface ModelSpec {
  format: 'cnnvis-model';
  version: 1;
  /** e.g. 'squeezenet1_1', 'googlenet', 'alexnet', 'alexnet_caffe', 'tinyvgg'. */
  name: string;
  /** Where the weights came from (file, upstream source). */
  source: string;
  input: InputSpec;
  layers: LayerSpec[];
  /** Name of the layer whose output is the class scores (logits, before softmax). */
  logits: string;
  labels: string[];
}
