// Packing a uniform struct by member name into the byte layout the WGSL declares, straight into
// the runtime's scratch words (no allocation per dispatch). Errors name the kernel, the member and
// what was expected, like pipeline_cache.ts's packUniforms.

import type { BindingInfo, Program } from './pipeline_cache';

/** Bytes a packed struct occupies (WebGPU needs uniform bindings of at least 16 bytes). */
export function uniformBytes(b: BindingInfo): number {
  return Math.max(16, b.uniformSize ?? 0);
}

/**
 * Pack `values` for uniform binding `b` at byte `at` of `view` (zeroing the struct first, so
 * padding compares equal). Throws on a missing or unknown member, a wrong vector length, or a
 * negative / fractional u32.
 */
export function packInto(program: Program, b: BindingInfo, values: Record<string, number | readonly number[]>, view: DataView, at: number): void {
  const size = uniformBytes(b);
  for (let i = 0; i < size; i += 4) view.setUint32(at + i, 0, true);
  const members = b.members ?? [];
  for (const m of members) {
    const v = values[m.name];
    if (v === undefined) throw new Error(`${program.label}: uniform ${b.name}.${m.name} was not given`);
    if (typeof v === 'number') {
      if (m.count !== 1) throw new Error(`${program.label}: uniform ${b.name}.${m.name} expects ${m.count} values, got 1`);
      put(program, b, m.name, m.type, view, at + m.offset, v);
    } else {
      if (v.length !== m.count) throw new Error(`${program.label}: uniform ${b.name}.${m.name} expects ${m.count} values, got ${v.length}`);
      for (let i = 0; i < v.length; i++) put(program, b, m.name, m.type, view, at + m.offset + 4 * i, v[i]);
    }
  }
  let given = 0;
  for (const k in values) if (Object.hasOwn(values, k)) given++;
  if (given !== members.length) {
    const known = new Set(members.map((m) => m.name));
    const extra = Object.keys(values).find((k) => !known.has(k));
    throw new Error(`${program.label}: ${b.name} has no member '${extra}'`);
  }
}

function put(program: Program, b: BindingInfo, name: string, type: string, view: DataView, at: number, x: number): void {
  if (type === 'f32') view.setFloat32(at, x, true);
  else if (type === 'i32') view.setInt32(at, x, true);
  else {
    if (x < 0 || !Number.isInteger(x)) throw new Error(`${program.label}: uniform ${b.name}.${name} must be a non-negative integer, got ${x}`);
    view.setUint32(at, x, true);
  }
}
