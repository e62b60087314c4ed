// The runtime: one device, one buffer pool, one pipeline cache, and a command encoder that
// batches dispatches until something needs the results (a read) or the batch grows large.

import { BufferPool, Usage } from './buffer_pool';
import { createGpu, describeAdapter, type AdapterKind, type DeviceOptions, type GpuHandle } from './device';
import { packUniforms, PipelineCache, type Program, type ProgramSpec } from './pipeline_cache';

export type UniformValues = Record<string, number | readonly number[]>;
/** A dispatch's resources by WGSL variable name: buffers for storage, plain objects for uniforms. */
export type Resources = Record<string, GPUBuffer | UniformValues>;

export interface RuntimeOptions extends DeviceOptions {
  /** Force a kernel variant by family name, e.g. { conv2d: 'tiled' } (benchmarks, tests). */
  variants?: Record<string, string>;
}

const MAX_BATCHED_DISPATCHES = 256;
/** Uniform structs of one batch share one buffer, each at a 256-byte aligned slot. */
const UNIFORM_SLOT = 256;
const UNIFORM_ARENA_BYTES = MAX_BATCHED_DISPATCHES * UNIFORM_SLOT;

export class Runtime {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly variants: Record<string, string>;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batched = 0;
  private uniformData = new Uint8Array(UNIFORM_ARENA_BYTES);
  private uniformBuffer: GPUBuffer | null = null;
  private uniformBytes = 0;
  private error: string | null = null;

  private constructor(readonly gpu: GpuHandle, options: RuntimeOptions) {
    this.device = gpu.device;
    this.pool = new BufferPool(this.device);
    this.pipelines = new PipelineCache(this.device);
    this.variants = { ...(options.variants ?? {}) };
    this.device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.error ??= e.message;
    });
  }

  static async create(options: RuntimeOptions = {}): Promise<Runtime> {
    return new Runtime(await createGpu(options), options);
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
    return this.pipelines.get(spec);
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

  /** Record one dispatch. Uniform structs are packed by member name from the WGSL. */
  dispatch(program: Program, resources: Resources, workgroups: readonly number[]): void {
    this.checkAlive();
    const [x, y = 1, z = 1] = workgroups;
    const maxWg = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new Error(`${program.label}: dispatch (${x}, ${y}, ${z}) exceeds maxComputeWorkgroupsPerDimension ${maxWg}`);
    }
    if (x * y * z === 0) return;
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    const entries: GPUBindGroupEntry[] = program.bindings.map((b) => {
      const r = resources[b.name];
      if (r === undefined) throw new Error(`${program.label}: binding '${b.name}' was not given`);
      if (b.kind === 'uniform') {
        if (r instanceof Object && 'usage' in r) throw new Error(`${program.label}: '${b.name}' is a uniform struct, got a buffer`);
        return { binding: b.binding, resource: this.uniformSlot(packUniforms(program, b, r as UniformValues)) };
      }
      if (!(r instanceof Object && 'usage' in r)) throw new Error(`${program.label}: '${b.name}' needs a buffer`);
      const buf = r as GPUBuffer;
      if (buf.size > maxBinding) {
        throw new Error(`${program.label}: '${b.name}' is ${buf.size} bytes, over the device's maxStorageBufferBindingSize ${maxBinding}`);
      }
      return { binding: b.binding, resource: { buffer: buf } };
    });
    const bindGroup = this.device.createBindGroup({ label: `${program.label} bind group`, layout: program.layout, entries });
    const pass = this.computePass();
    pass.setPipeline(program.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (++this.batched >= MAX_BATCHED_DISPATCHES) this.flush();
  }

  /** Place a packed uniform struct in this batch's uniform arena (uploaded once, at flush). */
  private uniformSlot(data: ArrayBuffer): GPUBufferBinding {
    const slot = Math.ceil(data.byteLength / UNIFORM_SLOT) * UNIFORM_SLOT;
    if (slot > UNIFORM_ARENA_BYTES) throw new Error(`uniform struct of ${data.byteLength} bytes is too large`);
    if (this.uniformBytes + slot > UNIFORM_ARENA_BYTES) this.flush();
    this.uniformBuffer ??= this.pool.acquire(UNIFORM_ARENA_BYTES, Usage.UNIFORM | Usage.COPY_DST, 'uniform arena');
    const offset = this.uniformBytes;
    this.uniformData.set(new Uint8Array(data), offset);
    this.uniformBytes += slot;
    return { buffer: this.uniformBuffer, offset, size: data.byteLength };
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes > 0) this.endPass().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Zero a whole buffer (or a range) in command order. */
  clear(buf: GPUBuffer, offset = 0, bytes?: number): void {
    this.endPass().clearBuffer(buf, offset, bytes);
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
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.batched = 0;
    }
    this.pool.recycleParked();
  }

  /** Submit and wait for the GPU to finish (benchmarks). */
  async sync(): Promise<void> {
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.gpu.lost.then(() => undefined)]);
    this.checkAlive();
  }

  /** Copy `bytes` from `buf` at `offset` back to the CPU. */
  async readBuffer(buf: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
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
    this.device.destroy();
  }
}
