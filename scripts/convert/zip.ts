// A minimal zip reader for torch.save archives: the central directory gives each entry's sizes
// and local-header offset (torch writes data descriptors, so local headers carry zero sizes);
// entries are stored (method 0) as torch writes them, or deflated (method 8, via node:zlib).
// Zip64 sizes and offsets are read from the zip64 extra field and end-of-directory record.

import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function u64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array, readonly file: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const v = this.view;
    let eocd = -1;
    for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
      if (v.getUint32(i, true) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new Error(`zip ${file}: no end-of-central-directory record (truncated or not a zip file)`);
    let count = v.getUint16(eocd + 10, true);
    let cdOffset = v.getUint32(eocd + 16, true);
    if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && v.getUint32(eocd - 20, true) === EOCD64_LOCATOR) {
      const rec = u64(v, eocd - 12);
      if (rec + 56 > bytes.length || v.getUint32(rec, true) !== EOCD64) throw new Error(`zip ${file}: bad zip64 end-of-central-directory record`);
      count = u64(v, rec + 32);
      cdOffset = u64(v, rec + 48);
    }
    let at = cdOffset;
    const dec = new TextDecoder();
    for (let n = 0; n < count; n++) {
      if (at + 46 > bytes.length || v.getUint32(at, true) !== CENTRAL) throw new Error(`zip ${file}: corrupt central directory at byte ${at}`);
      const method = v.getUint16(at + 10, true);
      let compressedSize = v.getUint32(at + 20, true);
      let size = v.getUint32(at + 24, true);
      const nameLen = v.getUint16(at + 28, true);
      const extraLen = v.getUint16(at + 30, true);
      const commentLen = v.getUint16(at + 32, true);
      let localOffset = v.getUint32(at + 42, true);
      const name = dec.decode(bytes.subarray(at + 46, at + 46 + nameLen));
      // Zip64 extra field (id 1): the 0xffffffff fields follow, in order size, compressed, offset.
      for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen; ) {
        const id = v.getUint16(e, true);
        const len = v.getUint16(e + 2, true);
        if (id === 1) {
          let p = e + 4;
          if (size === 0xffffffff) (size = u64(v, p)), (p += 8);
          if (compressedSize === 0xffffffff) (compressedSize = u64(v, p)), (p += 8);
          if (localOffset === 0xffffffff) localOffset = u64(v, p);
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size, localOffset });
      at += 46 + nameLen + extraLen + commentLen;
    }
  }

  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new Error(`zip ${this.file}: no entry '${name}'`);
    const v = this.view;
    if (e.localOffset + 30 > this.bytes.length || v.getUint32(e.localOffset, true) !== LOCAL) throw new Error(`zip ${this.file}: entry '${name}': bad local header`);
    const start = e.localOffset + 30 + v.getUint16(e.localOffset + 26, true) + v.getUint16(e.localOffset + 28, true);
    if (start + e.compressedSize > this.bytes.length) {
      throw new Error(`zip ${this.file}: entry '${name}' needs bytes [${start}, ${start + e.compressedSize}) but the file has ${this.bytes.length}: truncated`);
    }
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      const out = new Uint8Array(inflateRawSync(raw));
      if (out.length !== e.size) throw new Error(`zip ${this.file}: entry '${name}' inflated to ${out.length} bytes, expected ${e.size}`);
      return out;
    }
    throw new Error(`zip ${this.file}: entry '${name}' uses compression method ${e.method} (only stored and deflate are supported)`);
  }
}
