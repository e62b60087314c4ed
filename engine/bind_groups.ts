// Bind groups reused across dispatches (issue 11: batch-1 passes are bound by CPU overhead, and
// createBindGroup is the largest part of a dispatch's cost in Dawn). The runtime looks up each
// dispatch by its pipeline and storage bindings (buffer identity, offset, size); an entry owns a
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
  versions: Version[];
  buffers: GPUBuffer[];
  lastUsed: number;
}

export interface CacheCounters {
  bindGroupsCreated: number;
  bindGroupsReused: number;
  uniformRewrites: number;
}

export class BindGroupCache {
  private entries = new Map<string, Entry>();
  private byBuffer = new Map<GPUBuffer, Set<string>>();
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
    return this.entries.size;
  }

  /** How many entries bind `buffer` (tests). */
  uses(buffer: GPUBuffer): number {
    return this.byBuffer.get(buffer)?.size ?? 0;
  }

  /**
   * The bind group for `key` (program + storage bindings) with uniform words `words[0, count)`,
   * or null when every version is in use by the batch being recorded (the caller binds uncached).
   * `entries` are the storage entries; `uniforms` the uniform bindings, each at a 256-byte-aligned
   * offset `uniformOffsets[i]` inside the slot.
   */
  lookup(
    program: Program, key: string, storage: readonly GPUBindGroupEntry[], buffers: readonly GPUBuffer[],
    uniforms: readonly BindingInfo[], uniformOffsets: readonly number[], words: Uint32Array, count: number,
  ): GPUBindGroup | null {
    let entry = this.entries.get(key);
    this.tick++;
    if (!entry) {
      if (this.entries.size >= CAPACITY) this.evict();
      entry = { versions: [], buffers: [...buffers], lastUsed: this.tick };
      this.entries.set(key, entry);
      for (const b of entry.buffers) {
        let keys = this.byBuffer.get(b);
        if (!keys) this.byBuffer.set(b, (keys = new Set()));
        keys.add(key);
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
    const all: GPUBindGroupEntry[] = [...storage];
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
    const keys = this.byBuffer.get(buffer);
    if (!keys) return;
    for (const k of [...keys]) this.drop(k);
    this.byBuffer.delete(buffer);
  }

  /** Drop everything and destroy the slabs (the runtime is being destroyed). */
  clear(): void {
    for (const k of [...this.entries.keys()]) this.drop(k);
    for (const s of this.slabs) s.destroy();
    this.slabs = [];
    this.freeSlots = [];
    this.parkedSlots = [];
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    for (const v of e.versions) if (v.slot) this.parkedSlots.push(v.slot);
    for (const b of e.buffers) {
      const keys = this.byBuffer.get(b);
      keys?.delete(key);
      if (keys?.size === 0) this.byBuffer.delete(b);
    }
  }

  /** Evict the least recently used quarter. */
  private evict(): void {
    const order = [...this.entries].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [k] of order.slice(0, Math.ceil(order.length / 4))) this.drop(k);
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

function sameWords(a: Uint32Array, b: Uint32Array, count: number): boolean {
  if (a.length !== count) return false;
  for (let i = 0; i < count; i++) if (a[i] !== b[i]) return false;
  return true;
}
