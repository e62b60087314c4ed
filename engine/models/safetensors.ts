// The safetensors container (https://github.com/huggingface/safetensors), pure bytes: no fs, so
// it runs in the browser and in Node alike.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON, then the data section.
// The JSON maps each tensor name to { dtype, shape, data_offsets: [begin, end] } (byte offsets
// into the data section) and may hold "__metadata__" (string -> string). The writer pads the
// header with spaces to a multiple of 8 and lays tensors out back to back in the given order, so
// every F32 tensor starts at a multiple of 4 bytes from the start of the file.

export type StDtype = 'F32' | 'F16';

/** `begin`/`end`: byte range within the data section. */
export interface StEntry {
  name: string;
  dtype: StDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A whole file in memory: the header plus `bytes` (the data section starts at dataOffset). */
export interface StFile extends StHeader {
  bytes: Uint8Array;
}

const ELEMENT_BYTES: Record<StDtype, number> = { F32: 4, F16: 2 };

function fail(file: string, msg: string): Error {
  return new Error(`safetensors ${file}: ${msg}`);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** The parsed header: everything but the data. */
export interface StHeader {
  file: string;
  metadata: Record<string, string>;
  entries: Map<string, StEntry>;
  /** Byte offset of the data section from the start of the file (8 + header length). */
  dataOffset: number;
}

/**
 * The header length N from the first 8 bytes; throws when fewer than 8 bytes are given, or when
 * `fileSize` is known and 8 + N runs past it.
 */
export function headerLength(prefix: Uint8Array, file: string, fileSize: number | null): number {
  if (prefix.length < 8) throw fail(file, `truncated: ${prefix.length} bytes, need at least 8 for the header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (fileSize !== null && 8 + n > fileSize) {
    throw fail(file, `header length ${n} runs past the end of the file (${fileSize} bytes): truncated or not a safetensors file`);
  }
  return n;
}

/**
 * Parse the header from the file's first 8 + N bytes (more may follow; they are ignored). With
 * `fileSize` known, every tensor's data range is checked against it; a streaming reader that
 * does not know the size checks for truncation as the data arrives.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, file: string, fileSize: number | null): StHeader {
  const headerLen = headerLength(prefix, file, fileSize);
  if (8 + headerLen > prefix.length) throw fail(file, `truncated: the ${headerLen}-byte header ends past byte ${prefix.length}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(prefix.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw fail(file, `bad JSON header: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail(file, 'header is not a JSON object');

  const dataOffset = 8 + headerLen;
  const dataLen = fileSize === null ? Infinity : fileSize - dataOffset;
  const metadata: Record<string, string> = {};
  const entries = new Map<string, StEntry>();
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw fail(file, `__metadata__ value '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32' && e.dtype !== 'F16') throw fail(file, `tensor '${name}': unknown dtype ${JSON.stringify(e.dtype)} (supported: F32, F16)`);
    if (!Array.isArray(e.shape) || !e.shape.every(isNonNegInt)) throw fail(file, `tensor '${name}': bad shape ${JSON.stringify(e.shape)}`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt) || offs[0] > offs[1]) {
      throw fail(file, `tensor '${name}': bad data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end > dataLen) throw fail(file, `tensor '${name}': data range [${begin}, ${end}) lies outside the data section (${dataLen} bytes): truncated file`);
    const shape = e.shape as number[];
    const want = shape.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[e.dtype];
    if (end - begin !== want) {
      throw fail(file, `tensor '${name}': shape (${shape.join(', ')}) ${e.dtype} needs ${want} bytes, data range [${begin}, ${end}) holds ${end - begin}`);
    }
    entries.set(name, { name, dtype: e.dtype, shape, begin, end });
  }
  const sorted = sortedEntries(entries);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) throw fail(file, `tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap`);
  }
  return { file, metadata, entries, dataOffset };
}

/** Entries in file order (by data offset). */
export function sortedEntries(entries: Map<string, StEntry>): StEntry[] {
  return [...entries.values()].sort((a, b) => a.begin - b.begin);
}

export function parseSafetensors(bytes: Uint8Array, file: string): StFile {
  return { ...parseSafetensorsHeader(bytes, file, bytes.length), bytes };
}

/** A tensor's raw bytes (exactly end - begin of them) as float32; F16 is widened. */
export function decodeTensorF32(e: StEntry, raw: Uint8Array): Float32Array {
  // A copy, aligned and owned by the caller (new Uint8Array: a Node Buffer's slice() would not copy).
  const bytes = new Uint8Array(raw);
  if (e.dtype === 'F32') return new Float32Array(bytes.buffer, 0, bytes.length / 4);
  const half = new Uint16Array(bytes.buffer, 0, bytes.length / 2);
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) out[i] = f16ToF32(half[i]);
  return out;
}

export function readTensorF32(st: StFile, name: string): Float32Array {
  const e = st.entries.get(name);
  if (!e) throw fail(st.file, `no tensor '${name}'`);
  return decodeTensorF32(e, st.bytes.subarray(st.dataOffset + e.begin, st.dataOffset + e.end));
}

export function writeSafetensors(
  tensors: { name: string; shape: number[]; data: Float32Array }[],
  opts: { dtype?: StDtype; metadata?: Record<string, string> } = {},
): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const size = ELEMENT_BYTES[dtype];
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new Error(`writeSafetensors: duplicate or reserved tensor name '${t.name}'`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`writeSafetensors: tensor '${t.name}' has shape (${t.shape.join(', ')}) = ${n} elements, got ${t.data.length}`);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * size] };
    offset += n * size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const headerBytes = new Uint8Array(padded).fill(0x20);
  headerBytes.set(json);
  json = headerBytes;

  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    if (dtype === 'F32') {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setUint16(at + 2 * i, f32ToF16(t.data[i]), true);
    }
    at += t.data.length * size;
  }
  return out;
}

/** IEEE half bits -> float (exact). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float -> IEEE half bits, rounding to nearest even; overflow gives infinity, NaN stays NaN. */
export function f32ToF16(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000; // implicit leading one
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent: still correct
  return sign | h;
}
