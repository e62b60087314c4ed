// The plain reference uniform packer: a struct packed member by member through a DataView, with
// the errors engine/uniforms.ts must give (a missing member, a wrong length, a negative or
// fractional u32, an unknown member). tests/uniforms.test.ts checks the compiled packer against it.

import type { BindingInfo, Program } from '../../engine/pipeline_cache';

/** Pack named uniform values into the byte layout the WGSL struct declares. */
export function packUniforms(program: Program, b: BindingInfo, values: Record<string, number | readonly number[]>): ArrayBuffer {
  const data = new ArrayBuffer(Math.max(16, b.uniformSize ?? 0));
  const view = new DataView(data);
  const seen = new Set<string>();
  for (const m of b.members ?? []) {
    const v = values[m.name];
    if (v === undefined) throw new Error(`${program.label}: uniform ${b.name}.${m.name} was not given`);
    seen.add(m.name);
    const arr = typeof v === 'number' ? [v] : v;
    if (arr.length !== m.count) throw new Error(`${program.label}: uniform ${b.name}.${m.name} expects ${m.count} values, got ${arr.length}`);
    arr.forEach((x, i) => {
      const at = m.offset + 4 * i;
      if (m.type === 'f32') view.setFloat32(at, x, true);
      else if (m.type === 'i32') view.setInt32(at, x, true);
      else {
        if (x < 0 || !Number.isInteger(x)) throw new Error(`${program.label}: uniform ${b.name}.${m.name} must be a non-negative integer, got ${x}`);
        view.setUint32(at, x, true);
      }
    });
  }
  for (const k of Object.keys(values)) {
    if (!seen.has(k)) throw new Error(`${program.label}: ${b.name} has no member '${k}'`);
  }
  return data;
}
