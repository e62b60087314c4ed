import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from '../engine/models/safetensors';
import { PyObject, unpickle } from '../scripts/convert/pickle';
import { readTorchStateDict, tensorF32, type TorchTensor } from '../scripts/convert/torch_pth';
import { randomArray } from './helpers/random';

const FIXTURES = resolve(__dirname, 'fixtures/torch');
const tmp = mkdtempSync(join(tmpdir(), 'cnnvis-torch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const values = (t: TorchTensor) => Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v : Number(v)));

describe('.pth reader vs files written by torch.save itself', () => {
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'tiny_expected.json'), 'utf8')).tensors as Record<string, { dtype: string; shape: number[]; values: number[] }>;

  it.each(['tiny_zip.pth', 'tiny_legacy.pth'])('%s reproduces tiny_expected.json exactly', (file) => {
    const sd = readTorchStateDict(readFileSync(join(FIXTURES, file)), file);
    expect([...sd.keys()]).toEqual(Object.keys(expected));
    for (const [key, e] of Object.entries(expected)) {
      const t = sd.get(key)!;
      expect({ key, dtype: t.dtype, shape: t.shape }).toEqual({ key, dtype: e.dtype, shape: e.shape });
      const got = values(t).map(Number);
      const bad = got.findIndex((v, i) => v !== e.values[i]);
      if (bad >= 0 || got.length !== e.values.length) throw new Error(`${file} ${key}: element ${bad} is ${got[bad]}, expected ${e.values[bad]} (${got.length} vs ${e.values.length} values)`);
    }
  });

  it('rejects int64 as float data, naming file and tensor', () => {
    const sd = readTorchStateDict(readFileSync(join(FIXTURES, 'tiny_zip.pth')), 'tiny_zip.pth');
    expect(() => tensorF32(sd.get('num_batches_tracked')!, 'tiny_zip.pth')).toThrow("torch tiny_zip.pth: tensor 'num_batches_tracked' is int64, not a floating-point tensor");
    expect(tensorF32(sd.get('classifier.6.bias')!, 'x')).toBeInstanceOf(Float32Array);
  });
});

describe('pickle VM vs Python pickle (protocols 2-5)', () => {
  const script = `
import pickle, sys, json
shared = [1, 2]
big = 'x' * 300
def obj(p):
    o = {'ints': [0, 1, 255, 256, 65535, 65536, -1, -2**31, 2**31 - 1, 2**31, 2**62, -2**63, 2**70, -2**70],
         'floats': [1.5, -0.0, 1e-300, 3.141592653589793],
         'strs': ['', 'héllo ✓', big],
         'consts': [None, True, False],
         'tuples': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
         'dict': {'k': 'v', 3: 'int key'},
         'shared': [shared, shared]}
    if p >= 3: o['bytes'] = [b'', b'\\x00\\x01\\xff', b'y' * 300]
    return o
print(json.dumps({p: pickle.dumps(obj(p), protocol=p).hex() for p in (2, 3, 4, 5)}))
`;
  const pickles = JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8' })) as Record<string, string>;

  it.each(['2', '3', '4', '5'])('protocol %s', (p) => {
    const bytes = Uint8Array.from(Buffer.from(pickles[p], 'hex'));
    const { value, end } = unpickle(bytes);
    expect(end).toBe(bytes.length);
    const v = value as Map<string, unknown>;
    expect(v.get('ints')).toEqual([0, 1, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31 - 1, 2 ** 31, 2n ** 62n, -(2n ** 63n), 2n ** 70n, -(2n ** 70n)]);
    expect(v.get('floats')).toEqual([1.5, -0, 1e-300, Math.PI]);
    expect(Object.is((v.get('floats') as number[])[1], -0)).toBe(true);
    expect(v.get('strs')).toEqual(['', 'héllo ✓', 'x'.repeat(300)]);
    expect(v.get('consts')).toEqual([null, true, false]);
    expect(v.get('tuples')).toEqual([[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]);
    expect(v.get('dict')).toEqual(new Map<unknown, string>([['k', 'v'], [3, 'int key']]));
    const shared = v.get('shared') as unknown[][];
    expect(shared[0]).toBe(shared[1]); // memo: one object, two references
    if (p !== '2') expect(v.get('bytes')).toEqual([new Uint8Array(0), Uint8Array.from([0, 1, 255]), new Uint8Array(300).fill(0x79)]);
  });

  it('fails clearly on truncation and unknown opcodes', () => {
    const bytes = Uint8Array.from(Buffer.from(pickles['2'], 'hex'));
    expect(() => unpickle(bytes.subarray(0, 40), 0, {}, 'cut.pkl')).toThrow(/cut\.pkl: truncated/);
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0xff]), 0, {}, 'odd.pkl')).toThrow('odd.pkl: unsupported pickle opcode (opcode 0xff at byte 2)');
  });
});

/** One storage: its values as the raw file holds them, and a reader for element j. */
interface Storage {
  dtype: 'float32' | 'float16' | 'float64' | 'int64';
  bytes: Uint8Array;
  at: (j: number) => number | bigint;
}

function f32Storage(n: number, seed: number): Storage {
  const v = randomArray(n, seed);
  return { dtype: 'float32', bytes: new Uint8Array(v.buffer), at: (j) => v[j] };
}
function f16Storage(n: number, seed: number): Storage {
  const bits = Uint16Array.from(randomArray(n, seed, 4), (x) => f32ToF16(x));
  return { dtype: 'float16', bytes: new Uint8Array(bits.buffer), at: (j) => f16ToF32(bits[j]) };
}
function f64Storage(v: number[]): Storage {
  const a = Float64Array.from(v);
  return { dtype: 'float64', bytes: new Uint8Array(a.buffer), at: (j) => a[j] };
}
function i64Storage(v: bigint[]): Storage {
  const a = BigInt64Array.from(v);
  return { dtype: 'int64', bytes: new Uint8Array(a.buffer), at: (j) => a[j] };
}

interface TensorView {
  key: string;
  storage: string;
  offset: number;
  shape: number[];
  stride: number[];
}

/** The logical tensor's values in row-major order, gathered one index at a time. */
function gather(s: Storage, t: TensorView): (number | bigint)[] {
  const out: (number | bigint)[] = [];
  const walk = (d: number, at: number) => {
    if (d === t.shape.length) return void out.push(s.at(at));
    for (let i = 0; i < t.shape[d]; i++) walk(d + 1, at + i * t.stride[d]);
  };
  walk(0, t.offset);
  return out;
}

/** Writes raw storages + a spec, runs make_pth.py, returns the .pth path. */
function makePth(name: string, storages: Record<string, Storage>, tensors: TensorView[], deflate = false): string {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  const spec = { storages: {} as Record<string, { dtype: string; file: string }>, tensors };
  for (const [key, s] of Object.entries(storages)) {
    writeFileSync(join(dir, `${key}.bin`), s.bytes);
    spec.storages[key] = { dtype: s.dtype, file: `${key}.bin` };
  }
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const out = join(dir, `${name}.pth`);
  execFileSync('python3', [join(FIXTURES, 'make_pth.py'), join(dir, 'spec.json'), out, ...(deflate ? ['--deflate'] : [])]);
  return out;
}

describe('.pth reader vs make_pth.py (torch.save emulation, values generated here)', () => {
  const storages: Record<string, Storage> = {
    conv: f32Storage(2 * 3 * 3 * 3, 1),
    base: f32Storage(6 * 5, 2),
    half: f16Storage(10, 3),
    dbl: f64Storage([Math.PI, -1e-200]),
    long: i64Storage([7n, -(2n ** 40n), 2n ** 62n]),
  };
  const tensors: TensorView[] = [
    { key: 'features.0.weight', storage: 'conv', offset: 0, shape: [2, 3, 3, 3], stride: [27, 9, 3, 1] },
    { key: 'classifier.1.weight', storage: 'base', offset: 0, shape: [5, 6], stride: [1, 5] }, // transposed
    { key: 'classifier.1.bias', storage: 'base', offset: 11, shape: [3], stride: [1] }, // shares 'base'
    { key: 'strided', storage: 'base', offset: 3, shape: [2, 2], stride: [10, 2] },
    { key: 'expanded', storage: 'dbl', offset: 0, shape: [3, 2], stride: [0, 1] }, // stride 0
    { key: 'half', storage: 'half', offset: 0, shape: [2, 5], stride: [5, 1] },
    { key: 'half.t', storage: 'half', offset: 1, shape: [4, 2], stride: [1, 5] },
    { key: 'num_batches_tracked', storage: 'long', offset: 0, shape: [], stride: [] },
    { key: 'longs', storage: 'long', offset: 1, shape: [2], stride: [1] },
  ];

  it.each([false, true])('reads back every tensor exactly (deflate %s)', (deflate) => {
    const file = makePth(deflate ? 'deflated' : 'stored', storages, tensors, deflate);
    const sd = readTorchStateDict(readFileSync(file), file);
    expect([...sd.keys()]).toEqual(tensors.map((t) => t.key));
    for (const t of tensors) {
      const got = sd.get(t.key)!;
      expect(got.shape).toEqual(t.shape);
      expect(got.dtype).toBe(storages[t.storage].dtype);
      expect(values(got)).toEqual(gather(storages[t.storage], t));
    }
    expect(values(sd.get('longs')!)).toEqual([-(2n ** 40n), 2n ** 62n]);
  });

  it('aligns storage data to 64 bytes like torch', () => {
    const file = makePth('aligned', { conv: storages.conv }, [tensors[0]]);
    const bytes = readFileSync(file);
    const name = 'aligned/data/conv';
    const at = bytes.indexOf(Buffer.from(name));
    const extra = bytes.readUInt16LE(at - 2);
    expect((at + name.length + extra) % 64).toBe(0);
  });

  it('a view past the end of its storage names the tensor and the storage', () => {
    const file = makePth('oob', { base: storages.base }, [{ key: 'bad', storage: 'base', offset: 0, shape: [4], stride: [10] }]);
    expect(() => readTorchStateDict(readFileSync(file), 'oob.pth')).toThrow("torch oob.pth: tensor 'bad': offset 0, size (4), stride (10) reach element 30 of storage 'base', which has 30");
  });
});

describe('.pth errors', () => {
  it('truncated zip and truncated legacy files', () => {
    const zip = readFileSync(join(FIXTURES, 'tiny_zip.pth'));
    expect(() => readTorchStateDict(zip.subarray(0, zip.length - 30), 'cut_zip.pth')).toThrow(/zip cut_zip\.pth: no end-of-central-directory record/);
    const legacy = readFileSync(join(FIXTURES, 'tiny_legacy.pth'));
    expect(() => readTorchStateDict(legacy.subarray(0, legacy.length - 10), 'cut.pth')).toThrow(/torch cut\.pth: storage '\d+' needs 432 bytes at byte \d+, the file has 422: truncated/);
    expect(() => readTorchStateDict(legacy.subarray(0, 500), 'cut2.pth')).toThrow(/torch cut2\.pth: main pickle: truncated/);
  });

  it('not a torch file, not a state dict, a whole pickled model', () => {
    expect(() => readTorchStateDict(Uint8Array.from([1, 2, 3, 4, 5]), 'junk.bin')).toThrow('torch junk.bin: not a torch.save file (neither zip nor pickle)');
    const script = `
import pickle, sys, types
for parent in ('torch', 'torch.nn', 'torch.nn.modules'):
    sys.modules[parent] = types.ModuleType(parent)
m = types.ModuleType('torch.nn.modules.linear')
class Linear: pass
Linear.__module__ = 'torch.nn.modules.linear'
m.Linear = Linear
sys.modules['torch.nn.modules.linear'] = m
lin = Linear(); lin.in_features = 3
for name, obj in (('list', [1, 2]), ('model', lin)):
    with open(sys.argv[1] + '/' + name + '.pth', 'wb') as f:
        for x in (0x1950a86a20f9469cfc6c, 1001, {'protocol_version': 1001, 'little_endian': True}, obj, []):
            pickle.dump(x, f, protocol=2)
`;
    const dir = mkdtempSync(join(tmp, 'legacy-'));
    execFileSync('python3', ['-c', script, dir]);
    expect(() => readTorchStateDict(readFileSync(join(dir, 'list.pth')), 'list.pth')).toThrow('torch list.pth: holds a list/tuple, not a state dict (save model.state_dict(), not the model)');
    expect(() => readTorchStateDict(readFileSync(join(dir, 'model.pth')), 'model.pth')).toThrow(
      'torch model.pth: holds a pickled torch.nn.modules.linear.Linear object, not a state dict (save model.state_dict(), not the model)',
    );
  });

  it('PyObject keeps the class and BUILD state of unknown globals', () => {
    const bytes = Uint8Array.from(Buffer.from(execFileSync('python3', ['-c', `
import pickle, sys, types
m = types.ModuleType('mod'); sys.modules['mod'] = m
class C: pass
C.__module__ = 'mod'; m.C = C
c = C(); c.a = 5
sys.stdout.write(pickle.dumps(c, protocol=2).hex())`], { encoding: 'utf8' }), 'hex'));
    const o = unpickle(bytes).value as PyObject;
    expect(o).toBeInstanceOf(PyObject);
    expect(String(o.cls)).toBe('mod.C');
    expect(o.state).toEqual(new Map([['a', 5]]));
  });
});
