// Strided copy kernel for concat: places an input that was not written in place into its channel
// slice of the output. Shapes are checked by engine/ops/concat.ts.

import code from '../../shaders/copy.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { cost, defineKernel, sampleGrid } from './kernel';

const WG = 256;

export const copyKernel = defineKernel({ name: 'copy', code });

/** dst = src, element for element; both (N, C, H, W) of one shape, either may be a view. */
export function dispatchCopy(rt: Runtime, src: Tensor, dst: Tensor): void {
  const program = rt.program({ ...copyKernel, constants: { WG } });
  const params = [{ per_sample: dst.sampleSize }, src.layout('src'), dst.layout('dst')];
  rt.dispatch(program, { params, src, dst }, sampleGrid(dst.sampleSize, dst.n, WG, rt.maxGroups), cost(0, [src, dst]));
}
