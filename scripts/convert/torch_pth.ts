// Reads a PyTorch state dict written by torch.save, without torch, in both serializations:
//
// zip (PyTorch >= 1.6): <archive>/data.pkl is the pickled dict; each tensor is
//   torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks)
//   where `storage` is a persistent id ('storage', torch.FloatStorage, key, location, numel) whose
//   bytes are the entry <archive>/data/<key> (little-endian, per <archive>/byteorder).
// legacy: five things back to back: pickle(magic number), pickle(protocol 1001), pickle(sys info),
//   the main pickle (persistent ids carry a sixth item, view metadata), pickle(list of storage
//   keys), then for each key in that order an int64 element count and the raw elements.
//
// Tensors are rebuilt with their size, stride and storage offset, so non-contiguous tensors and
// tensors sharing one storage come out right: values in the logical tensor's row-major order.

import { f16ToF32 } from '../../engine/models/safetensors';
import { PyGlobal, PyObject, unpickle } from './pickle';
import { ZipReader } from './zip';

export type TorchDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface TorchTensor {
  key: string;
  dtype: TorchDtype;
  shape: number[];
  /** Row-major values of the logical tensor: float16/bfloat16 widened to float32, float64 kept, int64 as bigint. */
  data: Float32Array | Float64Array | BigInt64Array;
}

const STORAGE_TYPES: Record<string, { dtype: TorchDtype; size: number }> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
};

class StorageType {
  constructor(readonly name: string, readonly dtype: TorchDtype, readonly size: number) {}
}

interface StorageRef {
  key: string;
  type: StorageType;
  numel: number;
  /** Element offset into the root storage (legacy storage views), else 0. */
  base: number;
}

class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: number[], readonly stride: number[]) {}
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function asInts(v: unknown, what: string, file: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`torch ${file}: ${what} is not a tuple of non-negative ints: ${String(v)}`);
  return v as number[];
}

function hooksFor(file: string, storages: Map<string, StorageRef>) {
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown) => {
    if (!storage || typeof storage !== 'object' || !('key' in storage)) throw new Error(`torch ${file}: tensor rebuilt from something that is not a storage`);
    return new TensorRef(storage as StorageRef, Number(offset), asInts(size, 'tensor size', file), asInts(stride, 'tensor stride', file));
  };
  return {
    findClass(module: string, name: string): unknown {
      if (module === 'collections' && name === 'OrderedDict') return () => new Map();
      if (module === 'builtins' && name === 'dict') return () => new Map();
      if (module === 'torch' && name in STORAGE_TYPES) return new StorageType(name, STORAGE_TYPES[name].dtype, STORAGE_TYPES[name].size);
      if (module === 'torch._utils') {
        if (name === '_rebuild_tensor_v2' || name === '_rebuild_tensor') return rebuild;
        if (name === '_rebuild_parameter' || name === '_rebuild_parameter_with_state') return (data: unknown) => data;
        throw new Error(`torch ${file}: ${module}.${name} is not supported (quantized or sparse tensors?)`);
      }
      if (module === 'torch.nn.parameter' && name === 'Parameter') return (data: unknown) => data;
      return new PyGlobal(module, name);
    },
    persistentLoad(pid: unknown): unknown {
      if (!Array.isArray(pid) || pid[0] !== 'storage') throw new Error(`torch ${file}: unknown persistent id ${String(pid)}`);
      const [, type, key, , numel, view] = pid as [string, unknown, string, string, number, unknown];
      if (!(type instanceof StorageType)) throw new Error(`torch ${file}: storage '${key}' has unsupported type ${String(type)}`);
      if (!storages.has(String(key))) storages.set(String(key), { key: String(key), type, numel: Number(numel), base: 0 });
      if (Array.isArray(view)) {
        // Legacy storage view: (view_key, offset, view_size) into root storage `key`.
        const [viewKey, base, viewSize] = view as [string, number, number];
        void viewKey;
        return { key: String(key), type, numel: Number(viewSize), base: Number(base) } satisfies StorageRef;
      }
      return storages.get(String(key));
    },
  };
}

function describe(v: unknown): string {
  if (v instanceof PyObject) return `a pickled ${v.cls} object`;
  if (v instanceof PyGlobal) return `the global ${v}`;
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list/tuple';
  return `a ${typeof v}`;
}

/** Typed view (or aligned copy) of a storage's bytes in its own element type. */
function typedStorage(bytes: Uint8Array, type: StorageType): Float32Array | Float64Array | BigInt64Array | Uint16Array {
  const b = bytes.byteOffset % type.size === 0 ? bytes : new Uint8Array(bytes); // a copy (Buffer.slice would not copy)
  const n = b.length / type.size;
  switch (type.dtype) {
    case 'float32':
      return new Float32Array(b.buffer, b.byteOffset, n);
    case 'float64':
      return new Float64Array(b.buffer, b.byteOffset, n);
    case 'int64':
      return new BigInt64Array(b.buffer, b.byteOffset, n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(b.buffer, b.byteOffset, n);
    default:
      throw new Error(`dtype ${type.dtype} is not supported (float32, float16, bfloat16, float64, int64 are)`);
  }
}

function materialize(key: string, t: TensorRef, storageBytes: Uint8Array, file: string): TorchTensor {
  const s = t.storage;
  const where = `torch ${file}: tensor '${key}'`;
  if (t.size.length !== t.stride.length) throw new Error(`${where}: size (${t.size}) and stride (${t.stride}) differ in rank`);
  if (storageBytes.length < (s.base + s.numel) * s.type.size) {
    throw new Error(`${where}: storage '${s.key}' holds ${storageBytes.length} bytes, expected ${s.numel} x ${s.type.size} (${s.type.name}): truncated file`);
  }
  let src: ReturnType<typeof typedStorage>;
  try {
    src = typedStorage(storageBytes, s.type);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  const n = t.size.reduce((a, b) => a * b, 1);
  const last = t.offset + t.size.reduce((a, d, i) => a + (d - 1) * t.stride[i], 0);
  if (n > 0 && (t.offset < 0 || last >= s.numel)) {
    throw new Error(`${where}: offset ${t.offset}, size (${t.size}), stride (${t.stride}) reach element ${last} of storage '${s.key}', which has ${s.numel}`);
  }
  const half = s.type.dtype === 'float16' || s.type.dtype === 'bfloat16';
  const out = s.type.dtype === 'float64' ? new Float64Array(n) : s.type.dtype === 'int64' ? new BigInt64Array(n) : new Float32Array(n);
  const conv = s.type.dtype === 'float16' ? f16ToF32 : (h: number) => new Float32Array(new Uint32Array([h << 16]).buffer)[0];
  const put = half ? (i: number, j: number) => ((out as Float32Array)[i] = conv((src as Uint16Array)[j])) : (i: number, j: number) => ((out as Float32Array)[i] = (src as Float32Array)[j]);

  const rank = t.size.length;
  let contiguous = true;
  for (let d = rank - 1, expect = 1; d >= 0; d--) {
    if (t.size[d] !== 1 && t.stride[d] !== expect) contiguous = false;
    expect *= t.size[d];
  }
  const start = s.base + t.offset;
  if (contiguous && !half) {
    (out as Float32Array).set((src as Float32Array).subarray(start, start + n));
  } else if (contiguous) {
    for (let i = 0; i < n; i++) put(i, start + i);
  } else {
    const idx = new Array<number>(rank).fill(0);
    let at = start;
    for (let i = 0; i < n; i++) {
      put(i, at);
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]++;
        at += t.stride[d];
        if (idx[d] < t.size[d]) break;
        at -= t.stride[d] * t.size[d];
        idx[d] = 0;
      }
    }
  }
  return { key, dtype: s.type.dtype, shape: [...t.size], data: out };
}

function collect(value: unknown, file: string, storage: (ref: StorageRef) => Uint8Array): Map<string, TorchTensor> {
  let dict = value;
  if (dict instanceof Map && dict.has('state_dict') && dict.get('state_dict') instanceof Map) dict = dict.get('state_dict');
  if (!(dict instanceof Map)) throw new Error(`torch ${file}: holds ${describe(dict)}, not a state dict (save model.state_dict(), not the model)`);
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of dict) {
    if (!(v instanceof TensorRef)) throw new Error(`torch ${file}: key '${String(k)}' holds ${describe(v)}, not a tensor`);
    out.set(String(k), materialize(String(k), v, storage(v.storage), file));
  }
  return out;
}

function readZip(bytes: Uint8Array, file: string): Map<string, TorchTensor> {
  const zip = new ZipReader(bytes, file);
  const pkl = [...zip.entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pkl) throw new Error(`torch ${file}: zip archive without data.pkl: not a torch.save file`);
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  if (zip.entries.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (order !== 'little') throw new Error(`torch ${file}: byteorder '${order}' is not supported (little only)`);
  }
  const storages = new Map<string, StorageRef>();
  const { value } = unpickle(zip.read(pkl), 0, hooksFor(file, storages), `torch ${file}: ${pkl}`);
  const cache = new Map<string, Uint8Array>();
  return collect(value, file, (ref) => {
    if (!cache.has(ref.key)) {
      const name = `${prefix}data/${ref.key}`;
      if (!zip.entries.has(name)) throw new Error(`torch ${file}: storage entry '${name}' is missing`);
      cache.set(ref.key, zip.read(name));
    }
    return cache.get(ref.key)!;
  });
}

function readLegacy(bytes: Uint8Array, file: string): Map<string, TorchTensor> {
  const tag = (what: string) => `torch ${file}: ${what}`;
  const magic = unpickle(bytes, 0, {}, tag('magic number'));
  if (magic.value !== LEGACY_MAGIC) throw new Error(`torch ${file}: not a torch.save file (neither zip nor the legacy magic number)`);
  const proto = unpickle(bytes, magic.end, {}, tag('protocol version'));
  if (proto.value !== 1001) throw new Error(`torch ${file}: legacy protocol version ${String(proto.value)}, expected 1001`);
  const sys = unpickle(bytes, proto.end, {}, tag('sys info'));
  if (sys.value instanceof Map && sys.value.get('little_endian') === false) throw new Error(`torch ${file}: big-endian files are not supported`);
  const storages = new Map<string, StorageRef>();
  const main = unpickle(bytes, sys.end, hooksFor(file, storages), tag('main pickle'));
  const keys = unpickle(bytes, main.end, {}, tag('storage key list'));
  if (!Array.isArray(keys.value)) throw new Error(`torch ${file}: storage key list is not a list`);
  const data = new Map<string, Uint8Array>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = keys.end;
  for (const k of keys.value as string[]) {
    const ref = storages.get(String(k));
    if (!ref) throw new Error(`torch ${file}: storage '${k}' is listed but no tensor uses it`);
    if (at + 8 > bytes.length) throw new Error(`torch ${file}: storage '${k}': truncated file (no element count at byte ${at})`);
    const count = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
    const len = count * ref.type.size;
    if (at + 8 + len > bytes.length) throw new Error(`torch ${file}: storage '${k}' needs ${len} bytes at byte ${at + 8}, the file has ${bytes.length - at - 8}: truncated`);
    data.set(String(k), bytes.subarray(at + 8, at + 8 + len));
    at += 8 + len;
  }
  return collect(main.value, file, (ref) => {
    const d = data.get(ref.key);
    if (!d) throw new Error(`torch ${file}: storage '${ref.key}' has no data`);
    return d;
  });
}

/** All tensors of a torch.save'd state dict, in the file's key order. */
export function readTorchStateDict(bytes: Uint8Array, file: string): Map<string, TorchTensor> {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return readZip(bytes, file);
  if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar') throw new Error(`torch ${file}: the pre-0.4 tar serialization is not supported`);
  if (bytes.length < 2 || bytes[0] !== 0x80) throw new Error(`torch ${file}: not a torch.save file (neither zip nor pickle)`);
  return readLegacy(bytes, file);
}

/** A float tensor's values as float32; int64 and other integer tensors are rejected. */
export function tensorF32(t: TorchTensor, file: string): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  throw new Error(`torch ${file}: tensor '${t.key}' is ${t.dtype}, not a floating-point tensor`);
}
