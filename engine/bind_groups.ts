// Bind groups reused across dispatches (issue 11: batch-1 passes are bound by CPU overhead, and
// createBindGroup is the largest part of a dispatch's cost in Dawn). The runtime looks up each
// dispatch by its pipeline and storage bindings (buffer identity, offset, size: hashed to a number,
// compared exactly, no string keys built per dispatch); an entry owns a
// 256-byte uniform slot in a slab this cache owns, so a bind group never points into the per-batch
// uniform arena.
//
// Why a hit can never be stale: a bind group names GPUBuffer objects, not tensors. A pool buffer
// handed to another tensor is the same buffer, so the bind group means exactly what a new one
// would; a destroyed buffer's id is never given to another buffer, so its entries can never match
// again (the pool drops them when it destroys buffers: forget()).
//
// Uniforms: an entry keeps up to VERSIONS (uniform bytes, slot, bind group) versions. The same
// bytes: reuse. Other bytes: a version not used by the batch being recorded has its slot rewritten
// with queue.writeBuffer (ordered after every earlier submit, before the batch that will read it),
// else a new version is made; when every version is in use by the batch, the runtime falls back
// to an uncached bind group over its arena. Evicted slots are parked until the next submit.

import type { BindingInfo, Program } from './pipeline_cache';

/** A slot per bind group version; programs whose uniform structs need more are not cached. */
export const UNIFORM_SLOT = 256;
const SLOTS_PER_SLAB = 256;
/**
 * Versions per entry: enough for a loop whose uniforms change every iteration (an Adam step
 * count, a random jitter) to rewrite idle versions in place for as many iterations as one batch
 * of MAX_BATCHED_DISPATCHES holds of a small network (TinyVGG: ~30 dispatches per step).
 */
const VERSIONS = 16;
/** Entries kept; past this the least recently used quarter is evicted. */
const CAPACITY = 4096;

interface Slot {
  buffer: GPUBuffer;
  offset: number;
}

interface Version {
  bindGroup: GPUBindGroup;
  slot: Slot | null;
  /** The packed uniform words this version's slot holds. */
  words: Uint32Array;
  /** The batch (runtime submit count) that last used this version. */
  batch: number;
}

interface Entry {
  program: Program;
  /** The storage bindings this entry binds, in the program's order. */
  buffers: GPUBuffer[];
  offsets: number[];
  sizes: number[];
  /** Bucket key: a hash of the program and bindings (equal bindings, equal hash). */
  hash: number;
  versions: Version[];
  lastUsed: number;
}

export interface CacheCounters {
  bindGroupsCreated: number;
  bindGroupsReused: number;
  uniformRewrites: number;
}

export class BindGroupCache {
  /** Entries by a numeric hash of (program, buffer ids, offsets, sizes); a bucket holds the rare collisions. */
  private buckets = new Map<number, Entry[]>();
  private count = 0;
  private byBuffer = new Map<GPUBuffer, Set<Entry>>();
  private ids = new WeakMap<object, number>();
  private nextId = 1;
  private slabs: GPUBuffer[] = [];
  private freeSlots: Slot[] = [];
  private parkedSlots: Slot[] = [];
  private tick = 0;
  /** Submits so far: versions used in batch `batch` are read by commands not yet submitted. */
  batch = 0;

  constructor(private readonly device: GPUDevice, private readonly counters: CacheCounters) {}

  /** A small number per object (programs, buffers), never reused. */
  id(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  get size(): number {
    return this.count;
  }

  /** How many entries bind `buffer` (tests). */
  uses(buffer: GPUBuffer): number {
    return this.byBuffer.get(buffer)?.size ?? 0;
  }

  /**
   * The bind group of `program` over the storage bindings `buffers/offsets/sizes[0, n)` (binding
   * numbers `bindings`) with uniform words `words[0, count)`, or null when every version is in
   * use by the batch being recorded (the caller binds uncached). `uniforms` are the uniform
   * bindings, each at the 256-byte-aligned byte offset `uniformOffsets[i]` inside the slot. The
   * arrays are the caller's scratch: an entry keeps copies.
   */
  lookup(
    program: Program, n: number, buffers: readonly GPUBuffer[], offsets: readonly number[], sizes: readonly number[], bindings: readonly number[],
    uniforms: readonly BindingInfo[], uniformOffsets: readonly number[], words: Uint32Array, count: number,
  ): GPUBindGroup | null {
    let h = this.id(program);
    for (let i = 0; i < n; i++) {
      h = (Math.imul(h, 0x01000193) ^ this.id(buffers[i])) | 0;
      h = (Math.imul(h, 0x01000193) ^ offsets[i]) | 0;
      h = (Math.imul(h, 0x01000193) ^ sizes[i]) | 0;
    }
    h &= 0x3fffffff;
    this.tick++;
    let bucket = this.buckets.get(h);
    let entry: Entry | null = null;
    if (bucket) for (const e of bucket) if (e.program === program && sameBindings(e, n, buffers, offsets, sizes)) entry = e;
    if (!entry) {
      if (this.count >= CAPACITY) {
        this.evict();
        bucket = this.buckets.get(h);
      }
      entry = { program, buffers: buffers.slice(0, n), offsets: offsets.slice(0, n), sizes: sizes.slice(0, n), hash: h, versions: [], lastUsed: this.tick };
      if (bucket) bucket.push(entry);
      else this.buckets.set(h, [entry]);
      this.count++;
      for (const b of entry.buffers) {
        let set = this.byBuffer.get(b);
        if (!set) this.byBuffer.set(b, (set = new Set()));
        set.add(entry);
      }
    }
    entry.lastUsed = this.tick;
    let idle: Version | null = null;
    for (const v of entry.versions) {
      if (sameWords(v.words, words, count)) {
        v.batch = this.batch;
        this.counters.bindGroupsReused++;
        return v.bindGroup;
      }
      if (v.batch < this.batch && !idle) idle = v;
    }
    if (idle) {
      // Rewrite its slot: nothing recorded in this batch reads it, and earlier batches are submitted.
      this.device.queue.writeBuffer(idle.slot!.buffer, idle.slot!.offset, words.buffer, words.byteOffset, count * 4);
      idle.words = words.slice(0, count);
      idle.batch = this.batch;
      this.counters.uniformRewrites++;
      this.counters.bindGroupsReused++;
      return idle.bindGroup;
    }
    if (entry.versions.length >= VERSIONS) return null;
    const slot = uniforms.length ? this.slot() : null;
    if (slot) this.device.queue.writeBuffer(slot.buffer, slot.offset, words.buffer, words.byteOffset, count * 4);
    const all: GPUBindGroupEntry[] = [];
    for (let i = 0; i < n; i++) all.push({ binding: bindings[i], resource: { buffer: entry.buffers[i], offset: entry.offsets[i], size: entry.sizes[i] } });
    uniforms.forEach((b, i) => all.push({ binding: b.binding, resource: { buffer: slot!.buffer, offset: slot!.offset + uniformOffsets[i], size: Math.max(16, b.uniformSize ?? 0) } }));
    const bindGroup = this.device.createBindGroup({ label: `${program.label} bind group (cached)`, layout: program.layout, entries: all });
    this.counters.bindGroupsCreated++;
    entry.versions.push({ bindGroup, slot, words: words.slice(0, count), batch: this.batch });
    return bindGroup;
  }

  /** The runtime submitted a batch: versions used so far are no longer read by unsubmitted commands. */
  submitted(): void {
    this.batch++;
    for (const s of this.parkedSlots) this.freeSlots.push(s);
    this.parkedSlots = [];
  }

  /** Drop every entry binding `buffer` (called before the buffer is destroyed). */
  forget(buffer: GPUBuffer): void {
    const set = this.byBuffer.get(buffer);
    if (!set) return;
    for (const e of [...set]) this.drop(e);
    this.byBuffer.delete(buffer);
  }

  /** Drop everything and destroy the slabs (the runtime is being destroyed). */
  clear(): void {
    for (const e of this.all()) this.drop(e);
    for (const s of this.slabs) s.destroy();
    this.slabs = [];
    this.freeSlots = [];
    this.parkedSlots = [];
  }

  private all(): Entry[] {
    const out: Entry[] = [];
    for (const bucket of this.buckets.values()) out.push(...bucket);
    return out;
  }

  private drop(e: Entry): void {
    const bucket = this.buckets.get(e.hash);
    const i = bucket ? bucket.indexOf(e) : -1;
    if (i < 0) return;
    if (bucket!.length === 1) this.buckets.delete(e.hash);
    else bucket!.splice(i, 1);
    this.count--;
    for (const v of e.versions) if (v.slot) this.parkedSlots.push(v.slot);
    for (const b of e.buffers) {
      const set = this.byBuffer.get(b);
      set?.delete(e);
      if (set?.size === 0) this.byBuffer.delete(b);
    }
  }

  /** Evict the least recently used quarter. */
  private evict(): void {
    const order = this.all().sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of order.slice(0, Math.ceil(order.length / 4))) this.drop(e);
  }

  private slot(): Slot {
    let s = this.freeSlots.pop();
    if (!s) {
      const buffer = this.device.createBuffer({ label: `cached uniforms ${this.slabs.length}`, size: SLOTS_PER_SLAB * UNIFORM_SLOT, usage: 0x40 | 0x8 });
      this.slabs.push(buffer);
      for (let i = SLOTS_PER_SLAB - 1; i > 0; i--) this.freeSlots.push({ buffer, offset: i * UNIFORM_SLOT });
      s = { buffer, offset: 0 };
    }
    return s;
  }
}

function sameBindings(e: Entry, n: number, buffers: readonly GPUBuffer[], offsets: readonly number[], sizes: readonly number[]): boolean {
  if (e.buffers.length !== n) return false;
  for (let i = 0; i < n; i++) if (e.buffers[i] !== buffers[i] || e.offsets[i] !== offsets[i] || e.sizes[i] !== sizes[i]) return false;
  return true;
}

function sameWords(a: Uint32Array, b: Uint32Array, count: number): boolean {
  if (a.length !== count) return false;
  for (let i = 0; i < count; i++) if (a[i] !== b[i]) return false;
  return true;
}
