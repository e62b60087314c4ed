// The runtime: one device, one buffer pool, one pipeline cache, and a command encoder that
// batches dispatches until something needs the results (a read) or the batch grows large.

import { adapterKey, cachedVariants, usableVariants, type TuneStore } from './autotune';
import { BufferPool, Usage } from './buffer_pool';
import { createGpu, describeAdapter, type AdapterKind, type DeviceOptions, type GpuHandle } from './device';
import { BindGroupCache, UNIFORM_SLOT } from './bind_groups';
import { Capture, CaptureKeeper, type CapturedCommand, type ReplayTarget } from './capture';
import { PipelineCache, type BindingInfo, type Program, type ProgramSpec } from './pipeline_cache';
import { packInto, uniformBytes, uniformScratch, type UniformObject, type UniformSource } from './uniforms';
import { Profiler, profileScope, type DispatchCost, type Profile } from './profile';
import { Tensor } from './tensor';
import { variantUnavailable } from './kernels/variants';

export type { DispatchCost, DispatchRecord, Profile } from './profile';
export type { Capture } from './capture';
export type UniformValues = UniformObject;
/**
 * A dispatch's resources by WGSL variable name. Storage: a Tensor (bound over exactly its extent,
 * from its bindOffset; its layout() bases are relative to that), an explicit GPUBufferBinding, or
 * a GPUBuffer (bound whole). Uniforms: a plain object of member values, or an array of objects
 * that together give every member, a later one winning (no copying to add a few). An entry the program does not
 * use may be left undefined.
 */
export type Resources = Record<string, Tensor | GPUBuffer | GPUBufferBinding | UniformSource | undefined>;

export interface RuntimeOptions extends DeviceOptions {
  /** Force a kernel variant by family name, e.g. { conv2d: 'tiled' } (benchmarks, tests). */
  variants?: Record<string, string>;
  /**
   * Use the variants an autotuning pass cached for this adapter (engine/autotune.ts); `variants`
   * still win. A cached variant this device cannot run (e.g. 'gemv_subgroup' without the
   * 'subgroups' feature) is ignored with a warning.
   */
  autotune?: TuneStore;
  /** Where one-line warnings go (an ignored autotune choice); default console.warn. */
  onWarning?: (message: string) => void;
  /**
   * Tests: fold dispatch grids at this many workgroups per axis instead of 65535 (and refuse
   * any unfolded axis above it), so folding is exercised at small sizes.
   */
  maxWorkgroupsPerDimension?: number;
}

export interface RuntimeStats {
  dispatches: number;
  bindGroupsCreated: number;
  /** Dispatches that reused a cached bind group. */
  bindGroupsReused: number;
  /** Cached bind groups whose uniform slot was rewritten in place (its uniforms changed). */
  uniformRewrites: number;
  /** Dispatches issued by Capture.replay() (their bind groups are the capture's own, created at its recording). */
  replayed: number;
}

/** What dispatch needs per program, worked out once (Runtime.dispatchPlan). */
interface DispatchPlan {
  storage: BindingInfo[];
  /** Binding numbers of `storage`. */
  storageBindings: number[];
  uniforms: BindingInfo[];
  /** Byte offset of each uniform struct in the scratch (a 256-byte slot each). */
  uniformOffsets: number[];
  /** 32-bit words of scratch the structs span (the last one only its own bytes). */
  words: number;
  /** Whether the structs fit one cached slot (bind_groups.ts). */
  cacheable: boolean;
}

const MAX_BATCHED_DISPATCHES = 256;
/** Every WebGPU device supports this many workgroups per dispatch axis (the spec default). */
const MAX_GROUPS_DEFAULT = 65535;
/** Uniform structs of one batch share one buffer, each at a 256-byte aligned slot (UNIFORM_SLOT). */
const UNIFORM_ARENA_BYTES = MAX_BATCHED_DISPATCHES * UNIFORM_SLOT;

export class Runtime implements ReplayTarget {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly variants: Record<string, string>;
  /** Workgroups per dispatch axis that kernels fold their grids to (see RuntimeOptions). */
  readonly maxGroups: number;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batched = 0;
  private uniformData = new Uint8Array(UNIFORM_ARENA_BYTES);
  private uniformBuffer: GPUBuffer | null = null;
  private uniformBytes = 0;
  private error: string | null = null;
  private profiler: Profiler | null = null;
  /** Counters for benchmarks and tests: dispatches recorded, bind groups created and reused. */
  readonly stats: RuntimeStats = { dispatches: 0, bindGroupsCreated: 0, bindGroupsReused: 0, uniformRewrites: 0, replayed: 0 };
  /** Bind groups reused across dispatches, keyed by pipeline and storage bindings (bind_groups.ts). */
  readonly bindGroups: BindGroupCache;
  /** Scratch the uniform structs of one dispatch are packed into (4 slots of 256 bytes). */
  private uniformScratch = uniformScratch(4 * UNIFORM_SLOT);
  /** Per program: its storage and uniform bindings and where each struct is packed (dispatchPlan). */
  private plans = new WeakMap<Program, DispatchPlan>();
  /** Scratch: the storage bindings (buffer, offset, size) of the dispatch being recorded. */
  private bound = { buffers: [] as GPUBuffer[], offsets: [] as number[], sizes: [] as number[] };
  private readonly maxBinding: number;
  private readonly bindAlign: number;
  /** Programs by code string, then entry point, then by name and overrides (skips the pipeline cache's key building). */
  private programMemo = new Map<string, Map<string, { name: string; constants: Record<string, number> | undefined; program: Program }[]>>();
  /** Live captures and the one being recorded (rt.capture, engine/capture.ts). */
  private readonly captures: CaptureKeeper;
  /** Set while programsUsedBy() runs a pass without recording it: the specs it would build. */
  private collecting: Map<string, ProgramSpec> | null = null;

  private constructor(readonly gpu: GpuHandle, options: RuntimeOptions) {
    this.device = gpu.device;
    this.bindGroups = new BindGroupCache(this.device, this.stats);
    this.pool = new BufferPool(this.device, (buf) => this.bindGroups.forget(buf));
    this.captures = new CaptureKeeper(this.pool);
    this.pool.keeper = this.captures;
    this.pipelines = new PipelineCache(this.device);
    this.variants = { ...(options.variants ?? {}) };
    this.maxGroups = Math.min(options.maxWorkgroupsPerDimension ?? MAX_GROUPS_DEFAULT, this.device.limits.maxComputeWorkgroupsPerDimension);
    this.maxBinding = this.device.limits.maxStorageBufferBindingSize;
    this.bindAlign = this.device.limits.minStorageBufferOffsetAlignment;
    this.device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.error ??= e.message;
    });
  }

  static async create(options: RuntimeOptions = {}): Promise<Runtime> {
    const gpu = await createGpu(options);
    const rt = new Runtime(gpu, options);
    const tuned = options.autotune ? cachedVariants(options.autotune, adapterKey(gpu.adapterInfo)) : null;
    if (tuned) {
      const warn = options.onWarning ?? ((m: string) => console.warn(m));
      Object.assign(rt.variants, usableVariants(tuned, options.variants ?? {}, (f, v) => variantUnavailable(rt, f, v), warn));
    }
    return rt;
  }

  get kind(): AdapterKind {
    return this.gpu.kind;
  }

  describe(): string {
    return describeAdapter(this.gpu);
  }

  /** The variant a kernel family should use: an explicit override, else by adapter kind. */
  variant<T extends string>(family: string, byKind: Record<AdapterKind, T>): T {
    return (this.variants[family] as T | undefined) ?? byKind[this.kind];
  }

  program(spec: ProgramSpec): Program {
    this.checkAlive();
    // By code string, then entry point, then a short list compared by override values: no key
    // string is built on a hit.
    let byCode = this.programMemo.get(spec.code);
    if (!byCode) this.programMemo.set(spec.code, (byCode = new Map()));
    const entry = spec.entryPoint ?? 'main';
    let list = byCode.get(entry);
    if (!list) byCode.set(entry, (list = []));
    const constants = spec.constants;
    for (const m of list) if (m.name === spec.name && sameConstants(m.constants, constants)) return m.program;
    if (this.collecting && !this.pipelines.has(spec)) {
      // A dry pass: remember the spec, hand back its reflection only (dispatch records nothing).
      const plan = this.pipelines.plan(spec);
      this.collecting.set(plan.key, spec);
      const stub = { label: plan.key, name: plan.name, entryPoint: plan.entryPoint, workgroupSize: plan.workgroupSize, bindings: plan.bindings };
      return stub as unknown as Program;
    }
    const program = this.pipelines.get(spec);
    list.push({ name: spec.name, constants: constants ? { ...constants } : undefined, program });
    return program;
  }

  /**
   * Run `pass` (e.g. a model forward) without recording or submitting any GPU work and return
   * the specs of the pipelines it would build that are not cached yet. Reads fail inside it.
   */
  programsUsedBy(pass: () => unknown): ProgramSpec[] {
    if (this.collecting) throw new Error('programsUsedBy: already collecting');
    this.flush();
    this.collecting = new Map();
    try {
      pass();
      return [...this.collecting.values()];
    } finally {
      this.collecting = null;
    }
  }

  /**
   * Build pipelines with createComputePipelineAsync and cache them, so first use does not stall
   * the page: `specs`, or every pipeline a pass would use (see programsUsedBy). Returns how many
   * were built.
   */
  async warm(specs: readonly ProgramSpec[] | (() => unknown)): Promise<number> {
    const list = typeof specs === 'function' ? this.programsUsedBy(specs) : specs;
    const missing = list.filter((s) => !this.pipelines.has(s));
    await Promise.all(missing.map((s) => this.pipelines.getAsync(s)));
    this.checkAlive();
    return missing.length;
  }

  /**
   * Record `pass` (e.g. a model forward at a fixed input tensor) once, without running it, for
   * replay() to re-issue: see engine/capture.ts for what is kept and what a replay reads. The
   * pass must be synchronous and must not read back; `label` names the capture in errors.
   */
  capture<T>(pass: () => T, label = 'capture'): Capture<T> {
    if (this.collecting) throw new Error('capture: cannot record inside programsUsedBy()');
    if (this.profiler) throw new Error('capture: cannot record inside rt.profile() (profile a replay of it instead)');
    if (this.captures.recording) throw new Error(`capture '${label}': capture '${this.captures.recording.label}' is already being recorded`);
    this.checkAlive();
    const c = new Capture<T>(label, this.device, this, this.captures);
    this.captures.recording = c as Capture<unknown>;
    try {
      const result = pass();
      if (result instanceof Promise) {
        result.catch(() => {});
        throw new Error(`capture '${label}': the pass returned a promise; it must record its work synchronously`);
      }
      c.result = result;
      this.checkAlive();
      c.finish();
      return c;
    } catch (e) {
      c.dispose();
      throw e;
    } finally {
      if (this.captures.recording === (c as Capture<unknown>)) this.captures.recording = null;
    }
  }

  /** @internal Capture.replay(): issue recorded commands into the current batch. */
  replayCommands(commands: readonly CapturedCommand[]): void {
    if (this.collecting) return;
    if (this.captures.recording) throw new Error(`replay: capture '${this.captures.recording.label}' is being recorded (a replay cannot be recorded into another capture)`);
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i];
      if (c.kind === 'dispatch') {
        this.stats.replayed++;
        this.issue(c.program, c.bindGroup, c.x, c.y, c.z, c.cost, c.scope);
      } else if (c.kind === 'copy') this.endPass().copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
      else this.endPass().clearBuffer(c.buf, c.offset, c.bytes);
    }
  }

  /**
   * Profiling mode: run `pass`, recording every dispatch it makes (see engine/profile.ts). With
   * 'timestamp-query' each dispatch gets its own timestamped compute pass; without it only the
   * wall time of the whole pass is measured, and the profile's `timing` and `note` say so.
   */
  profile<T>(pass: () => T | Promise<T>): Promise<Profile<T>> {
    // Checked before the first await, so that misuse throws where it happens.
    if (this.profiler) throw new Error('profile: a profile is already running');
    if (this.captures.recording) throw new Error(`profile: capture '${this.captures.recording.label}' is being recorded`);
    return this.runProfile(pass);
  }

  private async runProfile<T>(pass: () => T | Promise<T>): Promise<Profile<T>> {
    this.flush();
    const profiler = (this.profiler = new Profiler(this.device, this.gpu.timestamps, MAX_BATCHED_DISPATCHES));
    const t0 = performance.now();
    let result: T;
    try {
      result = await pass();
      await this.sync();
    } finally {
      this.flush();
      this.profiler = null;
    }
    const wallMs = performance.now() - t0;
    await profiler.finish();
    const timing = profiler.timestamps ? 'timestamp-query' : 'wall-time';
    const note = profiler.timestamps
      ? 'GPU time per dispatch from timestamp queries (one compute pass per dispatch while profiling)'
      : 'this device has no timestamp-query: only the wall time of the whole pass is available (gpuNs is null)';
    return { records: profiler.records, timing, note, wallMs, result };
  }

  /** Throws if the device was lost or a WebGPU validation error was raised. */
  checkAlive(): void {
    if (this.gpu.lostReason) throw new Error(`WebGPU device lost (${this.gpu.lostReason})`);
    if (this.error) {
      const e = this.error;
      this.error = null;
      throw new Error(`WebGPU error: ${e}`);
    }
  }

  private computePass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'cnnvis batch' });
    this.pass ??= this.encoder.beginComputePass({ label: 'cnnvis pass' });
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'cnnvis batch' }));
  }

  /**
   * Record one dispatch. Uniform structs are packed by member name from the WGSL (a uniform
   * resource may be one object or several, see uniforms.ts). `cost` is the
   * kernel's estimate of its FLOPs and bytes moved, kept by the profiling mode. The bind group
   * comes from the cache (bind_groups.ts) when this pipeline ran over these buffers before.
   */
  dispatch(program: Program, resources: Resources, workgroups: readonly number[], cost?: DispatchCost): void {
    this.checkAlive();
    const x = workgroups[0];
    const y = workgroups[1] ?? 1;
    const z = workgroups[2] ?? 1;
    const maxWg = this.maxGroups;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new Error(`${program.label}: dispatch (${x}, ${y}, ${z}) exceeds ${maxWg} workgroups per dimension (fold the grid: sampleGrid / foldGrid)`);
    }
    if (x * y * z === 0) return;
    const plan = this.dispatchPlan(program);
    const { buffers, offsets, sizes } = this.bound;
    for (let i = 0; i < plan.storage.length; i++) {
      const b = plan.storage[i];
      const r = resources[b.name];
      if (r === undefined) throw new Error(`${program.label}: binding '${b.name}' was not given`);
      this.storageBinding(program, b.name, r, i);
    }
    for (let i = 0; i < plan.uniforms.length; i++) {
      const b = plan.uniforms[i];
      const r = resources[b.name];
      if (r === undefined) throw new Error(`${program.label}: binding '${b.name}' was not given`);
      if (isStorage(r)) throw new Error(`${program.label}: '${b.name}' is a uniform struct, got a buffer`);
      if (plan.uniformOffsets[i] + uniformBytes(b) > this.uniformScratch.u32.byteLength) throw new Error(`${program.label}: uniform struct ${b.name} of ${uniformBytes(b)} bytes is too large`);
      packInto(program, b, r as UniformSource, this.uniformScratch, plan.uniformOffsets[i] / 4);
    }
    if (this.collecting) return;
    const recording = this.captures.recording;
    if (recording) {
      recording.commands.push({ kind: 'dispatch', program, bindGroup: this.capturedBindGroup(recording, program, plan), x, y, z, cost, scope: profileScope() });
      return;
    }
    const words = this.uniformScratch.u32;
    const cached = plan.cacheable
      ? this.bindGroups.lookup(program, plan.storage.length, buffers, offsets, sizes, plan.storageBindings, plan.uniforms, plan.uniformOffsets, words, plan.words)
      : null;
    this.issue(program, cached ?? this.uncachedBindGroup(program, plan), x, y, z, cost);
  }

  /** Put one dispatch into the batch (profiled when a profile runs). */
  private issue(program: Program, bindGroup: GPUBindGroup, x: number, y: number, z: number, cost: DispatchCost | undefined, scope?: string | null): void {
    this.stats.dispatches++;
    const record = this.profiler?.record(program, [x, y, z], cost, scope === undefined ? profileScope() : scope);
    const timestampWrites = record && this.profiler!.timestampWrites(record);
    const pass = timestampWrites ? this.endPass().beginComputePass({ label: `${program.label} (profiled)`, timestampWrites }) : this.computePass();
    pass.setPipeline(program.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (timestampWrites) pass.end();
    if (++this.batched >= MAX_BATCHED_DISPATCHES) this.flush();
  }

  /** What dispatch needs to know about a program's bindings, worked out on its first dispatch. */
  private dispatchPlan(program: Program): DispatchPlan {
    let plan = this.plans.get(program);
    if (plan) return plan;
    const storage = program.bindings.filter((b) => b.kind !== 'uniform');
    const uniforms = program.bindings.filter((b) => b.kind === 'uniform');
    const uniformOffsets: number[] = [];
    let at = 0;
    for (const b of uniforms) {
      uniformOffsets.push(at);
      at += Math.ceil(uniformBytes(b) / UNIFORM_SLOT) * UNIFORM_SLOT;
    }
    // The last uniform struct needs only its own bytes, not a whole 256-byte slot.
    const words = uniforms.length ? (uniformOffsets[uniforms.length - 1] + uniformBytes(uniforms[uniforms.length - 1])) / 4 : 0;
    plan = { storage, storageBindings: storage.map((b) => b.binding), uniforms, uniformOffsets, words, cacheable: words * 4 <= UNIFORM_SLOT };
    this.plans.set(program, plan);
    while (this.bound.buffers.length < storage.length) {
      this.bound.buffers.push(null as unknown as GPUBuffer);
      this.bound.offsets.push(0);
      this.bound.sizes.push(0);
    }
    return plan;
  }

  /** A capture's own bind group: its uniforms in the capture's buffer, its buffers kept for it. */
  private capturedBindGroup(c: Capture<unknown>, program: Program, plan: DispatchPlan): GPUBindGroup {
    for (let i = 0; i < plan.storage.length; i++) this.captures.bound(this.bound.buffers[i]);
    return this.oneOffBindGroup(program, plan, (bytes) => c.uniformSlot(bytes), `${program.label} bind group (${c.label})`);
  }

  /** A one-off bind group whose uniforms live in this batch's arena (the cache had no free version). */
  private uncachedBindGroup(program: Program, plan: DispatchPlan): GPUBindGroup {
    return this.oneOffBindGroup(program, plan, (bytes) => this.uniformSlot(bytes), `${program.label} bind group`);
  }

  /** A new bind group over this.bound's storage ranges, each packed uniform struct placed by `slot`. */
  private oneOffBindGroup(program: Program, plan: DispatchPlan, slot: (bytes: Uint8Array) => GPUBufferBinding, label: string): GPUBindGroup {
    const { buffers, offsets, sizes } = this.bound;
    const entries: GPUBindGroupEntry[] = plan.storage.map((b, i) => ({ binding: b.binding, resource: { buffer: buffers[i], offset: offsets[i], size: sizes[i] } }));
    plan.uniforms.forEach((b, i) => entries.push({ binding: b.binding, resource: slot(new Uint8Array(this.uniformScratch.u32.buffer, plan.uniformOffsets[i], uniformBytes(b))) }));
    this.stats.bindGroupsCreated++;
    return this.device.createBindGroup({ label, layout: program.layout, entries });
  }

  /** Resolve storage resource `r` into slot `i` of this.bound, checked against the device's binding limits. */
  private storageBinding(program: Program, name: string, r: Resources[string], i: number): void {
    let buffer: GPUBuffer;
    let offset: number;
    let size: number;
    if (r instanceof Tensor) {
      r.assertLive();
      buffer = r.buffer;
      offset = r.bindOffset;
      size = r.bindBytes;
    } else if (isBuffer(r)) {
      buffer = r;
      offset = 0;
      size = r.size;
    } else if (isStorage(r)) {
      buffer = r.buffer;
      offset = r.offset ?? 0;
      size = r.size ?? r.buffer.size - offset;
    } else {
      throw new Error(`${program.label}: '${name}' needs a Tensor, GPUBuffer or GPUBufferBinding, got uniform values`);
    }
    if (size > this.maxBinding) {
      throw new Error(`${program.label}: binding '${name}' (${describeStorage(r)}) spans ${size} bytes, over the device's maxStorageBufferBindingSize ${this.maxBinding}`);
    }
    if (offset % this.bindAlign !== 0) {
      throw new Error(`${program.label}: binding '${name}' (${describeStorage(r)}) starts at byte ${offset}, not a multiple of minStorageBufferOffsetAlignment ${this.bindAlign}`);
    }
    this.bound.buffers[i] = buffer;
    this.bound.offsets[i] = offset;
    this.bound.sizes[i] = size;
  }

  /** Place a packed uniform struct in this batch's uniform arena (uploaded once, at flush). */
  private uniformSlot(data: Uint8Array): GPUBufferBinding {
    const slot = Math.ceil(data.byteLength / UNIFORM_SLOT) * UNIFORM_SLOT;
    if (slot > UNIFORM_ARENA_BYTES) throw new Error(`uniform struct of ${data.byteLength} bytes is too large`);
    if (this.uniformBytes + slot > UNIFORM_ARENA_BYTES) this.flush();
    this.uniformBuffer ??= this.pool.acquire(UNIFORM_ARENA_BYTES, Usage.UNIFORM | Usage.COPY_DST, 'uniform arena');
    const offset = this.uniformBytes;
    this.uniformData.set(data, offset);
    this.uniformBytes += slot;
    return { buffer: this.uniformBuffer, offset, size: data.byteLength };
  }

  /** Destroy a buffer the pool does not own (e.g. a weight arena), dropping its cached bind groups first. */
  destroyBuffer(buf: GPUBuffer): void {
    this.captures.destroyed(buf);
    this.bindGroups.forget(buf);
    buf.destroy();
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes <= 0 || this.collecting) return;
    const recording = this.captures.recording;
    if (recording) {
      this.captures.bound(src);
      this.captures.bound(dst);
      recording.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes });
    } else this.endPass().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Zero a whole buffer (or a range) in command order. */
  clear(buf: GPUBuffer, offset = 0, bytes?: number): void {
    if (this.collecting) return;
    const recording = this.captures.recording;
    if (recording) {
      this.captures.bound(buf);
      recording.commands.push({ kind: 'clear', buf, offset, bytes });
    } else this.endPass().clearBuffer(buf, offset, bytes);
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (this.uniformBuffer) {
      this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformData, 0, this.uniformBytes);
      // Parked until after the submit below, so the next batch gets a different arena.
      this.pool.releaseAfterSubmit(this.uniformBuffer);
      this.uniformBuffer = null;
      this.uniformBytes = 0;
    }
    if (this.encoder) {
      this.endPass();
      const afterSubmit = this.profiler?.resolve(this.encoder);
      this.device.queue.submit([this.encoder.finish()]);
      afterSubmit?.();
      this.encoder = null;
      this.batched = 0;
      this.bindGroups.submitted();
    }
    this.pool.recycleParked();
  }

  /** Submit and wait for the GPU to finish (benchmarks). */
  async sync(): Promise<void> {
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.gpu.lost.then(() => undefined)]);
    this.checkAlive();
  }

  /** Throws where a read back cannot happen now (inside rt.capture's recording), naming `what`. */
  assertReadable(what: string): void {
    const rec = this.captures.recording;
    if (rec) throw new Error(`${what}: cannot read inside rt.capture() ('${rec.label}': nothing has run yet; read after replay())`);
  }

  /** Copy `bytes` from `buf` at `offset` back to the CPU. */
  async readBuffer(buf: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    if (this.collecting) throw new Error('readBuffer: cannot read inside programsUsedBy (nothing is computed)');
    this.assertReadable('readBuffer');
    const staging = this.pool.acquire(bytes, Usage.MAP_READ | Usage.COPY_DST, 'readback');
    this.copy(buf, offset, staging, 0, bytes);
    this.flush();
    try {
      await Promise.race([
        staging.mapAsync(GPUMapMode.READ, 0, BufferPool.roundSize(bytes)),
        this.gpu.lost.then((r) => Promise.reject(new Error(`WebGPU device lost (${r})`))),
      ]);
      this.checkAlive();
      const out = staging.getMappedRange(0, BufferPool.roundSize(bytes)).slice(0, bytes);
      staging.unmap();
      return out;
    } finally {
      this.pool.release(staging);
    }
  }

  destroy(): void {
    this.flush();
    this.pool.trim();
    this.bindGroups.clear();
    this.device.destroy();
  }
}

/** Whether two override sets are equal (undefined and {} alike). */
function sameConstants(a: Record<string, number> | undefined, b: Record<string, number> | undefined): boolean {
  let na = 0;
  if (a) for (const k in a) {
    if (b?.[k] !== a[k]) return false;
    na++;
  }
  let nb = 0;
  if (b) for (const _ in b) nb++;
  return na === nb;
}

/** How an error names a storage resource. */
function describeStorage(r: Resources[string]): string {
  if (r instanceof Tensor) return `tensor '${r.label}'`;
  if (isBuffer(r)) return `buffer '${r.label}'`;
  return `range of buffer '${(r as GPUBufferBinding).buffer.label}'`;
}

function isBuffer(r: unknown): r is GPUBuffer {
  return r instanceof Object && 'usage' in r && 'mapAsync' in r;
}

/** A GPUBuffer or a GPUBufferBinding (anything but uniform values). */
function isStorage(r: unknown): r is GPUBufferBinding {
  return r instanceof Tensor || isBuffer(r) || (r instanceof Object && 'buffer' in r && isBuffer((r as GPUBufferBinding).buffer));
}
