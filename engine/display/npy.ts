// NumPy .npy files, format version 1.0, float32 little-endian ('<f4'), C order:
//   "\x93NUMPY" 0x01 0x00, header length (u16 LE), the header (a Python dict literal, padded with
//   spaces and ending in '\n' so that the data starts at a multiple of 64 bytes), then the data.
// The header is written exactly as numpy.save writes it: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

function shapeLiteral(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`encodeNpy: shape must be non-negative integers, got (${shape.join(', ')})`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape (${shape.join(', ')}) holds ${count} values, data has ${data.length}`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const dv = new DataView(out.buffer, total);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i], true);
  return out;
}

/** Reads a '<f4' C-order .npy (version 1.0 or 2.0) back: the data and its shape. */
export function decodeNpy(bytes: Uint8Array): { data: Float32Array; shape: number[] } {
  const fail = (msg: string) => new Error(`decodeNpy: ${msg}`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw fail('not a .npy file (no \\x93NUMPY magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major !== 1 && major !== 2) throw fail(`unsupported format version ${major}.${bytes[7]}`);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = String.fromCharCode(...bytes.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  if (descr !== '<f4') throw fail(`dtype '${descr}' is not supported (only '<f4')`);
  if (!/'fortran_order':\s*False/.test(header)) throw fail('Fortran-order arrays are not supported');
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (dims === undefined) throw fail(`no shape in header ${header.trim()}`);
  const shape = dims.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const off = start + hlen;
  if (bytes.length - off < count * 4) throw fail(`shape (${shape.join(', ')}) needs ${count * 4} data bytes, file has ${bytes.length - off}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = dv.getFloat32(off + i * 4, true);
  return { data, shape };
}
