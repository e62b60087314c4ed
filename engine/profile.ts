// Profiling mode of the runtime (rt.profile): one record per dispatch with what the kernel is
// (family, entry point, variant, workgroup size, grid), what it costs on paper (FLOPs and bytes
// moved, estimated by each kernel's dispatch site) and, where the device has 'timestamp-query',
// its GPU time from timestamp writes around its own compute pass. Without timestamps only the
// wall time of the whole profiled pass is known, and the profile says so.

import type { Program } from './pipeline_cache';

/** A dispatch's cost estimate, given by the kernel that issues it. */
export interface DispatchCost {
  /** Floating-point operations (a multiply-add counts 2). */
  flops: number;
  /** Bytes read plus bytes written, counting each tensor element once. */
  bytes: number;
  /** The kernel variant this launch belongs to ('direct', 'tiled', 'gemv', ...), where the family has variants. */
  variant?: string;
}

export interface DispatchRecord {
  /** Order of the dispatch within the profiled pass, from 0. */
  index: number;
  /** Kernel family (shader name), e.g. 'conv2d'. */
  family: string;
  entryPoint: string;
  /** Pipeline label: family, entry point and override values. */
  label: string;
  variant: string | null;
  workgroupSize: readonly [number, number, number];
  /** Dispatch size in workgroups (x, y, z). */
  workgroups: readonly [number, number, number];
  /** From the DispatchCost, null where the dispatch site gave none. */
  flops: number | null;
  bytes: number | null;
  /** GPU time of the dispatch's compute pass in nanoseconds; null without 'timestamp-query'. */
  gpuNs: number | null;
  /**
   * The graph layer being run (forward or backward) when it was issued; null outside any layer. A
   * multi-conv launch names all its layers joined by '+', e.g. 'fire2/expand1x1+fire2/expand3x3'
   * (split them with scopeLayers).
   */
  scope: string | null;
}

export interface Profile<T = unknown> {
  records: DispatchRecord[];
  /** 'timestamp-query': every record has gpuNs; 'wall-time': only wallMs is measured. */
  timing: 'timestamp-query' | 'wall-time';
  /** A sentence on what was measured, for logs and the inspector. */
  note: string;
  /** Wall time of the profiled function up to the GPU finishing its work, in milliseconds. */
  wallMs: number;
  /** What the profiled function returned. */
  result: T;
}

/** Joins the layer names of a dispatch that computes several layers (a multi-conv launch) in its scope. */
export const SCOPE_JOIN = '+';

/** The layers a record's scope names: one, or those of a multi-conv launch ('a+b'); none for null. */
export function scopeLayers(scope: string | null): string[] {
  return scope === null ? [] : scope.split(SCOPE_JOIN);
}

/** The layer the graph executor is running (see setProfileScope); read by Profiler.record. */
let currentScope: string | null = null;

/**
 * Tag the dispatches issued from now on with a layer name (null: none), so a profile maps its
 * dispatches to layers. The graph executor (models/forward.ts, backward.ts) sets it around each
 * layer; dispatch recording is synchronous, so a module-level tag is exact. Returns the previous tag.
 */
export function setProfileScope(scope: string | null): string | null {
  const prev = currentScope;
  currentScope = scope;
  return prev;
}

/** The current profile scope (what a dispatch recorded now would be tagged with). */
export function profileScope(): string | null {
  return currentScope;
}

/** Run `fn` with the profile scope set to `scope`, restoring the previous one after. */
export function inProfileScope<T>(scope: string, fn: () => T): T {
  const prev = setProfileScope(scope);
  try {
    return fn();
  } finally {
    setProfileScope(prev);
  }
}

/** GPUBufferUsage / GPUQuery bits as numbers (the globals exist in Node only once Dawn is loaded). */
const QUERY_RESOLVE = 0x200;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;

/** Collects the records of one profiled pass; owned by the runtime while rt.profile runs. */
export class Profiler {
  readonly records: DispatchRecord[] = [];
  private querySet: GPUQuerySet | null = null;
  /** Records whose timestamps were written in the batch being recorded, in query-pair order. */
  private batch: DispatchRecord[] = [];
  private readbacks: Promise<void>[] = [];

  constructor(private readonly device: GPUDevice, readonly timestamps: boolean, private readonly maxPerBatch: number) {
    if (timestamps) this.querySet = device.createQuerySet({ label: 'cnnvis profile timestamps', type: 'timestamp', count: 2 * maxPerBatch });
  }

  /** `scope`: the layer tag to give it (a replayed capture's, from its recording); default the current one. */
  record(program: Program, workgroups: readonly [number, number, number], cost: DispatchCost | undefined, scope: string | null = currentScope): DispatchRecord {
    const r: DispatchRecord = {
      index: this.records.length,
      family: program.name,
      entryPoint: program.entryPoint,
      label: program.label,
      variant: cost?.variant ?? null,
      workgroupSize: program.workgroupSize,
      workgroups,
      flops: cost ? cost.flops : null,
      bytes: cost ? cost.bytes : null,
      gpuNs: null,
      scope,
    };
    this.records.push(r);
    return r;
  }

  /** Timestamp writes for the compute pass of record r (undefined without timestamps). */
  timestampWrites(r: DispatchRecord): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet) return undefined;
    if (this.batch.length >= this.maxPerBatch) throw new Error('profile: more timestamped dispatches in one batch than the query set holds');
    const i = this.batch.length;
    this.batch.push(r);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Before the batch's encoder finishes: resolve its timestamps; returns what to run after the submit. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    if (!this.querySet || this.batch.length === 0) return null;
    const count = 2 * this.batch.length;
    const resolved = this.device.createBuffer({ label: 'profile timestamps (resolve)', size: count * 8, usage: QUERY_RESOLVE | COPY_SRC });
    const staging = this.device.createBuffer({ label: 'profile timestamps (read)', size: count * 8, usage: MAP_READ | COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, count, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, count * 8);
    const records = this.batch;
    this.batch = [];
    return () => {
      this.readbacks.push(
        staging.mapAsync(MAP_READ).then(() => {
          const t = new BigInt64Array(staging.getMappedRange().slice(0));
          records.forEach((r, i) => (r.gpuNs = Number(t[2 * i + 1] - t[2 * i])));
          staging.unmap();
        }).finally(() => {
          staging.destroy();
          resolved.destroy();
        }),
      );
    };
  }

  /** After the last submit: wait for every timestamp readback, release the query set. */
  async finish(): Promise<void> {
    await Promise.all(this.readbacks);
    this.querySet?.destroy();
    this.querySet = null;
  }
}
