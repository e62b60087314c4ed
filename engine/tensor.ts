// Float32 NCHW tensors on the GPU. Every tensor is 4-D (N, C, H, W); a fully connected layer's
// activations are (N, F, 1, 1). A tensor may be a *channel view* into a larger one: sample n
// occupies elements [base + n * batchStride, base + n * batchStride + C*H*W) of the buffer.
// That is how concatenation costs nothing: each branch writes straight into its channel slice,
// and the backward split is just views into the gradient.

import { TENSOR_USAGE } from './buffer_pool';
import type { Runtime } from './runtime';

export type Shape4 = readonly [number, number, number, number];

/**
 * Alignment of the byte offset at which tensors are bound: the largest value WebGPU allows for
 * minStorageBufferOffsetAlignment (and minUniformBufferOffsetAlignment), so it suits every device.
 */
export const BIND_ALIGN = 256;

export function shapeStr(s: readonly number[]): string {
  return `(${s.join(', ')})`;
}

/** The `<prefix>_base` / `<prefix>_stride` names of Tensor.layout, made once per prefix. */
const layoutKeys = new Map<string, [string, string]>();

export function checkShape(s: readonly number[], what: string): Shape4 {
  let ok = s.length === 4;
  for (let i = 0; ok && i < 4; i++) ok = Number.isInteger(s[i]) && s[i] >= 1;
  if (!ok) {
    throw new Error(`${what}: shape must be 4 positive integers (N, C, H, W), got ${shapeStr(s)}`);
  }
  return s as unknown as Shape4;
}

export class Tensor {
  private static created = 0;
  private disposed = false;
  /**
   * Creation order (views too). Passes free their tensors newest first, so the pool's LIFO free
   * lists hand every tensor of the next identical pass the same buffer: its dispatches then hit
   * the runtime's bind-group cache from the second pass on.
   */
  readonly seq = Tensor.created++;

  /**
   * Byte offset at which a dispatch binds this tensor: `base` aligned down to BIND_ALIGN, so a
   * view deep into a large buffer (e.g. the weight arena) binds only its own extent.
   */
  readonly bindOffset: number;
  /** `base` relative to bindOffset: the element index of sample 0 inside the bound range. */
  readonly boundBase: number;
  /** Bytes a dispatch binds from bindOffset: through the end of the last sample. */
  readonly bindBytes: number;

  private constructor(
    readonly rt: Runtime,
    readonly buffer: GPUBuffer,
    readonly shape: Shape4,
    /** Element offset of sample 0, channel 0. */
    readonly base: number,
    /** Elements between consecutive samples. */
    readonly batchStride: number,
    /** Whether dispose() returns the buffer to the pool (false for views). */
    private readonly owner: boolean,
    readonly label: string,
  ) {
    this.bindOffset = Math.floor((base * 4) / BIND_ALIGN) * BIND_ALIGN;
    this.boundBase = base - this.bindOffset / 4;
    this.bindBytes = (base + (shape[0] - 1) * batchStride + shape[1] * shape[2] * shape[3]) * 4 - this.bindOffset;
  }

  /** A fresh tensor from the pool. Its contents are undefined until a kernel writes them. */
  static empty(rt: Runtime, shape: readonly number[], label: string): Tensor {
    const s = checkShape(shape, label);
    const size = s[0] * s[1] * s[2] * s[3];
    const buf = rt.pool.acquire(size * 4, TENSOR_USAGE, label);
    return new Tensor(rt, buf, s, 0, size / s[0], true, label);
  }

  static zeros(rt: Runtime, shape: readonly number[], label: string): Tensor {
    const t = Tensor.empty(rt, shape, label);
    rt.clear(t.buffer, 0, t.buffer.size);
    return t;
  }

  static fromData(rt: Runtime, data: Float32Array, shape: readonly number[], label: string): Tensor {
    const t = Tensor.empty(rt, shape, label);
    if (data.length !== t.size) {
      t.dispose();
      throw new Error(`${label}: data has ${data.length} values, shape ${shapeStr(shape)} needs ${t.size}`);
    }
    t.write(data);
    return t;
  }

  /** Wrap a buffer this tensor does not own (e.g. a view into the weight arena). */
  static view(rt: Runtime, buffer: GPUBuffer, shape: readonly number[], label: string, base = 0, batchStride?: number): Tensor {
    const s = checkShape(shape, label);
    const stride = batchStride ?? s[1] * s[2] * s[3];
    const end = (base + (s[0] - 1) * stride + s[1] * s[2] * s[3]) * 4;
    if (end > buffer.size) throw new Error(`${label}: view ${shapeStr(s)} at element ${base} overruns its ${buffer.size}-byte buffer`);
    return new Tensor(rt, buffer, s, base, stride, false, label);
  }

  get n(): number { return this.shape[0]; }
  get c(): number { return this.shape[1]; }
  get h(): number { return this.shape[2]; }
  get w(): number { return this.shape[3]; }
  /** Elements per sample. */
  get sampleSize(): number { return this.shape[1] * this.shape[2] * this.shape[3]; }
  get size(): number { return this.shape[0] * this.sampleSize; }
  get isContiguous(): boolean { return this.base === 0 && (this.n === 1 || this.batchStride === this.sampleSize); }
  get isDisposed(): boolean { return this.disposed; }

  /**
   * What `rt.dispatch` binds for this tensor: exactly its extent [base, base + (N-1)*batchStride +
   * C*H*W) from bindOffset. BIND_ALIGN is a multiple of 16 bytes, so boundBase keeps base's
   * alignment to vec4s.
   */
  binding(): GPUBufferBinding & { offset: number; size: number } {
    this.assertLive();
    return { buffer: this.buffer, offset: this.bindOffset, size: this.bindBytes };
  }

  /**
   * Uniform values that locate this tensor in its bound range (kernels use `<prefix>_base`,
   * `<prefix>_stride`). The base is relative to bindOffset, so it agrees with binding().
   */
  layout(prefix: string): Record<string, number> {
    this.assertLive();
    let keys = layoutKeys.get(prefix);
    if (!keys) layoutKeys.set(prefix, (keys = [`${prefix}_base`, `${prefix}_stride`]));
    return { [keys[0]]: this.boundBase, [keys[1]]: this.batchStride };
  }

  /** The view of channels [c0, c0 + count) of this tensor. */
  channels(c0: number, count: number, label = `${this.label}[c${c0}:${c0 + count}]`): Tensor {
    this.assertLive();
    if (c0 < 0 || count < 1 || c0 + count > this.c) {
      throw new Error(`${this.label}: channel slice [${c0}, ${c0 + count}) is outside its ${this.c} channels`);
    }
    const hw = this.h * this.w;
    return new Tensor(this.rt, this.buffer, [this.n, count, this.h, this.w], this.base + c0 * hw, this.batchStride, false, label);
  }

  /** The same memory seen with another per-sample shape (contiguous tensors only). */
  reshape(shape: readonly number[], label = this.label): Tensor {
    const s = checkShape(shape, label);
    if (s[0] !== this.n || s[1] * s[2] * s[3] !== this.sampleSize) {
      throw new Error(`${this.label}: cannot reshape ${shapeStr(this.shape)} to ${shapeStr(s)}`);
    }
    return new Tensor(this.rt, this.buffer, s, this.base, this.batchStride, false, label);
  }

  assertLive(): void {
    if (this.disposed) throw new Error(`${this.label}: tensor used after dispose()`);
  }

  /** Overwrite the tensor's elements from CPU data in NCHW order. */
  write(data: Float32Array): void {
    this.assertLive();
    if (data.length !== this.size) throw new Error(`${this.label}: write of ${data.length} values into ${shapeStr(this.shape)}`);
    // Recorded writes must land after already-recorded commands: flush first.
    this.rt.flush();
    const q = this.rt.device.queue;
    const per = this.sampleSize;
    if (this.isContiguous) q.writeBuffer(this.buffer, this.base * 4, data.buffer, data.byteOffset, data.byteLength);
    else for (let i = 0; i < this.n; i++) q.writeBuffer(this.buffer, (this.base + i * this.batchStride) * 4, data.buffer, data.byteOffset + i * per * 4, per * 4);
  }

  /** Read the tensor back in dense NCHW order (throws at once where no read is possible: inside rt.capture). */
  read(): Promise<Float32Array> {
    this.assertLive();
    this.rt.assertReadable(this.label);
    return this.readDense();
  }

  private async readDense(): Promise<Float32Array> {
    if (this.isContiguous) return new Float32Array(await this.rt.readBuffer(this.buffer, this.base * 4, this.size * 4));
    const dense = Tensor.empty(this.rt, this.shape, `${this.label} (dense copy)`);
    try {
      this.copyTo(dense);
      return await dense.read();
    } finally {
      dense.dispose();
    }
  }

  /** Copy this tensor into `dst` of the same shape (either may be a view), sample by sample, in command order. */
  copyTo(dst: Tensor): void {
    this.assertLive();
    dst.assertLive();
    if (dst.shape.some((d, i) => d !== this.shape[i])) throw new Error(`${this.label}: copy to ${dst.label} of shape ${shapeStr(dst.shape)}, expected ${shapeStr(this.shape)}`);
    const bytes = this.sampleSize * 4;
    if (this.isContiguous && dst.isContiguous) this.rt.copy(this.buffer, this.base * 4, dst.buffer, dst.base * 4, this.size * 4);
    else for (let i = 0; i < this.n; i++) this.rt.copy(this.buffer, (this.base + i * this.batchStride) * 4, dst.buffer, (dst.base + i * dst.batchStride) * 4, bytes);
  }

  /** Read back a tensor whose elements hold u32 bit patterns (e.g. max-pool argmax). */
  async readU32(): Promise<Uint32Array> {
    const f = await this.read();
    return new Uint32Array(f.buffer, f.byteOffset, f.length);
  }

  /** Dispose `tensors` newest first (see seq), so an identical later pass gets the same buffers back. */
  static disposeAll(tensors: Iterable<Tensor>): void {
    for (const t of [...tensors].sort((a, b) => b.seq - a.seq)) t.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.owner) this.rt.pool.release(this.buffer);
  }
}
