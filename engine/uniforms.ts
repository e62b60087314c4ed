// Packing a uniform struct by member name into the byte layout the WGSL declares, straight into
// the runtime's scratch words (no allocation per dispatch). Each binding's layout is compiled once
// (packerFor: member names, word offsets, types and lengths in flat arrays), so a dispatch writes
// each value by index into typed-array views. Values come as one object or as several (e.g. a
// kernel's params plus the folded grid's grid_x/y/z; a later one wins, as in an object spread), so
// callers need not copy a large params object to add a few members. Errors name the kernel, the member and what was
// expected (tests/uniforms.test.ts checks both against tests/reference/uniforms.ts).

import type { BindingInfo, Program } from './pipeline_cache';

export type UniformValue = number | readonly number[];
export type UniformObject = Record<string, UniformValue>;
/** A uniform struct's values: one object, or several whose keys together are exactly the struct's members (a later one wins, like `{ ...a, ...b }`). */
export type UniformSource = UniformObject | readonly UniformObject[];

/** Bytes a packed struct occupies (WebGPU needs uniform bindings of at least 16 bytes). */
export function uniformBytes(b: BindingInfo): number {
  return Math.max(16, b.uniformSize ?? 0);
}

const U32 = 0;
const I32 = 1;
const F32 = 2;

/** A uniform binding's layout as flat arrays (word offsets, type codes, lengths), made once per binding. */
export interface Packer {
  readonly names: readonly string[];
  /** Member index by name. */
  readonly index: ReadonlyMap<string, number>;
  readonly words: Int32Array;
  readonly types: Uint8Array;
  readonly counts: Uint8Array;
  /** 32-bit words the struct occupies (uniformBytes / 4). */
  readonly size: number;
  /** Per member, the pack call that last gave it (finds missing members without a set per call). */
  readonly stamp: Float64Array;
  calls: number;
}

const packers = new WeakMap<BindingInfo, Packer>();

export function packerFor(b: BindingInfo): Packer {
  let p = packers.get(b);
  if (!p) {
    const members = b.members ?? [];
    p = {
      names: members.map((m) => m.name),
      index: new Map(members.map((m, i) => [m.name, i])),
      words: Int32Array.from(members, (m) => m.offset / 4),
      types: Uint8Array.from(members, (m) => (m.type === 'f32' ? F32 : m.type === 'i32' ? I32 : U32)),
      counts: Uint8Array.from(members, (m) => m.count),
      size: uniformBytes(b) / 4,
      stamp: new Float64Array(members.length),
      calls: 0,
    };
    packers.set(b, p);
  }
  return p;
}

/** Typed views of one scratch buffer, so a value is stored by index with the member's type. */
export interface UniformScratch {
  u32: Uint32Array;
  i32: Int32Array;
  f32: Float32Array;
}

export function uniformScratch(bytes: number): UniformScratch {
  const buf = new ArrayBuffer(bytes);
  return { u32: new Uint32Array(buf), i32: new Int32Array(buf), f32: new Float32Array(buf) };
}

/**
 * Pack `values` for uniform binding `b` at word `at` of `s` (zeroing the struct first, so
 * padding compares equal). Walks the given keys (each source in order, a later one overwriting
 * an earlier one's member, as an object spread would) and looks each up in the compiled layout.
 * Throws on a missing or unknown member, a wrong vector length, or a negative / fractional u32.
 */
export function packInto(program: Program, b: BindingInfo, values: UniformSource, s: UniformScratch, at: number): void {
  const p = packerFor(b);
  s.u32.fill(0, at, at + p.size);
  const call = ++p.calls;
  let given = 0;
  if (Array.isArray(values)) for (const o of values as readonly UniformObject[]) given += packObject(program, b, p, o, s, at, call);
  else given = packObject(program, b, p, values as UniformObject, s, at, call);
  if (given !== p.names.length) {
    const missing = p.names.find((_, i) => p.stamp[i] !== call);
    throw new Error(`${program.label}: uniform ${b.name}.${missing} was not given`);
  }
}

/** Pack one source's members; returns how many members it gave that no earlier source of this call did. */
function packObject(program: Program, b: BindingInfo, p: Packer, o: UniformObject, s: UniformScratch, at: number, call: number): number {
  let fresh = 0;
  for (const name in o) {
    if (!Object.hasOwn(o, name)) continue;
    const v = o[name];
    const i = p.index.get(name);
    if (i === undefined) throw new Error(`${program.label}: ${b.name} has no member '${name}'`);
    // An explicit undefined counts as not given.
    if (v === undefined) continue;
    if (p.stamp[i] !== call) {
      p.stamp[i] = call;
      fresh++;
    }
    const w = at + p.words[i];
    const t = p.types[i];
    if (typeof v === 'number') {
      if (p.counts[i] !== 1) throw new Error(`${program.label}: uniform ${b.name}.${name} expects ${p.counts[i]} values, got 1`);
      put(program, b, name, t, s, w, v);
    } else {
      if (v.length !== p.counts[i]) throw new Error(`${program.label}: uniform ${b.name}.${name} expects ${p.counts[i]} values, got ${v.length}`);
      for (let k = 0; k < v.length; k++) put(program, b, name, t, s, w + k, v[k]);
    }
  }
  return fresh;
}

function put(program: Program, b: BindingInfo, name: string, type: number, s: UniformScratch, w: number, x: number): void {
  if (type === F32) s.f32[w] = x;
  else if (type === I32) s.i32[w] = x;
  else {
    if (x < 0 || !Number.isInteger(x)) throw new Error(`${program.label}: uniform ${b.name}.${name} must be a non-negative integer, got ${x}`);
    s.u32[w] = x;
  }
}
