// A minimal protocol-buffers encoder (proto3 wire format), enough for the ONNX messages that
// onnx_proto.ts writes. No schema: a message is written field by field through a Writer.
//
//   tag        = (field number << 3) | wire type, as a varint
//   wire types = 0 varint (int32, int64, enum, bool), 1 fixed64, 2 length-delimited (string,
//                bytes, embedded message, packed repeated scalars), 5 fixed32 (float)
//   varint     = 7 bits per byte, least significant group first, high bit set on all but the last;
//                negative int32 / int64 values are sign-extended to 64 bits (ten bytes)
//
// Numbers outside +-2^53 are refused (a JS number cannot hold them exactly); pass a bigint.

export const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

const TWO_64 = 1n << 64n;

/** Appends encoded fields to a growing byte buffer; `finish()` returns the bytes written. */
export class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** An unsigned or signed integer as a varint (negative: 64-bit two's complement). */
  varint(v: number | bigint): this {
    if (typeof v === 'number' && (!Number.isInteger(v) || !Number.isSafeInteger(v))) {
      throw new Error(`protobuf: varint ${v} is not a safe integer (pass a bigint beyond 2^53)`);
    }
    let u = BigInt(v);
    if (u < 0n) u += TWO_64;
    if (u < 0n || u >= TWO_64) throw new Error(`protobuf: varint ${v} does not fit in 64 bits`);
    if (u < 0x80n) {
      this.byte(Number(u));
      return this;
    }
    while (u >= 0x80n) {
      this.byte(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    this.byte(Number(u));
    return this;
  }

  tag(field: number, wire: number): this {
    if (!Number.isInteger(field) || field < 1 || field >= 2 ** 29) throw new Error(`protobuf: field number ${field} is out of range 1..2^29-1`);
    return this.varint(field * 8 + wire);
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** int32 / int64 / enum / bool field (proto3 skips defaults; callers decide what to write). */
  int(field: number, v: number | bigint | boolean): this {
    return this.tag(field, WIRE.varint).varint(typeof v === 'boolean' ? Number(v) : v);
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE.fixed32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.len, 4).setFloat32(0, v, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    return this.tag(field, WIRE.bytes).varint(b.length).raw(b);
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  /** An embedded message, written by `write` into its own Writer. */
  message(field: number, write: (w: Writer) => void): this {
    const inner = new Writer();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated int32 / int64 (one length-delimited field of varints). */
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const inner = new Writer();
    for (const v of vs) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated float (little-endian float32s). */
  packedFloats(field: number, vs: ArrayLike<number>): this {
    const f = Float32Array.from(vs);
    return this.bytes(field, new Uint8Array(f.buffer));
  }

  get length(): number {
    return this.len;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
