// What the pipeline cache needs to know about a WGSL module, read from the WGSL itself: per compute
// entry point, the buffers it binds (uniform structs with their member offsets) and its
// @workgroup_size. Parsing WGSL (wgsl_reflect) takes 100-350 ms of main-thread time per large
// shader in a browser, so every file in shaders/ is reflected ahead of time into
// shader_reflection.generated.ts (scripts/reflect_shaders.ts; vite.config.ts regenerates it on the
// fly for the dev server and the build), looked up by a hash of the code; other WGSL (a test's
// inline shader) is reflected here at run time.

import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { REFLECTED } from './shader_reflection.generated.js';

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface UniformMember {
  name: string;
  offset: number;
  type: ScalarType;
  /** 1 for scalars, 2..4 for vectors. */
  count: number;
}

export interface BindingInfo {
  name: string;
  binding: number;
  kind: 'uniform' | 'read' | 'read_write';
  /** Byte size and members when kind === 'uniform'. */
  uniformSize?: number;
  members?: UniformMember[];
}

export interface EntryInfo {
  /** Bindings the entry point actually uses, by binding number. */
  bindings: BindingInfo[];
  /** @workgroup_size arguments as written (literals or override names). */
  sizeArgs: string[];
  /** The workgroup size with every override at its default. */
  defaultSize: [number, number, number];
}

/** A module's compute entry points by name (plain data: JSON in the generated file). */
export type ModuleReflection = Record<string, EntryInfo>;

const SHORTHAND: Record<string, ScalarType> = { f: 'f32', i: 'i32', u: 'u32' };

function scalarOf(name: string, format?: string): { type: ScalarType; count: number } {
  // vecN<T>, or the shorthands vecNf / vecNi / vecNu.
  const vec = /^vec([234])([fiu])?$/.exec(name);
  const t = vec ? (vec[2] ? SHORTHAND[vec[2]] : format) : name;
  if (t !== 'u32' && t !== 'i32' && t !== 'f32') {
    throw new Error(`uniform member type ${name}${format ? `<${format}>` : ''} is not supported (use u32/i32/f32 and vectors of them)`);
  }
  return { type: t, count: vec ? Number(vec[1]) : 1 };
}

type ReflectedVar = WgslReflect['uniforms'][number];
interface ReflectedMember {
  name: string;
  offset: number;
  type: { name: string; format?: { name: string } };
}

function bindingOf(name: string, v: ReflectedVar): BindingInfo {
  if (v.group !== 0) throw new Error(`${name}.wgsl: only @group(0) is supported, found ${v.name} in group ${v.group}`);
  if (v.resourceType === 0) {
    const members = ((v.type as unknown as { members?: ReflectedMember[] }).members ?? []).map((m) => ({
      name: m.name,
      offset: m.offset,
      ...scalarOf(m.type.name, m.type.format?.name),
    }));
    return { name: v.name, binding: v.binding, kind: 'uniform', uniformSize: v.size, members };
  }
  if (v.resourceType === 1) return { name: v.name, binding: v.binding, kind: v.access === 'read' ? 'read' : 'read_write' };
  throw new Error(`${name}.wgsl: binding ${v.name} is not a buffer`);
}

/** Parse `code` (wgsl_reflect) and describe its compute entry points; `name` is for errors. */
export function reflectWgsl(name: string, code: string): ModuleReflection {
  const r = new WgslReflect(code);
  const entryPoints: ModuleReflection = {};
  for (const e of r.entry.compute) {
    const attr = e.attributes?.find((a) => a.name === 'workgroup_size')?.value;
    const sizeArgs = attr === undefined || attr === null ? [] : Array.isArray(attr) ? attr.map(String) : [String(attr)];
    const d = e.workgroupSize ?? [1, 1, 1];
    entryPoints[e.name] = {
      bindings: e.resources.map((v) => bindingOf(name, v)).sort((a, b) => a.binding - b.binding),
      sizeArgs,
      defaultSize: [d[0] ?? 1, d[1] ?? 1, d[2] ?? 1],
    };
  }
  return entryPoints;
}

/** A 53-bit hash of the code (cyrb53) as 14 hex digits: the generated table's key. */
export function wgslHash(code: string): string {
  let h1 = 0xdeadbeef ^ code.length;
  let h2 = 0x41c6ce57 ^ code.length;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

/** How many modules were parsed at run time (not found in the generated table), for tests. */
export const reflectionStats = { parsed: 0, pregenerated: 0 };

/**
 * The reflection of `code`: from the generated table when the code is a shaders/ file as it was
 * when the table was made, else parsed now.
 */
export function moduleReflection(name: string, code: string): ModuleReflection {
  const hit = REFLECTED[wgslHash(code)];
  if (hit) {
    reflectionStats.pregenerated++;
    return hit.entryPoints;
  }
  reflectionStats.parsed++;
  return reflectWgsl(name, code);
}
