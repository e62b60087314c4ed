// A kernel family's identity: its WGSL and entry points. Every family is listed in registry.ts.

import type { Program, ProgramSpec } from '../pipeline_cache';
import type { Resources, Runtime, UniformValues } from '../runtime';
import type { DispatchCost } from '../profile';
import type { UniformSource } from '../uniforms';
import type { Tensor } from '../tensor';

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
  // `constants` is present (undefined) so that a call site's `{ ...kernel, entryPoint, constants }`
  // only overwrites existing keys: V8 copies that in ~15 ns, but adding a key after a spread takes
  // ~0.4 us (Node 20), and every dispatch builds such a spec.
  return { ...def, entryPoints, entryPoint: entryPoints[0], constants: undefined };
}

/** Largest workgroup count per dispatch axis every WebGPU device supports (maxComputeWorkgroupsPerDimension default). */
export const MAX_GROUPS = 65535;

/**
 * Workgroups for `count` invocations per sample over `n` samples, as the element-wise shaders
 * expect: x folds into y past 65535 groups (i = gid.x + gid.y * num_workgroups.x * WG), samples
 * run along z.
 */
export function sampleGrid(count: number, n: number, wg: number, max = MAX_GROUPS): [number, number, number] {
  const groups = Math.ceil(count / wg);
  const x = Math.min(groups, max);
  return [x, Math.ceil(groups / x), n];
}

/**
 * A dispatch's cost estimate for the profiler: `flops`, and bytes moved as 4 bytes per element of
 * every tensor read or written (a number counts as that many elements).
 */
export function cost(flops: number, touched: readonly (Tensor | number | null)[], variant?: string): DispatchCost {
  const elements = touched.reduce<number>((a, t) => a + (t === null ? 0 : typeof t === 'number' ? t : t.size), 0);
  return variant === undefined ? { flops, bytes: 4 * elements } : { flops, bytes: 4 * elements, variant };
}

/**
 * A logical grid (X, Y, Z) of workgroups as a dispatch every device accepts: unchanged when each
 * axis fits in MAX_GROUPS, else its X*Y*Z workgroups laid out linearly over (MAX_GROUPS, rows, 1).
 * The WGSL recovers the logical workgroup from the linear index (`logical_id`, with the uniforms
 * grid_x, grid_y, grid_z) and returns early on the surplus ones (logical z >= grid_z).
 */
export function foldGrid(grid: readonly number[], max = MAX_GROUPS): { workgroups: [number, number, number]; uniforms: { grid_x: number; grid_y: number; grid_z: number } } {
  const [x, y = 1, z = 1] = grid;
  const uniforms = { grid_x: x, grid_y: y, grid_z: z };
  if (x <= max && y <= max && z <= max) return { workgroups: [x, y, z], uniforms };
  const rows = Math.ceil((x * y * z) / max);
  if (rows > max) throw new Error(`grid (${x}, ${y}, ${z}) has more than ${max}^2 workgroups`);
  return { workgroups: [max, rows, 1], uniforms };
}

/**
 * rt.dispatch of a family whose WGSL uses logical_id: the grid folded by foldGrid, its uniforms
 * packed with params (passed beside them, so a large params object is not copied per dispatch).
 */
export function dispatchFolded(rt: Runtime, program: Program, resources: Resources & { params: UniformSource }, grid: readonly number[], c: DispatchCost): void {
  const { workgroups, uniforms } = foldGrid(grid, rt.maxGroups);
  const params = resources.params;
  rt.dispatch(program, { ...resources, params: Array.isArray(params) ? [...params, uniforms] : [params as UniformValues, uniforms] }, workgroups, c);
}
