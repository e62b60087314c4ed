// AlexNet specs. No pretrained weights ship with the project: the torchvision form is converted
// from torchvision's `alexnet-owt-7be5be79.pth` (scripts/convert/alexnet.ts), and the Caffe form
// describes BVLC AlexNet for Caffe weights converted elsewhere.

import type { ConvLayer, LayerSpec, ModelSpec, Pad4 } from './spec';

function conv(name: string, input: string, inC: number, outC: number, k: number, s: number, p: number, groups = 1): ConvLayer {
  const pad: Pad4 = [p, p, p, p];
  return { type: 'conv', name, inputs: [input], outChannels: outC, inChannels: inC, kernel: [k, k], stride: [s, s], pad, groups, bias: true };
}

/**
 * torchvision.models.alexnet (the "one weird trick" variant): layer names are torchvision's module
 * paths (features.0 ... classifier.6), so state-dict keys map one to one onto `${layer}.weight`.
 */
export function alexnetTorchvisionSpec(labels: string[]): ModelSpec {
  const maxpool = (name: string, input: string): LayerSpec => ({ type: 'maxpool', name, inputs: [input], kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false });
  const layers: LayerSpec[] = [
    conv('features.0', 'data', 3, 64, 11, 4, 2),
    { type: 'relu', name: 'features.1', inputs: ['features.0'] },
    maxpool('features.2', 'features.1'),
    conv('features.3', 'features.2', 64, 192, 5, 1, 2),
    { type: 'relu', name: 'features.4', inputs: ['features.3'] },
    maxpool('features.5', 'features.4'),
    conv('features.6', 'features.5', 192, 384, 3, 1, 1),
    { type: 'relu', name: 'features.7', inputs: ['features.6'] },
    conv('features.8', 'features.7', 384, 256, 3, 1, 1),
    { type: 'relu', name: 'features.9', inputs: ['features.8'] },
    conv('features.10', 'features.9', 256, 256, 3, 1, 1),
    { type: 'relu', name: 'features.11', inputs: ['features.10'] },
    maxpool('features.12', 'features.11'),
    { type: 'adaptiveavgpool', name: 'avgpool', inputs: ['features.12'], output: [6, 6] },
    { type: 'dropout', name: 'classifier.0', inputs: ['avgpool'], ratio: 0.5 },
    { type: 'linear', name: 'classifier.1', inputs: ['classifier.0'], outFeatures: 4096, inFeatures: 256 * 6 * 6, bias: true },
    { type: 'relu', name: 'classifier.2', inputs: ['classifier.1'] },
    { type: 'dropout', name: 'classifier.3', inputs: ['classifier.2'], ratio: 0.5 },
    { type: 'linear', name: 'classifier.4', inputs: ['classifier.3'], outFeatures: 4096, inFeatures: 4096, bias: true },
    { type: 'relu', name: 'classifier.5', inputs: ['classifier.4'] },
    { type: 'linear', name: 'classifier.6', inputs: ['classifier.5'], outFeatures: 1000, inFeatures: 4096, bias: true },
  ];
  return {
    format: 'cnnvis-model', version: 1, name: 'alexnet',
    source: 'torchvision alexnet-owt-7be5be79.pth (https://download.pytorch.org/models/alexnet-owt-7be5be79.pth)',
    input: {
      name: 'data', channels: 3, height: 224, width: 224, channelOrder: 'rgb',
      scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resizeShortSide: 256,
    },
    layers,
    logits: 'classifier.6',
    labels,
  };
}

/** BVLC AlexNet as in Caffe's models/bvlc_alexnet/deploy.prototxt (grouped conv2/4/5, LRN, ceil pooling). */
export function alexnetCaffeSpec(labels: string[]): ModelSpec {
  const lrn = (name: string, input: string): LayerSpec => ({ type: 'lrn', name, inputs: [input], size: 5, alpha: 1e-4, beta: 0.75, k: 1 });
  const pool = (name: string, input: string): LayerSpec => ({ type: 'maxpool', name, inputs: [input], kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: true });
  const layers: LayerSpec[] = [
    conv('conv1', 'data', 3, 96, 11, 4, 0),
    { type: 'relu', name: 'relu1', inputs: ['conv1'] },
    lrn('norm1', 'relu1'),
    pool('pool1', 'norm1'),
    conv('conv2', 'pool1', 96, 256, 5, 1, 2, 2),
    { type: 'relu', name: 'relu2', inputs: ['conv2'] },
    lrn('norm2', 'relu2'),
    pool('pool2', 'norm2'),
    conv('conv3', 'pool2', 256, 384, 3, 1, 1),
    { type: 'relu', name: 'relu3', inputs: ['conv3'] },
    conv('conv4', 'relu3', 384, 384, 3, 1, 1, 2),
    { type: 'relu', name: 'relu4', inputs: ['conv4'] },
    conv('conv5', 'relu4', 384, 256, 3, 1, 1, 2),
    { type: 'relu', name: 'relu5', inputs: ['conv5'] },
    pool('pool5', 'relu5'),
    { type: 'linear', name: 'fc6', inputs: ['pool5'], outFeatures: 4096, inFeatures: 256 * 6 * 6, bias: true },
    { type: 'relu', name: 'relu6', inputs: ['fc6'] },
    { type: 'dropout', name: 'drop6', inputs: ['relu6'], ratio: 0.5 },
    { type: 'linear', name: 'fc7', inputs: ['drop6'], outFeatures: 4096, inFeatures: 4096, bias: true },
    { type: 'relu', name: 'relu7', inputs: ['fc7'] },
    { type: 'dropout', name: 'drop7', inputs: ['relu7'], ratio: 0.5 },
    { type: 'linear', name: 'fc8', inputs: ['drop7'], outFeatures: 1000, inFeatures: 4096, bias: true },
    { type: 'softmax', name: 'prob', inputs: ['fc8'] },
  ];
  return {
    format: 'cnnvis-model', version: 1, name: 'alexnet_caffe',
    source: 'BVLC AlexNet (Caffe models/bvlc_alexnet)',
    input: {
      name: 'data', channels: 3, height: 227, width: 227, channelOrder: 'bgr',
      scale: 1, mean: [104, 117, 123], std: [1, 1, 1], resizeShortSide: 256,
    },
    layers,
    logits: 'fc8',
    labels,
  };
}
