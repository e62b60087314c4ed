// The one explicit list of every kernel family the engine has. Tests compile every entry point
// of every family here, and benchmarks enumerate variants from it.

import { copyKernel } from './concat';
import { conv2dBackwardInputKernel, conv2dBackwardWeightsKernel, conv2dKernel } from './conv2d';
import { gaussianBlurKernel, imageToTensorKernel, tensorToImageKernel } from './image';
import type { KernelDef } from './kernel';
import { linearBackwardInputKernel, linearBackwardWeightsKernel, linearGemvKernel, linearRegisterKernel, linearTiledKernel } from './linear';
import { lrnBackwardKernel, lrnKernel } from './lrn';
import { avgPoolBackwardKernel, avgPoolKernel, maxPoolBackwardKernel, maxPoolKernel } from './pool';
import { reluBackwardKernel, reluForwardKernel } from './relu';
import { softmaxBackwardKernel, softmaxKernel } from './softmax';
import { sumKernel } from './sum';

export const KERNELS: readonly KernelDef[] = [
  conv2dKernel,
  conv2dBackwardInputKernel,
  conv2dBackwardWeightsKernel,
  linearRegisterKernel,
  linearTiledKernel,
  linearGemvKernel,
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
];
