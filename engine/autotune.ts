// Autotuning: which kernel variant of each family is fastest on an adapter, measured once and
// cached per adapter, so later runtimes start with the winners. The cache is a small JSON
// document (TuneFile) behind a TuneStore: localStorage in a browser, a file in Node
// (scripts/bench/tune_file.ts writes results/autotune.json), or memory (tests).
//   Runtime.create({ autotune: store })   uses the store's choices for this adapter (explicit
//                                         `variants` still win; a cached variant this device
//                                         cannot run falls back to the default with a warning:
//                                         usableVariants); see runtime.ts
//   autotune(families, time, { store, key }) measures every variant and records the fastest
//   tuneFromTimings(rows)                 picks per family from benchmark rows (bench:browser)

export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface TuneEntry {
  /** The chosen variant per kernel family. */
  variants: Record<string, string>;
  /** ISO date of the measurement. */
  date: string;
  /** Geometric-mean ms per family and variant that the choice was made from. */
  evidence?: Record<string, Record<string, number>>;
}

export interface TuneFile {
  version: 1;
  /** By adapterKey(). */
  adapters: Record<string, TuneEntry>;
}

export interface TuneStore {
  load(): TuneFile;
  save(file: TuneFile): void;
}

export const emptyTuneFile = (): TuneFile => ({ version: 1, adapters: {} });

/** One string per adapter: vendor / architecture / device / description. */
export function adapterKey(a: AdapterIdentity): string {
  return [a.vendor, a.architecture, a.device, a.description].map((s) => s || '-').join(' / ');
}

/** Parse a stored TuneFile; anything else (missing, corrupt, another version) reads as empty, naming why in `onInvalid`. */
export function parseTuneFile(text: string | null, onInvalid?: (why: string) => void): TuneFile {
  if (text === null || text === '') return emptyTuneFile();
  try {
    const f = JSON.parse(text) as Partial<TuneFile>;
    if (f.version !== 1 || typeof f.adapters !== 'object' || f.adapters === null) throw new Error(`expected { version: 1, adapters }, got version ${String(f.version)}`);
    return f as TuneFile;
  } catch (e) {
    onInvalid?.(`autotune cache ignored: ${(e as Error).message}`);
    return emptyTuneFile();
  }
}

export function memoryStore(initial: TuneFile = emptyTuneFile()): TuneStore & { file: TuneFile } {
  const s = {
    file: structuredClone(initial),
    load: () => structuredClone(s.file),
    save: (f: TuneFile) => void (s.file = structuredClone(f)),
  };
  return s;
}

/** The browser's cache: one localStorage item holding the TuneFile. */
export function localStorageStore(storage: Pick<Storage, 'getItem' | 'setItem'> = globalThis.localStorage, item = 'cnnvis.autotune'): TuneStore {
  return {
    load: () => parseTuneFile(storage.getItem(item)),
    save: (f) => storage.setItem(item, JSON.stringify(f)),
  };
}

/** The cached choices for an adapter, or null when it was never tuned. */
export function cachedVariants(store: TuneStore, key: string): Record<string, string> | null {
  return store.load().adapters[key]?.variants ?? null;
}

/**
 * The cached choices a device can use: each one `unavailable(family, variant)` explains away
 * (a variant this device cannot run, or one the engine no longer has) is dropped, so the
 * adapter's default applies, with a one-line warning naming the family, the variant and why.
 * Families in `explicit` are skipped (the caller's own choice wins and stays strict).
 */
export function usableVariants(
  tuned: Record<string, string>, explicit: Record<string, string>, unavailable: (family: string, variant: string) => string | null, warn: (message: string) => void,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [family, v] of Object.entries(tuned)) {
    if (Object.hasOwn(explicit, family)) continue;
    const why = unavailable(family, v);
    if (why) warn(`autotune cache: ignoring ${family} variant '${v}' (${why}); using the adapter default`);
    else out[family] = v;
  }
  return out;
}

/** Record (merge) an adapter's choices; families not given keep their earlier choice. */
export function recordChoice(store: TuneStore, key: string, entry: TuneEntry): void {
  const f = store.load();
  const prev = f.adapters[key];
  f.adapters[key] = {
    variants: { ...prev?.variants, ...entry.variants },
    date: entry.date,
    evidence: { ...prev?.evidence, ...entry.evidence },
  };
  store.save(f);
}

function geomean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}

/** One measured case of a family: ms per variant (null / missing: failed). */
export interface VariantTimings {
  family: string;
  variants: Record<string, number | null | undefined>;
}

/**
 * The fastest variant per family: over the cases where every variant of the family was measured,
 * the lowest geometric-mean ms. Families with no such case are left out.
 */
export function tuneFromTimings(cases: readonly VariantTimings[]): { variants: Record<string, string>; evidence: Record<string, Record<string, number>> } {
  const byFamily = new Map<string, VariantTimings[]>();
  for (const c of cases) byFamily.set(c.family, [...(byFamily.get(c.family) ?? []), c]);
  const variants: Record<string, string> = {};
  const evidence: Record<string, Record<string, number>> = {};
  for (const [family, list] of byFamily) {
    const names = [...new Set(list.flatMap((c) => Object.keys(c.variants)))];
    const ok = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
    const full = list.filter((c) => names.every((n) => ok(c.variants[n])));
    if (!full.length || names.length < 2) continue;
    const means = Object.fromEntries(names.map((n) => [n, geomean(full.map((c) => c.variants[n] as number))]));
    variants[family] = names.reduce((a, b) => (means[b] < means[a] ? b : a));
    evidence[family] = means;
  }
  return { variants, evidence };
}

export interface AutotuneOptions {
  store: TuneStore;
  /** adapterKey() of the adapter being tuned. */
  key: string;
  /** Measure again even when the store has a choice for every family. */
  force?: boolean;
}

/**
 * The tuned variants for an adapter: the store's when it has every family (unless `force`),
 * else `time(family, variant)` (ms, or null if the variant cannot run) for every variant of
 * every family, the fastest recorded in the store.
 */
export async function autotune(
  families: Record<string, readonly string[]>,
  time: (family: string, variant: string) => Promise<number | null>,
  o: AutotuneOptions,
): Promise<Record<string, string>> {
  const cached = cachedVariants(o.store, o.key);
  if (!o.force && cached && Object.keys(families).every((f) => f in cached)) return cached;
  const cases: VariantTimings[] = [];
  for (const [family, names] of Object.entries(families)) {
    const variants: Record<string, number | null> = {};
    for (const v of names) variants[v] = await time(family, v);
    cases.push({ family, variants });
  }
  const picked = tuneFromTimings(cases);
  recordChoice(o.store, o.key, { ...picked, date: new Date().toISOString() });
  return cachedVariants(o.store, o.key) ?? {};
}
