// Streaming weight loading: the safetensors file arrives in chunks of any size (a fetch body, a
// file stream) and lands in the weight arena tensor by tensor, with progress; truncation anywhere
// is an error naming the file and the tensor.

import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../engine/models/load';
import { parseSafetensors, readTensorF32, writeSafetensors } from '../engine/models/safetensors';
import type { ModelSpec } from '../engine/models/spec';
import { streamWeights, type ByteStream } from '../engine/models/weights';
import { EXACT, expectClose } from './helpers/close';
import { gpu } from './helpers/gpu';
import { rng } from './helpers/random';

const DIR = 'weights/tinyvgg';

function tinyvgg(): { spec: ModelSpec; bytes: Uint8Array } {
  try {
    return { spec: JSON.parse(readFileSync(`${DIR}/model.json`, 'utf8')) as ModelSpec, bytes: new Uint8Array(readFileSync(`${DIR}/weights.safetensors`)) };
  } catch {
    throw new Error(`${DIR} is missing: run \`npm run weights\` first`);
  }
}

/** The bytes cut into chunks of the given sizes (cycled), as a stream of unknown total size. */
function chunked(bytes: Uint8Array, sizes: number[], knownSize = false): ByteStream {
  async function* gen() {
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const n = sizes[i % sizes.length];
      yield bytes.subarray(at, at + n);
      at += n;
    }
  }
  return { chunks: gen(), size: knownSize ? bytes.length : null };
}

async function expectArenaMatches(arena: Awaited<ReturnType<typeof streamWeights>>, bytes: Uint8Array) {
  const st = parseSafetensors(bytes, 'ref');
  for (const name of st.entries.keys()) {
    const view = arena.views.get(name)!;
    expectClose(await view.read(), readTensorF32(st, name), EXACT, view.shape, name);
  }
}

describe('streaming weights into the arena', () => {
  const r = rng(3);
  const random = Array.from({ length: 5 }, () => 1 + Math.floor(r() * 5000));
  it.each([
    ['1-byte chunks through the header, then 4099', [1, 1, 1, 1, 1, 1, 1, 1, 1, 4099]],
    ['7-byte chunks', [7]],
    ['random chunk sizes', random],
    ['one chunk', [1 << 30]],
  ])('%s give exactly the file\'s tensors', async (_name, sizes) => {
    const rt = await gpu();
    const { spec, bytes } = tinyvgg();
    const arena = await streamWeights(rt, spec, chunked(bytes, sizes), 'tinyvgg (chunked)');
    try {
      await expectArenaMatches(arena, bytes);
    } finally {
      arena.buffer.destroy();
    }
  });

  it('widens float16 files as they stream', async () => {
    const rt = await gpu();
    const { spec, bytes } = tinyvgg();
    const st = parseSafetensors(bytes, 'tinyvgg');
    const half = writeSafetensors([...st.entries.values()].map((e) => ({ name: e.name, shape: e.shape, data: readTensorF32(st, e.name) })), { dtype: 'F16' });
    const arena = await streamWeights(rt, spec, chunked(half, [333]), 'tinyvgg f16');
    try {
      await expectArenaMatches(arena, half);
    } finally {
      arena.buffer.destroy();
    }
  });

  it('reports progress while loading from a folder, ending at the file size', async () => {
    const rt = await gpu();
    const seen: [number, number | null][] = [];
    const model = await loadModel(rt, DIR, { onProgress: (loaded, total) => seen.push([loaded, total]) });
    model.dispose();
    const size = statSync(`${DIR}/weights.safetensors`).size;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every(([, total]) => total === size)).toBe(true);
    expect(seen.every(([l], i) => i === 0 || l > seen[i - 1][0])).toBe(true);
    expect(seen[seen.length - 1][0]).toBe(size);
  });

  it('names the tensor a truncated stream of unknown size ends in', async () => {
    const rt = await gpu();
    const { spec, bytes } = tinyvgg();
    const st = parseSafetensors(bytes, 'x');
    const last = [...st.entries.values()].sort((a, b) => b.begin - a.begin)[0];
    const cut = bytes.subarray(0, st.dataOffset + last.begin + 10);
    await expect(streamWeights(rt, spec, chunked(cut, [1000]), 'cut.safetensors')).rejects.toThrow(
      new RegExp(`safetensors cut\\.safetensors: truncated: tensor '${last.name.replace(/\./g, '\\.')}' needs bytes \\[${last.begin}, ${last.end}\\)`),
    );
    await expect(streamWeights(rt, spec, chunked(bytes.subarray(0, 20), [5]), 'head.safetensors')).rejects.toThrow(/safetensors head\.safetensors: header length \d+ runs past the end of the file \(20 bytes\)/);
  });

  it('checks every tensor against the graph before reading data', async () => {
    const rt = await gpu();
    const { spec, bytes } = tinyvgg();
    const st = parseSafetensors(bytes, 'x');
    const first = [...st.entries.values()][0];
    const wrong = writeSafetensors([...st.entries.values()].map((e) => ({
      name: e.name,
      shape: e === first ? [e.shape.reduce((a, b) => a * b, 1)] : e.shape,
      data: readTensorF32(st, e.name),
    })));
    await expect(streamWeights(rt, spec, chunked(wrong, [64]), 'wrong.safetensors')).rejects.toThrow(new RegExp(`wrong\\.safetensors: tensor '${first.name.replace(/\./g, '\\.')}' has shape \\(\\d+\\), expected \\(`));
  });
});
