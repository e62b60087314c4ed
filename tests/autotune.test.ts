// The autotuning cache (engine/autotune.ts): picking the fastest variant per family, the cache per
// adapter (memory, localStorage, a JSON file), corrupt caches, and Runtime.create({ autotune })
// starting with the cached variants (explicit `variants` still win).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adapterKey, autotune, cachedVariants, localStorageStore, memoryStore, parseTuneFile, recordChoice, tuneFromTimings,
} from '../engine/autotune';
import { Runtime } from '../engine/runtime';
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
