// The one explicit list of every kernel family the engine has. Tests compile every entry point
// of every family here, and benchmarks enumerate variants from it.

import type { KernelDef } from './kernel';
import { reluBackwardKernel, reluForwardKernel } from './relu';

export const KERNELS: readonly KernelDef[] = [
  reluForwardKernel,
  reluBackwardKernel,
];
