// A kernel family's identity: its WGSL and entry points. Every family is listed in registry.ts.

import type { ProgramSpec } from '../pipeline_cache';

export interface KernelDef {
  name: string;
  code: string;
  /** Compute entry points in the file; the first is the default. */
  entryPoints: readonly string[];
  /** The variants this family offers (e.g. 'tiled' for GPUs, 'direct' for CPU adapters). */
  variants?: readonly string[];
}

export function defineKernel(def: { name: string; code: string; entryPoints?: readonly string[]; variants?: readonly string[] }): KernelDef & ProgramSpec {
  const entryPoints = def.entryPoints ?? ['main'];
  return { ...def, entryPoints, entryPoint: entryPoints[0] };
}

const MAX_GROUPS = 65535;

/**
 * Workgroups for `count` invocations per sample over `n` samples, as the element-wise shaders
 * expect: x folds into y past 65535 groups (i = gid.x + gid.y * num_workgroups.x * WG), samples
 * run along z.
 */
export function sampleGrid(count: number, n: number, wg: number): [number, number, number] {
  const groups = Math.ceil(count / wg);
  const x = Math.min(groups, MAX_GROUPS);
  return [x, Math.ceil(groups / x), n];
}
