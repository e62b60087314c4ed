// The one explicit list of every kernel family the engine has. Tests compile every entry point
// of every family here, and benchmarks enumerate variants from it.

import { batchInputKernel } from './batch_input';
import { copyKernel } from './concat';
import { conv2dBackwardInputKernel, conv2dBackwardWeightsKernel, conv2dDirectSubgroupKernel, conv2dKernel } from './conv2d';
import { elementwiseKernel } from './elementwise';
import { gaussianBlurKernel, imageToTensorKernel, tensorToImageKernel } from './image';
import type { KernelDef } from './kernel';
import { linearBackwardInputKernel, linearBackwardWeightsKernel, linearGemvKernel, linearGemvSubgroupKernel, linearRegisterKernel, linearTiledKernel } from './linear';
import { lrnBackwardKernel, lrnKernel } from './lrn';
import { avgPoolBackwardKernel, avgPoolKernel, maxPoolBackwardKernel, maxPoolKernel } from './pool';
import { reduceKernel } from './reduce';
import { reluBackwardKernel, reluForwardKernel } from './relu';
import { softmaxBackwardKernel, softmaxKernel } from './softmax';
import { sumKernel } from './sum';
import { fftKernel, toRgbKernel } from './fft';
import { gramKernel } from './gram';
import { adamKernel } from './optim';
import { regularizeKernel } from './regularize';
import { transformKernel } from './transform';
import { tvKernel } from './tv';
import { pairwiseKernel } from './pairwise';
import { topkKernel } from './topk';
import { tsneKernel } from './tsne';

export const KERNELS: readonly KernelDef[] = [
  conv2dKernel,
  conv2dDirectSubgroupKernel,
  conv2dBackwardInputKernel,
  conv2dBackwardWeightsKernel,
  linearRegisterKernel,
  linearTiledKernel,
  linearGemvKernel,
  linearGemvSubgroupKernel,
  linearBackwardInputKernel,
  linearBackwardWeightsKernel,
  reluForwardKernel,
  reluBackwardKernel,
  maxPoolKernel,
  maxPoolBackwardKernel,
  avgPoolKernel,
  avgPoolBackwardKernel,
  lrnKernel,
  lrnBackwardKernel,
  copyKernel,
  sumKernel,
  softmaxKernel,
  softmaxBackwardKernel,
  imageToTensorKernel,
  tensorToImageKernel,
  gaussianBlurKernel,
  elementwiseKernel,
  reduceKernel,
  batchInputKernel,
  regularizeKernel,
  tvKernel,
  gramKernel,
  fftKernel,
  toRgbKernel,
  transformKernel,
  adamKernel,
  pairwiseKernel,
  topkKernel,
  tsneKernel,
];
