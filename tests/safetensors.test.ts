import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16, parseSafetensors, readTensorF32, writeSafetensors } from '../engine/models/safetensors';
import { EXACT, expectClose } from './helpers/close';
import { randomArray } from './helpers/random';

const SHAPES: number[][] = [[1], [7], [3, 5], [2, 3, 5, 7], [64, 3, 11, 11], [1, 1, 1, 1], []];

function tensors(seed: number) {
  return SHAPES.map((shape, i) => ({ name: `layer/${i}.weight`, shape, data: randomArray(shape.reduce((a, b) => a * b, 1), seed + i, 3) }));
}

/** A file from a raw header object and data bytes, for corrupting on purpose. */
function rawFile(header: unknown, data: Uint8Array, headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, headerLenOverride ?? json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors round trip', () => {
  it('F32 round trips exactly, with metadata, aligned data and the standard layout', () => {
    const ts = tensors(1);
    const bytes = writeSafetensors(ts, { metadata: { model: 'x', source: 'y' } });
    // The layout, read independently of the parser: u64 LE header length, JSON, data.
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(0);
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ model: 'x', source: 'y' });
    expect(header['layer/3.weight']).toEqual({ dtype: 'F32', shape: [2, 3, 5, 7], data_offsets: [4 * (1 + 7 + 15), 4 * (1 + 7 + 15 + 210)] });

    const st = parseSafetensors(bytes, 'rt.safetensors');
    expect(st.metadata).toEqual({ model: 'x', source: 'y' });
    expect([...st.entries.keys()]).toEqual(ts.map((t) => t.name));
    for (const t of ts) {
      const e = st.entries.get(t.name)!;
      expect(e.shape).toEqual(t.shape);
      expect((st.dataOffset + e.begin) % 4).toBe(0);
      expectClose(readTensorF32(st, t.name), t.data, EXACT, t.shape, t.name);
    }
    expect(bytes.length).toBe(8 + n + 4 * ts.reduce((a, t) => a + t.data.length, 0));
  });

  it('reads from a Uint8Array that sits at an odd offset of a larger buffer', () => {
    const ts = tensors(2);
    const bytes = writeSafetensors(ts);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const st = parseSafetensors(big.subarray(3), 'odd.safetensors');
    for (const t of ts) expectClose(readTensorF32(st, t.name), t.data, EXACT, t.shape, t.name);
  });

  it('F16 stores half the bytes and round trips to the nearest half', () => {
    const ts = tensors(3);
    const bytes = writeSafetensors(ts, { dtype: 'F16' });
    const st = parseSafetensors(bytes, 'half.safetensors');
    for (const t of ts) {
      const e = st.entries.get(t.name)!;
      expect(e.dtype).toBe('F16');
      expect(e.end - e.begin).toBe(2 * t.data.length);
      // Values in [-3, 3]: half precision has 11 significant bits -> relative error <= 2^-11.
      expectClose(readTensorF32(st, t.name), t.data, { atol: 2 ** -24, rtol: 2 ** -11 }, t.shape, t.name);
    }
  });

  it('f32ToF16 inverts f16ToF32 on every half bit pattern (NaNs stay NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const f = f16ToF32(h);
      if (Number.isNaN(f)) expect(Number.isNaN(f16ToF32(f32ToF16(f)))).toBe(true);
      else if (f32ToF16(f) !== h) throw new Error(`half 0x${h.toString(16)} = ${f} came back as 0x${f32ToF16(f).toString(16)}`);
    }
  });

  it.each([
    [1 + 2 ** -11, 1], // tie -> even (down)
    [1 + 3 * 2 ** -11, 1 + 2 ** -9], // tie -> even (up)
    [1 + 2 ** -11 + 2 ** -20, 1 + 2 ** -10], // above the tie -> up
    [65504, 65504],
    [65520, Infinity], // rounds past the largest half
    [1e6, Infinity],
    [-1e6, -Infinity],
    [2 ** -24, 2 ** -24], // smallest subnormal
    [1.5 * 2 ** -24, 2 ** -23], // subnormal tie -> even
    [2 ** -26, 0],
    [-(2 ** -26), -0],
    [0.1, 0.0999755859375],
  ])('f32ToF16(%d) rounds to %d', (x, want) => {
    expect(Object.is(f16ToF32(f32ToF16(x)), want)).toBe(true);
  });
});

describe('safetensors errors name the file and the tensor', () => {
  const good = writeSafetensors([{ name: 'conv1.weight', shape: [2, 3], data: randomArray(6, 5) }, { name: 'conv1.bias', shape: [2], data: randomArray(2, 6) }]);

  it('truncated below the header length', () => {
    expect(() => parseSafetensors(good.subarray(0, 5), 'a.st')).toThrow(/safetensors a\.st: truncated: 5 bytes/);
  });

  it('header length past the end of the file', () => {
    expect(() => parseSafetensors(good.subarray(0, 40), 'b.st')).toThrow(/safetensors b\.st: header length \d+ runs past the end of the file \(40 bytes\)/);
    expect(() => parseSafetensors(rawFile({}, new Uint8Array(0), 1e9), 'b2.st')).toThrow(/header length 1000000000 runs past/);
  });

  it('truncated in the data section', () => {
    expect(() => parseSafetensors(good.subarray(0, good.length - 4), 'c.st')).toThrow(/safetensors c\.st: tensor 'conv1\.bias': data range \[24, 32\) lies outside the data section \(28 bytes\)/);
  });

  it('bad JSON header', () => {
    expect(() => parseSafetensors(rawFile('{"conv1.weight": {', new Uint8Array(0)), 'd.st')).toThrow(/safetensors d\.st: bad JSON header/);
    expect(() => parseSafetensors(rawFile('[1, 2]', new Uint8Array(0)), 'd2.st')).toThrow(/header is not a JSON object/);
  });

  it('unknown dtype', () => {
    const f = rawFile({ 'fc.weight': { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(16));
    expect(() => parseSafetensors(f, 'e.st')).toThrow(/safetensors e\.st: tensor 'fc\.weight': unknown dtype "I64"/);
  });

  it('shape and size disagree', () => {
    const f = rawFile({ 'fc.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(20));
    expect(() => parseSafetensors(f, 'f.st')).toThrow(/safetensors f\.st: tensor 'fc\.weight': shape \(2, 3\) F32 needs 24 bytes, data range \[0, 20\) holds 20/);
  });

  it('bad data_offsets and overlapping tensors', () => {
    const bad = rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, new Uint8Array(8));
    expect(() => parseSafetensors(bad, 'g.st')).toThrow(/tensor 'w': bad data_offsets \[8,4\]/);
    const overlap = rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12));
    expect(() => parseSafetensors(overlap, 'h.st')).toThrow(/tensors 'a' and 'b' overlap/);
  });

  it('missing tensor on read, and writer input errors', () => {
    expect(() => readTensorF32(parseSafetensors(good, 'i.st'), 'fc8.weight')).toThrow(/safetensors i\.st: no tensor 'fc8\.weight'/);
    expect(() => writeSafetensors([{ name: 'w', shape: [2, 2], data: new Float32Array(3) }])).toThrow(/tensor 'w' has shape \(2, 2\) = 4 elements, got 3/);
    expect(() => writeSafetensors([{ name: 'w', shape: [1], data: new Float32Array(1) }, { name: 'w', shape: [1], data: new Float32Array(1) }])).toThrow(/duplicate/);
  });
});
