// One pool for every transient GPU buffer (activations, gradients, uniforms, staging).
// Buffers are keyed on (byte size rounded up to 256, usage).
// Reuse rule: a buffer may be handed out again while commands that use it are still being
// recorded, because GPU commands run in order and WebGPU synchronises between dispatches. The
// one hazard is queue.writeBuffer, which runs *before* the commands still being recorded: so
// tensors flush before writing (Tensor.write), and buffers that get written at record time
// (uniforms) are released with releaseAfterSubmit() and parked until the next submit.

import type { CaptureKeeper } from './capture';

const ALIGN = 256;

/** GPUBufferUsage bits as plain numbers: in Node the GPU globals exist only once Dawn is loaded. */
export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
/** What every tensor buffer is created with. */
export const TENSOR_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

export interface PoolStats {
  /** Bytes of all buffers the pool has created and not destroyed. */
  bytesAllocated: number;
  /** Bytes handed out and not yet released. */
  bytesInUse: number;
  /** Bytes sitting free for reuse. */
  bytesFree: number;
  buffersAllocated: number;
}

export class BufferPool {
  /** Free buffers by key(size, usage). */
  private free = new Map<number, GPUBuffer[]>();
  private parked: GPUBuffer[] = [];
  private sizes = new WeakMap<GPUBuffer, number>();
  private stats: PoolStats = { bytesAllocated: 0, bytesInUse: 0, bytesFree: 0, buffersAllocated: 0 };
  /** Set by the runtime: live captures keep the buffers they need (engine/capture.ts). */
  keeper: CaptureKeeper | null = null;

  /** `onDestroy` runs just before the pool destroys a buffer (the runtime drops its cached bind groups). */
  private readonly maxSize: number;

  constructor(private readonly device: GPUDevice, private readonly onDestroy: (buf: GPUBuffer) => void = () => {}) {
    this.maxSize = device.limits.maxBufferSize;
  }

  static roundSize(bytes: number): number {
    return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  }

  /** One number per (size, usage): sizes are multiples of 256 and usage flags fit in 16 bits. */
  private key(size: number, usage: number): number {
    return (size / ALIGN) * 0x10000 + usage;
  }

  /** A buffer of at least `bytes` bytes with exactly `usage`, labelled for error messages. */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const size = BufferPool.roundSize(bytes);
    const maxSize = this.maxSize;
    if (size > maxSize) {
      throw new Error(`${label}: buffer of ${bytes} bytes exceeds the device's maxBufferSize (${maxSize})`);
    }
    const key = this.key(size, usage);
    const keeper = this.keeper?.active ? this.keeper : null;
    const again = keeper?.reuse(key);
    if (again) {
      again.label = label;
      keeper!.acquired(again);
      return again;
    }
    const list = this.free.get(key);
    let buf = list?.pop();
    if (buf) {
      this.stats.bytesFree -= size;
      buf.label = label;
    } else {
      buf = this.device.createBuffer({ size, usage, label });
      this.sizes.set(buf, size);
      this.stats.bytesAllocated += size;
      this.stats.buffersAllocated++;
    }
    this.stats.bytesInUse += size;
    keeper?.acquired(buf);
    return buf;
  }

  /** Give a buffer back for immediate reuse. */
  release(buf: GPUBuffer): void {
    this.makeFree(buf);
  }

  /** Give back a buffer that was written with queue.writeBuffer for unsubmitted commands. */
  releaseAfterSubmit(buf: GPUBuffer): void {
    this.parked.push(buf);
  }

  /** @internal A buffer a capture kept is given back for good (CaptureKeeper.drop). */
  freeNow(buf: GPUBuffer): void {
    this.makeFree(buf, false);
  }

  private makeFree(buf: GPUBuffer, ask = true): void {
    const size = this.sizes.get(buf);
    if (size === undefined) throw new Error(`buffer '${buf.label}' does not belong to this pool`);
    const k = this.key(size, buf.usage);
    if (ask && this.keeper?.active && this.keeper.released(buf, k)) return;
    let list = this.free.get(k);
    if (!list) this.free.set(k, (list = []));
    list.push(buf);
    this.stats.bytesInUse -= size;
    this.stats.bytesFree += size;
  }

  /** Called by the runtime right after a submit: parked buffers become free for reuse. */
  recycleParked(): void {
    for (const buf of this.parked) this.makeFree(buf);
    this.parked = [];
  }

  /** Destroy every free buffer (memory pressure, or tests that want a clean slate). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buf of list) {
        const size = this.sizes.get(buf)!;
        this.stats.bytesAllocated -= size;
        this.stats.bytesFree -= size;
        this.stats.buffersAllocated--;
        this.onDestroy(buf);
        buf.destroy();
      }
    }
    this.free.clear();
  }

  get counters(): Readonly<PoolStats> {
    return { ...this.stats };
  }
}
