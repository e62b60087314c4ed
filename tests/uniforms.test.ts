// Uniform packing (engine/uniforms.ts): the compiled packer against the plain reference packer
// (tests/reference/uniforms.ts packUniforms) on seeded random structs, values given as one object or split
// over several (a later one winning, as in an object spread), and every error naming the kernel
// and the member.

import { describe, expect, it } from 'vitest';
import type { BindingInfo, Program, ScalarType } from '../engine/pipeline_cache';
import { packerFor, packInto, uniformScratch, type UniformObject } from '../engine/uniforms';
import { rng } from './helpers/random';
import { packUniforms } from './reference/uniforms';

const program = { label: 'test:main' } as Program;

/** A struct of `count` members with random types and lengths, laid out like WGSL (vec3 aligned to 16). */
function randomStruct(seed: number, count: number): BindingInfo {
  const r = rng(seed);
  const types: ScalarType[] = ['u32', 'i32', 'f32'];
  const members = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const n = r() < 0.75 ? 1 : 2 + Math.floor(r() * 3);
    const align = n === 1 ? 4 : n === 2 ? 8 : 16;
    offset = Math.ceil(offset / align) * align;
    members.push({ name: `m${i}`, offset, type: types[Math.floor(r() * 3)], count: n });
    offset += 4 * n;
  }
  return { name: 'params', binding: 0, kind: 'uniform', uniformSize: Math.ceil(offset / 16) * 16, members };
}

function randomValues(seed: number, b: BindingInfo): UniformObject {
  const r = rng(seed);
  const value = (t: ScalarType) => (t === 'u32' ? Math.floor(r() * 2 ** 32) : t === 'i32' ? Math.floor((r() - 0.5) * 2 ** 32) : (r() - 0.5) * 1e6);
  return Object.fromEntries(b.members!.map((m) => [m.name, m.count === 1 ? value(m.type) : Array.from({ length: m.count }, () => value(m.type))]));
}

/** Pack at word `at` of a scratch pre-filled with garbage; returns the struct's bytes. */
function packed(b: BindingInfo, values: UniformObject | UniformObject[], at = 8): Uint8Array {
  const s = uniformScratch(2048);
  s.u32.fill(0xdeadbeef);
  packInto(program, b, values, s, at);
  return new Uint8Array(s.u32.buffer, at * 4, packerFor(b).size * 4);
}

function expectBytes(got: Uint8Array, want: ArrayBuffer, what: string): void {
  const w = new Uint8Array(want);
  const bad = got.findIndex((v, i) => v !== w[i]);
  expect(bad, `${what}: first differing byte ${bad} (got ${got[bad]}, expected ${w[bad]})`).toBe(-1);
  expect(got.length).toBe(w.length);
}

describe('packInto', () => {
  it.each([1, 3, 17, 42])('matches the reference packer on a random struct of %i members', (count) => {
    for (let seed = 1; seed <= 5; seed++) {
      const b = randomStruct(seed * 100 + count, count);
      const values = randomValues(seed, b);
      const want = packUniforms(program, b, values);
      expectBytes(packed(b, values), want, `one object, seed ${seed}`);
      // Split over sources; the last source overrides a member the first also gives.
      const names = Object.keys(values);
      const cut = Math.floor(names.length / 2);
      const zero = (v: UniformObject[string]) => (typeof v === 'number' ? 0 : v.map(() => 0));
      const first = Object.fromEntries(names.slice(0, cut + 1).map((k) => [k, k === names[cut] ? zero(values[k]) : values[k]]));
      const rest = Object.fromEntries(names.slice(cut).map((k) => [k, values[k]]));
      expectBytes(packed(b, [first, {}, rest]), want, `split, seed ${seed}`);
    }
  });

  it('zeroes the padding and packs again after an error', () => {
    const b = randomStruct(7, 5);
    const values = randomValues(8, b);
    expect(() => packed(b, { ...values, bogus: 1 })).toThrow(/test:main: params has no member 'bogus'/);
    expectBytes(packed(b, values), packUniforms(program, b, values), 'after an error');
  });

  it.each([
    ['a missing member', (v: UniformObject) => { const { m1: _, ...rest } = v; return rest; }, /test:main: uniform params\.m1 was not given/],
    ['a member given as undefined', (v: UniformObject) => ({ ...v, m1: undefined as unknown as number }), /uniform params\.m1 was not given/],
    ['an unknown member', (v: UniformObject) => ({ ...v, bogus: 1 }), /test:main: params has no member 'bogus'/],
    ['a vector for a scalar', (v: UniformObject) => ({ ...v, m0: [1, 2] }), /uniform params\.m0 expects 1 values, got 2/],
    ['a scalar for a vector', (v: UniformObject) => ({ ...v, m2: 1 }), /uniform params\.m2 expects 3 values, got 1/],
    ['a negative u32', (v: UniformObject) => ({ ...v, m0: -1 }), /uniform params\.m0 must be a non-negative integer, got -1/],
    ['a fractional u32', (v: UniformObject) => ({ ...v, m0: 1.5 }), /uniform params\.m0 must be a non-negative integer, got 1\.5/],
  ])('names the kernel and the member: %s', (_, edit, message) => {
    const b: BindingInfo = {
      name: 'params', binding: 0, kind: 'uniform', uniformSize: 32,
      members: [{ name: 'm0', offset: 0, type: 'u32', count: 1 }, { name: 'm1', offset: 4, type: 'f32', count: 1 }, { name: 'm2', offset: 16, type: 'i32', count: 3 }],
    };
    const values: UniformObject = { m0: 3, m1: 0.5, m2: [-1, 2, -3] };
    expectBytes(packed(b, values), packUniforms(program, b, values), 'valid');
    expect(() => packed(b, edit(values))).toThrow(message);
    // The same error when the values come split over two sources.
    const edited: UniformObject = edit(values);
    const [k0, ...ks] = Object.keys(edited);
    expect(() => packed(b, [{ [k0]: edited[k0] }, Object.fromEntries(ks.map((k) => [k, edited[k]]))])).toThrow(message);
  });
});
