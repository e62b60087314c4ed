// Shader reflection made ahead of time (engine/shader_reflection.generated.ts): the file on disk is
// what scripts/reflect_shaders.ts makes from the shaders now, every entry equals wgsl_reflect's
// reflection of the live code, every kernel family resolves from the table without parsing, and
// WGSL not in the table (a test's inline shader, an edited file) is still parsed correctly.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNELS } from '../engine/kernels/registry';
import { PipelineCache } from '../engine/pipeline_cache';
import { moduleReflection, reflectionStats, reflectWgsl, wgslHash } from '../engine/shader_reflection';
import { REFLECTED } from '../engine/shader_reflection.generated';
import { GENERATED_PATH, reflectionSource, shaderFiles } from '../scripts/lib/reflect_shaders';
import { REPO_ROOT } from './helpers/browser';

const INLINE = `struct P { n: u32, a: f32, v: vec2<f32> }
@group(0) @binding(0) var<uniform> params: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
override WG: u32 = 64;
@compute @workgroup_size(WG, 2) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < params.n) { y[g.x] = params.a * x[g.x]; } }`;

describe('shader reflection made ahead of time', () => {
  it(`${GENERATED_PATH} is up to date with shaders/ (else run \`npx vite-node scripts/reflect_shaders.ts\`)`, () => {
    const onDisk = readFileSync(join(REPO_ROOT, GENERATED_PATH), 'utf8');
    expect(onDisk === reflectionSource(REPO_ROOT), `${GENERATED_PATH} is stale: run \`npx vite-node scripts/reflect_shaders.ts\``).toBe(true);
  });

  it('holds every shaders/ file once, under distinct hashes, each equal to the live reflection', () => {
    const files = shaderFiles(REPO_ROOT);
    expect(Object.keys(REFLECTED).length).toBe(files.length);
    for (const path of files) {
      const code = readFileSync(path, 'utf8');
      const entry = REFLECTED[wgslHash(code)];
      const file = path.split('/').pop()!;
      expect(entry?.file, `${file} in the table`).toBe(file);
      expect(entry.entryPoints, file).toEqual(reflectWgsl(file, code));
    }
  });

  it('resolves every kernel family and entry point from the table, parsing nothing', () => {
    const cache = new PipelineCache({} as GPUDevice); // plan() creates no GPU object
    const before = { ...reflectionStats };
    for (const k of KERNELS) {
      for (const entryPoint of k.entryPoints) {
        const plan = cache.plan({ name: k.name, code: k.code, entryPoint });
        expect(plan.bindings, `${k.name}:${entryPoint}`).toEqual(reflectWgsl(k.name, k.code)[entryPoint].bindings);
      }
    }
    expect(reflectionStats.parsed - before.parsed, 'modules parsed at run time').toBe(0);
    expect(reflectionStats.pregenerated - before.pregenerated, 'modules from the table (one per family: the cache keeps them)').toBe(new Set(KERNELS.map((k) => k.code)).size);
  });

  it('parses WGSL that is not in the table: uniform members, access modes, override workgroup sizes', () => {
    const before = reflectionStats.parsed;
    const r = moduleReflection('inline', INLINE);
    expect(reflectionStats.parsed).toBe(before + 1);
    expect(r.main.bindings).toEqual([
      { name: 'params', binding: 0, kind: 'uniform', uniformSize: 16, members: [
        { name: 'n', offset: 0, type: 'u32', count: 1 }, { name: 'a', offset: 4, type: 'f32', count: 1 }, { name: 'v', offset: 8, type: 'f32', count: 2 },
      ] },
      { name: 'x', binding: 1, kind: 'read' },
      { name: 'y', binding: 2, kind: 'read_write' },
    ]);
    const cache = new PipelineCache({} as GPUDevice);
    expect(cache.plan({ name: 'inline', code: INLINE, constants: { WG: 32 } }).workgroupSize).toEqual([32, 2, 1]);
    expect(cache.plan({ name: 'inline', code: INLINE }).workgroupSize).toEqual([64, 2, 1]);
    expect(() => cache.plan({ name: 'inline', code: INLINE, entryPoint: 'nope' })).toThrow("inline.wgsl has no compute entry point 'nope' (has main)");
  });

  it('an edited shader misses the table (its hash changes) and is parsed instead', () => {
    const k = KERNELS[0];
    const edited = `${k.code}\n// edited\n`;
    expect(wgslHash(edited)).not.toBe(wgslHash(k.code));
    expect(REFLECTED[wgslHash(edited)]).toBeUndefined();
    const before = reflectionStats.parsed;
    expect(moduleReflection(k.name, edited)).toEqual(reflectWgsl(k.name, k.code));
    expect(reflectionStats.parsed).toBe(before + 1);
  });
});
