// Recorded work, replayed (rt.capture): a pass (a model forward, a forward + backward, a step of a
// loop) is recorded once into a list of commands with its own bind groups and its own uniform
// buffer, and each replay() only re-issues them (setPipeline, setBindGroup, dispatchWorkgroups;
// buffer copies and clears), so a repeated pass at batch 1 costs the CPU what Dawn charges per
// command and nothing of the engine's own bookkeeping (shape checks, uniform packing, bind-group
// lookups, tensor objects). The analogue of a CUDA graph.
//
// Recording runs the pass's JavaScript without executing anything: every dispatch, copy and
// clear it would record goes into the capture instead of the runtime's encoder. A replay then
// computes the pass's result into the same buffers: the tensors the pass returned (`result`)
// hold the values of the latest replay; the pass reads its inputs (the tensors it was given,
// the weights) from their buffers at each replay, so a caller writes new values into them and
// replays. Reading back (tensor.read) inside the recording fails (nothing has run yet), as does
// profiling it; replaying inside rt.profile() profiles the replayed dispatches.
//
// Buffers: every pool buffer the pass acquired, and every buffer a recorded command binds, is
// kept for the capture until it is disposed. A tensor the pass disposes along the way gives its
// buffer back only to the capture (a later acquire in the same recording may reuse it, exactly as
// the pool would, since a replay runs the commands in the same order) and to the pool when the
// capture is disposed; a returned tensor the caller disposes stays allocated until then. An
// input tensor disposed after the recording, or a buffer destroyed (model.dispose), makes
// replay() throw naming it, instead of computing from freed memory. Values written with
// tensor.write() inside the recording are written once, then.

import { Usage, type BufferPool } from './buffer_pool';
import { UNIFORM_SLOT } from './bind_groups';
import type { DispatchCost } from './profile';
import type { Program } from './pipeline_cache';

/** One recorded command. */
export type CapturedCommand =
  | { kind: 'dispatch'; program: Program; bindGroup: GPUBindGroup; x: number; y: number; z: number; cost: DispatchCost | undefined; scope: string | null }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: 'clear'; buf: GPUBuffer; offset: number; bytes: number | undefined };

/** Uniform data of a capture: 256-byte slots in chunks of this many bytes. */
const CHUNK_BYTES = 64 * 1024;

/** What the runtime hands a capture to replay through (its own encoder and profiler). */
export interface ReplayTarget {
  replayCommands(commands: readonly CapturedCommand[]): void;
  checkAlive(): void;
  flush(): void;
}

/**
 * Tracks, per runtime, which buffers live captures need (BufferPool asks it on every acquire and
 * release while any capture is alive).
 */
export class CaptureKeeper {
  /** Buffer -> the live captures that acquired or bind it. */
  private refs = new Map<GPUBuffer, Set<Capture<unknown>>>();
  /** Buffers released to the pool while some live capture still needs them. */
  private held = new Set<GPUBuffer>();
  /** The capture being recorded, if any. */
  recording: Capture<unknown> | null = null;

  constructor(private readonly pool: BufferPool) {}

  get active(): boolean {
    return this.refs.size > 0 || this.recording !== null;
  }

  /** A buffer the recording may reuse (one it was given back earlier in the same recording). */
  reuse(key: number): GPUBuffer | undefined {
    return this.recording?.local.get(key)?.pop();
  }

  /** The pool handed `buf` out (from anywhere) while recording. */
  acquired(buf: GPUBuffer): void {
    const c = this.recording;
    if (c) this.need(c, buf, true);
  }

  /** A command of the recording binds `buf`. */
  bound(buf: GPUBuffer): void {
    const c = this.recording;
    if (c && !c.buffers.has(buf)) this.need(c, buf, false);
  }

  private need(c: Capture<unknown>, buf: GPUBuffer, own: boolean): void {
    c.buffers.add(buf);
    if (own) c.owned.add(buf);
    let set = this.refs.get(buf);
    if (!set) this.refs.set(buf, (set = new Set()));
    set.add(c);
  }

  /**
   * The pool is given `buf` back. True when a capture keeps it: the recording's own buffer goes
   * to its local free list; one a finished capture needs waits for its dispose.
   */
  released(buf: GPUBuffer, key: number): boolean {
    const set = this.refs.get(buf);
    if (!set) return false;
    const rec = this.recording;
    if (rec && set.size === 1 && set.has(rec)) {
      let list = rec.local.get(key);
      if (!list) rec.local.set(key, (list = []));
      list.push(buf);
      return true;
    }
    for (const c of set) if (c !== rec && !c.owned.has(buf)) c.staleReason ??= `buffer '${buf.label}' (an input it reads) was released after the recording`;
    this.held.add(buf);
    return true;
  }

  /** A buffer outside the pool (a weight arena) is being destroyed. */
  destroyed(buf: GPUBuffer): void {
    const set = this.refs.get(buf);
    if (set) for (const c of set) c.staleReason ??= `buffer '${buf.label}' was destroyed (e.g. its model was disposed)`;
  }

  /** A capture is disposed: buffers nobody else needs go back to the pool. */
  drop(c: Capture<unknown>): void {
    for (const buf of c.buffers) {
      const set = this.refs.get(buf);
      if (!set) continue;
      set.delete(c);
      if (set.size > 0) continue;
      this.refs.delete(buf);
      if (this.held.delete(buf)) this.pool.freeNow(buf);
    }
  }

  /** End of a recording: the buffers it gave back wait, like any held one, for its dispose. */
  finished(c: Capture<unknown>): void {
    for (const list of c.local.values()) for (const buf of list) this.held.add(buf);
    c.local.clear();
    if (this.recording === c) this.recording = null;
  }
}

/** A recorded pass (see the top of this file); made by rt.capture(). */
export class Capture<T> {
  /** What the pass returned at recording (its tensors hold the latest replay's values). */
  result!: T;
  readonly commands: CapturedCommand[] = [];
  /** @internal Every buffer the capture needs, and those it acquired itself. */
  readonly buffers = new Set<GPUBuffer>();
  readonly owned = new Set<GPUBuffer>();
  /** @internal Buffers the recording gave back, by pool key, for its later acquires. */
  readonly local = new Map<number, GPUBuffer[]>();
  /** @internal Why replay() must refuse (an input freed, a buffer destroyed), once known. */
  staleReason: string | null = null;
  private chunks: { buffer: GPUBuffer; data: Uint8Array<ArrayBuffer>; used: number }[] = [];
  private disposed = false;
  private finished = false;

  constructor(
    readonly label: string,
    private readonly device: GPUDevice,
    private readonly target: ReplayTarget,
    private readonly keeper: CaptureKeeper,
  ) {}

  /** Dispatches recorded. */
  get dispatches(): number {
    let n = 0;
    for (const c of this.commands) if (c.kind === 'dispatch') n++;
    return n;
  }

  /** @internal A uniform slot in the capture's own buffer holding `bytes` (written at finish). */
  uniformSlot(bytes: Uint8Array): GPUBufferBinding {
    const slot = Math.ceil(bytes.byteLength / UNIFORM_SLOT) * UNIFORM_SLOT;
    let chunk = this.chunks[this.chunks.length - 1];
    if (!chunk || chunk.used + slot > chunk.data.byteLength) {
      const size = Math.max(CHUNK_BYTES, slot);
      chunk = { buffer: this.device.createBuffer({ size, usage: Usage.UNIFORM | Usage.COPY_DST, label: `${this.label} uniforms` }), data: new Uint8Array(size), used: 0 };
      this.chunks.push(chunk);
    }
    const offset = chunk.used;
    chunk.data.set(bytes, offset);
    chunk.used += slot;
    return { buffer: chunk.buffer, offset, size: bytes.byteLength };
  }

  /** @internal End of recording: upload the uniforms. */
  finish(): void {
    for (const c of this.chunks) if (c.used > 0) this.device.queue.writeBuffer(c.buffer, 0, c.data, 0, c.used);
    for (const c of this.chunks) c.data = new Uint8Array(0);
    this.keeper.finished(this as Capture<unknown>);
    this.finished = true;
  }

  /** Record the pass's commands again into the runtime's current batch (submitted as usual). */
  replay(): void {
    if (this.disposed) throw new Error(`capture '${this.label}': replay() after dispose()`);
    if (!this.finished) throw new Error(`capture '${this.label}': replay() while it is still being recorded`);
    if (this.staleReason) throw new Error(`capture '${this.label}' cannot replay: ${this.staleReason}; record it again`);
    this.target.checkAlive();
    this.target.replayCommands(this.commands);
  }

  /** Free the bind groups' uniform buffers and give the pass's buffers back (returned tensors the caller still holds stay theirs). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.finished) this.keeper.finished(this as Capture<unknown>);
    // Replayed commands may still wait in the runtime's batch: submit them before freeing what they use.
    this.target.flush();
    this.keeper.drop(this as Capture<unknown>);
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks = [];
    this.commands.length = 0;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}
