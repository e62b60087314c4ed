// Where gallery features are cached: a tiny key-value interface (groups of chunks) with three
// implementations: in memory (tests, no cache), a folder on disk (Node: <dir>/<group>/<id>.bin,
// written to a temporary name and renamed, so an interrupted run never leaves half a chunk), and
// IndexedDB (browsers: one object store keyed by [group, id]).
//
// A group is one feature configuration (model, layer, pooling, preprocessing; gallery.ts names it);
// a chunk is the features of one batch of images with the content hashes they belong to.

import { nodeModules } from './gallery_source';

export interface FeatureStore {
  /** What the store is, for summaries and logs ('memory', a folder, 'IndexedDB cnnvis-gallery'). */
  readonly where: string;
  /** The ids of the chunks saved under `group` (any order). */
  list(group: string): Promise<string[]>;
  /** A chunk's bytes, or null when there is none. */
  get(group: string, id: string): Promise<Uint8Array | null>;
  /** Save (or replace) a chunk. */
  put(group: string, id: string, bytes: Uint8Array): Promise<void>;
}

/** A store that lives as long as the object (tests; or no cache at all when never reused). */
export class MemoryStore implements FeatureStore {
  readonly where = 'memory';
  private readonly groups = new Map<string, Map<string, Uint8Array>>();

  async list(group: string): Promise<string[]> {
    return [...(this.groups.get(group)?.keys() ?? [])];
  }

  async get(group: string, id: string): Promise<Uint8Array | null> {
    return this.groups.get(group)?.get(id) ?? null;
  }

  async put(group: string, id: string, bytes: Uint8Array): Promise<void> {
    if (!this.groups.has(group)) this.groups.set(group, new Map());
    this.groups.get(group)!.set(id, bytes.slice());
  }
}

/** Group and chunk ids become path segments: keep them to safe characters. */
function checkSegment(what: string, s: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(s) || s.startsWith('.')) throw new Error(`feature store: ${what} '${s}' must be letters, digits, '.', '_' or '-' (not starting with '.')`);
}

/** Node: one folder per group under `dir`, one `<id>.bin` file per chunk. */
export class DirectoryStore implements FeatureStore {
  constructor(readonly where: string) {}

  async list(group: string): Promise<string[]> {
    checkSegment('group', group);
    const { fs, path } = await nodeModules();
    try {
      return (await fs.readdir(path.join(this.where, group))).filter((f) => f.endsWith('.bin')).map((f) => f.slice(0, -4));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async get(group: string, id: string): Promise<Uint8Array | null> {
    checkSegment('group', group);
    checkSegment('chunk id', id);
    const { fs, path } = await nodeModules();
    try {
      return new Uint8Array(await fs.readFile(path.join(this.where, group, `${id}.bin`)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async put(group: string, id: string, bytes: Uint8Array): Promise<void> {
    checkSegment('group', group);
    checkSegment('chunk id', id);
    const { fs, path } = await nodeModules();
    const dir = path.join(this.where, group);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${id}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path.join(dir, `${id}.bin`));
  }
}

const IDB_STORE = 'chunks';

/** Browsers: database `name` (default 'cnnvis-gallery'), object store 'chunks', keys [group, id]. */
export class IndexedDbStore implements FeatureStore {
  readonly where: string;
  private db: Promise<IDBDatabase> | null = null;

  constructor(private readonly name = 'cnnvis-gallery') {
    this.where = `IndexedDB ${name}`;
  }

  private open(): Promise<IDBDatabase> {
    if (!this.db) {
      if (typeof indexedDB === 'undefined') throw new Error('feature store: IndexedDB is not available here (use a DirectoryStore in Node)');
      this.db = new Promise((resolve, reject) => {
        const req = indexedDB.open(this.name, 1);
        req.onupgradeneeded = () => req.result.createObjectStore(IDB_STORE);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(new Error(`feature store: cannot open IndexedDB '${this.name}': ${req.error?.message}`));
      });
    }
    return this.db;
  }

  private async request<T>(mode: IDBTransactionMode, make: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const tx = (await this.open()).transaction(IDB_STORE, mode);
    const req = make(tx.objectStore(IDB_STORE));
    return new Promise((resolve, reject) => {
      // Resolve once the transaction commits, so a put is durable when it returns.
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(new Error(`feature store: IndexedDB '${this.name}': ${tx.error?.message ?? req.error?.message}`));
      tx.onabort = tx.onerror;
    });
  }

  async list(group: string): Promise<string[]> {
    const keys = await this.request('readonly', (s) => s.getAllKeys(IDBKeyRange.bound([group, ''], [group, '\uffff'])));
    return keys.map((k) => (k as [string, string])[1]);
  }

  async get(group: string, id: string): Promise<Uint8Array | null> {
    const v = await this.request('readonly', (s) => s.get([group, id]) as IDBRequest<ArrayBuffer | undefined>);
    return v ? new Uint8Array(v) : null;
  }

  async put(group: string, id: string, bytes: Uint8Array): Promise<void> {
    const copy = bytes.slice().buffer;
    await this.request('readwrite', (s) => s.put(copy, [group, id]));
  }
}
