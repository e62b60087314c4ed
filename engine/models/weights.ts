// Weights are streamed straight into the weight arena: the safetensors header is parsed as soon
// as it has arrived, every tensor is checked against the graph before any data is read, and each
// tensor is converted to float32 and written to its place in the arena the moment its last byte
// arrives. The file is never held whole in memory, in the browser (fetch body) or in Node (file
// stream), and a caller can show progress.

import { TENSOR_USAGE } from '../buffer_pool';
import type { Runtime } from '../runtime';
import { shapeStr, Tensor } from '../tensor';
import { expectedTensors } from './shapes';
import { decodeTensorF32, headerLength, parseSafetensorsHeader, sortedEntries, type StEntry, type StHeader } from './safetensors';
import type { ModelSpec } from './spec';

/** Tensors start at multiples of 64 elements (256 bytes) in the arena. */
const ARENA_ALIGN = 64;

/** The weight arena: one GPU buffer, and a view per tensor (conv OIHW, linear (Out, In, 1, 1), bias (1, C, 1, 1)). */
export interface WeightArena {
  buffer: GPUBuffer;
  views: Map<string, Tensor>;
}

/** A byte stream and, when known up front, its total size. */
export interface ByteStream {
  chunks: AsyncIterable<Uint8Array>;
  size: number | null;
}

/** Called as bytes arrive: bytes so far and the total when known. */
export type ProgressFn = (loaded: number, total: number | null) => void;

function isUrl(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path) || typeof process === 'undefined' || !process.versions?.node;
}

/** Open a file (Node) or a URL (fetch, browser or Node) as a stream of chunks. */
export async function openByteStream(path: string): Promise<ByteStream> {
  if (isUrl(path)) {
    const res = await fetch(path);
    if (!res.ok || !res.body) throw new Error(`${path}: HTTP ${res.status} ${res.statusText}`);
    const length = Number(res.headers.get('content-length'));
    const body = res.body;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    }
    // A compressed transfer's Content-Length is not the file's size.
    const encoded = !!res.headers.get('content-encoding');
    return { chunks: chunks(), size: Number.isFinite(length) && length > 0 && !encoded ? length : null };
  }
  // Variable specifiers keep bundlers from pulling node:fs into the browser build.
  const fsName = 'node:fs';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs');
  let size: number;
  try {
    size = (await fs.promises.stat(path)).size;
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message}); convert the model first with \`npm run weights\``);
  }
  return { chunks: fs.createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>, size };
}

/** Every tensor the graph needs, checked against the file's header, with its arena offset. */
function placeTensors(spec: ModelSpec, header: StHeader, file: string): { placed: Map<string, { entry: StEntry; offset: number; shape: number[] }>; total: number } {
  const wanted = spec.layers.flatMap(expectedTensors);
  const names = new Set(wanted.map((t) => t.name));
  for (const name of header.entries.keys()) {
    if (!names.has(name)) throw new Error(`${file}: unexpected tensor '${name}' (no layer of '${spec.name}' uses it)`);
  }
  let total = 0;
  const placed = new Map<string, { entry: StEntry; offset: number; shape: number[] }>();
  for (const t of wanted) {
    const entry = header.entries.get(t.name);
    if (!entry) throw new Error(`${file}: missing tensor '${t.name}', expected shape ${shapeStr(t.shape)}`);
    if (entry.shape.length !== t.shape.length || entry.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(`${file}: tensor '${t.name}' has shape ${shapeStr(entry.shape)}, expected ${shapeStr(t.shape)}`);
    }
    placed.set(t.name, { entry, offset: total, shape: t.shape });
    total += Math.ceil(t.shape.reduce((a, b) => a * b, 1) / ARENA_ALIGN) * ARENA_ALIGN;
  }
  return { placed, total };
}

/** Stream a safetensors file into a new weight arena for `spec`. */
export async function streamWeights(rt: Runtime, spec: ModelSpec, stream: ByteStream, file: string, onProgress?: ProgressFn): Promise<WeightArena> {
  let buffer: GPUBuffer | null = null;
  let result: WeightArena | null = null;
  let loaded = 0;
  try {
    // Header: accumulate until 8 + N bytes are here.
    let head = new Uint8Array(0);
    let header: StHeader | null = null;
    let order: StEntry[] = [];
    let offsets = new Map<string, number>();
    let k = 0; // next tensor (file order) to fill
    let staging: Uint8Array | null = null;
    let pos = 0; // data-section offset of the next byte
    const fill = (bytes: Uint8Array) => {
      let at = 0;
      while (at < bytes.length && k < order.length) {
        const e = order[k];
        if (pos < e.begin) {
          const skip = Math.min(bytes.length - at, e.begin - pos);
          at += skip;
          pos += skip;
          continue;
        }
        staging ??= new Uint8Array(e.end - e.begin);
        const take = Math.min(bytes.length - at, e.end - pos);
        staging.set(bytes.subarray(at, at + take), pos - e.begin);
        at += take;
        pos += take;
        if (pos === e.end) {
          rt.device.queue.writeBuffer(buffer!, offsets.get(e.name)! * 4, decodeTensorF32(e, staging) as Float32Array<ArrayBuffer>);
          staging = null;
          k++;
        }
      }
    };
    for await (const chunk of stream.chunks) {
      loaded += chunk.length;
      onProgress?.(loaded, stream.size);
      if (header) {
        fill(chunk);
        continue;
      }
      const joined = new Uint8Array(head.length + chunk.length);
      joined.set(head);
      joined.set(chunk, head.length);
      head = joined;
      if (head.length < 8 || head.length < 8 + headerLength(head, file, stream.size)) continue;
      header = parseSafetensorsHeader(head, file, stream.size);
      const { placed, total } = placeTensors(spec, header, file);
      order = sortedEntries(header.entries);
      offsets = new Map([...placed].map(([name, p]) => [name, p.offset]));
      buffer = rt.device.createBuffer({ size: Math.max(total, ARENA_ALIGN) * 4, usage: TENSOR_USAGE, label: `${spec.name} weight arena` });
      const views = new Map<string, Tensor>();
      for (const [name, p] of placed) {
        const s = p.shape;
        const shape = s.length === 4 ? s : s.length === 2 ? [s[0], s[1], 1, 1] : [1, s[0], 1, 1];
        views.set(name, Tensor.view(rt, buffer, shape, name, p.offset));
      }
      result = { buffer, views };
      fill(head.subarray(header.dataOffset));
    }
    if (!header) headerLength(head, file, head.length); // throws: too short for its header
    if (k < order.length) {
      const e = order[k];
      throw new Error(`safetensors ${file}: truncated: tensor '${e.name}' needs bytes [${e.begin}, ${e.end}) of the data section, the file ends at ${pos}`);
    }
    return result!;
  } catch (e) {
    buffer?.destroy();
    throw e;
  }
}
