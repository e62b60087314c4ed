// The autotuning cache (engine/autotune.ts): picking the fastest variant per family, the cache per
// adapter (memory, localStorage, a JSON file), corrupt caches, and Runtime.create({ autotune })
// starting with the cached variants (explicit `variants` still win), and a stale cache: a cached
// variant the device cannot run falls back to the default with a warning, a forced one still throws.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adapterKey, autotune, cachedVariants, localStorageStore, memoryStore, parseTuneFile, recordChoice, tuneFromTimings, usableVariants,
} from '../engine/autotune';
import { linearVariant } from '../engine/kernels/linear';
import { linear } from '../engine/ops/linear';
import { Runtime } from '../engine/runtime';
import { Tensor } from '../engine/tensor';
import { randomArray } from './helpers/random';
import { jsonFileStore } from '../scripts/bench/tune_file';
import { gpu } from './helpers/gpu';

const A = { vendor: 'acme', architecture: 'rdna9', device: 'x1', description: '' };
const B = { vendor: 'acme', architecture: 'rdna9', device: 'x2', description: '' };

describe('tuneFromTimings', () => {
  it('picks the lowest geometric mean per family over fully measured cases', () => {
    const { variants, evidence } = tuneFromTimings([
      { family: 'conv2d', variants: { direct: 10, tiled: 1 } },
      { family: 'conv2d', variants: { direct: 1, tiled: 4 } }, // geomean direct sqrt(10) = 3.16 > tiled 2
      { family: 'conv2d', variants: { direct: 1, tiled: null } }, // incomplete: ignored
      { family: 'linear', variants: { register: 3, tiled: 2, gemv: 5 } },
      { family: 'gram', variants: { tiled: null, direct: 1 } }, // nothing complete: left out
    ]);
    expect(variants).toEqual({ conv2d: 'tiled', linear: 'tiled' });
    expect(evidence.conv2d.tiled).toBeCloseTo(2, 12);
    expect(evidence.conv2d.direct).toBeCloseTo(Math.sqrt(10), 12);
  });
});

describe('the cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnnvis-autotune-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps one entry per adapter and merges families', () => {
    const store = memoryStore();
    recordChoice(store, adapterKey(A), { variants: { conv2d: 'tiled' }, date: 'd1' });
    recordChoice(store, adapterKey(B), { variants: { conv2d: 'direct' }, date: 'd1' });
    recordChoice(store, adapterKey(A), { variants: { linear: 'gemv' }, date: 'd2' });
    expect(cachedVariants(store, adapterKey(A))).toEqual({ conv2d: 'tiled', linear: 'gemv' });
    expect(cachedVariants(store, adapterKey(B))).toEqual({ conv2d: 'direct' });
    expect(cachedVariants(store, 'never tuned')).toBeNull();
    expect(adapterKey(A)).not.toBe(adapterKey(B));
  });

  it('autotune measures once, then answers from the cache until forced', async () => {
    const store = memoryStore();
    const calls: string[] = [];
    const ms: Record<string, number> = { 'conv2d:direct': 5, 'conv2d:tiled': 2, 'linear:register': 1, 'linear:gemv': null as unknown as number };
    const time = async (f: string, v: string) => (calls.push(`${f}:${v}`), ms[`${f}:${v}`] ?? null);
    const families = { conv2d: ['direct', 'tiled'], linear: ['register', 'gemv'] };
    const opts = { store, key: adapterKey(A) };
    // linear's gemv fails: only conv2d is decided, so the next call measures again.
    expect(await autotune(families, time, opts)).toEqual({ conv2d: 'tiled' });
    expect(calls).toHaveLength(4);
    ms['linear:gemv'] = 0.5;
    expect(await autotune(families, time, opts)).toEqual({ conv2d: 'tiled', linear: 'gemv' });
    expect(calls).toHaveLength(8);
    expect(await autotune(families, time, opts)).toEqual({ conv2d: 'tiled', linear: 'gemv' });
    expect(calls).toHaveLength(8);
    ms['conv2d:direct'] = 1;
    expect(await autotune(families, time, { ...opts, force: true })).toEqual({ conv2d: 'direct', linear: 'gemv' });
    expect(calls).toHaveLength(12);
  });

  it('localStorage and JSON-file stores round-trip; corrupt caches read as empty with a reason', () => {
    const items = new Map<string, string>();
    const ls = localStorageStore({ getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) });
    recordChoice(ls, adapterKey(A), { variants: { conv2d: 'tiled' }, date: 'd' });
    expect(JSON.parse(items.get('cnnvis.autotune')!).adapters[adapterKey(A)].variants).toEqual({ conv2d: 'tiled' });
    expect(cachedVariants(ls, adapterKey(A))).toEqual({ conv2d: 'tiled' });

    const path = join(dir, 'sub', 'autotune.json');
    const warnings: string[] = [];
    const file = jsonFileStore(path, (w) => warnings.push(w));
    expect(cachedVariants(file, adapterKey(A))).toBeNull(); // missing file: empty, no warning
    recordChoice(file, adapterKey(A), { variants: { linear: 'gemv' }, date: 'd' });
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1);
    expect(cachedVariants(jsonFileStore(path), adapterKey(A))).toEqual({ linear: 'gemv' });
    writeFileSync(path, '{ not json');
    expect(cachedVariants(file, adapterKey(A))).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path);
    const why: string[] = [];
    expect(parseTuneFile('{"version":2,"adapters":{}}', (w) => why.push(w))).toEqual({ version: 1, adapters: {} });
    expect(why[0]).toMatch(/expected \{ version: 1, adapters \}, got version 2/);
  });
});

describe('Runtime.create({ autotune })', () => {
  it('starts with the cached variants of its adapter; explicit variants win', async () => {
    const probe = await gpu();
    const key = adapterKey(probe.gpu.adapterInfo);
    const store = memoryStore();
    recordChoice(store, key, { variants: { conv2d: 'tiled', linear: 'gemv' }, date: 'd' });
    recordChoice(store, 'another adapter', { variants: { conv2d: 'direct' }, date: 'd' });
    const rt = await Runtime.create({ autotune: store, variants: { linear: 'register' } });
    const plain = await Runtime.create({ autotune: memoryStore() });
    try {
      expect(rt.variants).toEqual({ conv2d: 'tiled', linear: 'register' });
      expect(rt.variant('conv2d', { cpu: 'direct', gpu: 'tiled' })).toBe('tiled');
      expect(plain.variants).toEqual({});
    } finally {
      rt.destroy();
      plain.destroy();
    }
  });
});

describe('a stale autotune cache', () => {
  it('usableVariants drops what the device cannot run, with one warning each, and skips explicit families', () => {
    const warnings: string[] = [];
    const why = (f: string, v: string) => (f === 'linear' && v === 'gemv_subgroup' ? "it needs the WebGPU feature 'subgroups'" : null);
    const out = usableVariants({ conv2d: 'tiled', linear: 'gemv_subgroup', gram: 'direct' }, { gram: 'tiled' }, why, (w) => warnings.push(w));
    expect(out).toEqual({ conv2d: 'tiled' });
    expect(warnings).toEqual([`autotune cache: ignoring linear variant 'gemv_subgroup' (it needs the WebGPU feature 'subgroups'); using the adapter default`]);
  });

  it('a cached gemv_subgroup on a device without subgroups falls back to the default linear variant, warning once', async () => {
    const probe = await Runtime.create({ subgroups: false });
    const key = adapterKey(probe.gpu.adapterInfo);
    probe.destroy();
    const store = memoryStore();
    // As recorded on a device with subgroups, plus a variant name this engine does not have.
    recordChoice(store, key, { variants: { linear: 'gemv_subgroup', conv2d: 'winograd', gram: 'direct' }, date: 'd' });
    const warnings: string[] = [];
    const rt = await Runtime.create({ subgroups: false, autotune: store, onWarning: (w) => warnings.push(w) });
    try {
      expect(rt.gpu.features.subgroups).toBe(false);
      expect(rt.variants).toEqual({ gram: 'direct' });
      expect(warnings).toHaveLength(2);
      expect(warnings.find((w) => w.includes('linear'))).toMatch(
        /^autotune cache: ignoring linear variant 'gemv_subgroup' \(it needs the WebGPU feature 'subgroups', which this device does not have \(valid here: register, tiled, gemv\)\); using the adapter default$/,
      );
      expect(warnings.find((w) => w.includes('conv2d'))).toMatch(/ignoring conv2d variant 'winograd' \('winograd' is not a conv2d variant \(valid: direct, tiled\)\)/);
      const byKind = { cpu: 'register', gpu: 'gemv' } as const;
      expect(linearVariant(rt, 1)).toBe(byKind[rt.kind]);
      // The layer runs (it threw before the fallback).
      const x = Tensor.fromData(rt, randomArray(8, 1), [1, 8, 1, 1], 'x');
      const w = Tensor.fromData(rt, randomArray(24, 2), [3, 8, 1, 1], 'w');
      const y = linear(x, w, null);
      const got = await y.read();
      const xs = await x.read();
      const ws = await w.read();
      for (let o = 0; o < 3; o++) {
        let ref = 0;
        for (let i = 0; i < 8; i++) ref += xs[i] * ws[o * 8 + i];
        expect(Math.abs(got[o] - ref)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(ref));
      }
      for (const t of [x, w, y]) t.dispose();
    } finally {
      rt.destroy();
    }
  });

  it('an explicit impossible variant stays strict: the layer throws naming the valid choices', async () => {
    const warnings: string[] = [];
    const rt = await Runtime.create({ subgroups: false, variants: { linear: 'gemv_subgroup' }, autotune: memoryStore(), onWarning: (w) => warnings.push(w) });
    try {
      expect(rt.variants).toEqual({ linear: 'gemv_subgroup' });
      const x = Tensor.fromData(rt, randomArray(8, 3), [1, 8, 1, 1], 'x');
      const w = Tensor.fromData(rt, randomArray(24, 4), [3, 8, 1, 1], 'w');
      expect(() => linear(x, w, null)).toThrow(/linear: variant 'gemv_subgroup' needs the WebGPU feature 'subgroups', which this device does not have .*variants here: register, tiled, gemv/);
      expect(warnings).toEqual([]);
      x.dispose();
      w.dispose();
    } finally {
      rt.destroy();
    }
  });
});
