// Gallery features: one layer's features for every image of a gallery (gallery_source.ts), the
// input of the techniques that look across many images (neighbors, embed, top-patches).
//
//   const items = await nodeGallery('');                       // the 1000 shared ImageNet samples
//   const f = await extractGalleryFeatures(model, items, { layer: 'pool10', pool: 'avg', store, onProgress });
//   f.features   // Float32Array (N, D), row i = f.files[i]
//
// Images go through the network `batch` at a time (decode, Model.preprocess into one (B, 3, H, W)
// batch, forward until the layer); each image's features are reduced on the GPU ('avg': global
// average pooling) or from the read-back batch ('flatten', 'max', 'max-argmax'). The cache
// (gallery_store.ts) is keyed by a *group* = model + weights id + layer + pooling + preprocessing,
// and inside it by each image's CONTENT (SHA-256 of its bytes): a second run reads everything
// back with no forward pass, a changed image misses and is recomputed, and since each batch is
// saved as a chunk as soon as it is done, an interrupted run resumes where it stopped.

import { decodeImage } from '../io/decode';
import type { Model } from '../models/graph';
import type { Chw } from '../models/shapes';
import type { ModelSpec } from '../models/spec';
import { globalAvgPool } from '../ops/pool';
import { Tensor } from '../tensor';
import { resolveLayer } from './resolve';
import type { GalleryItem } from './gallery_source';
import type { FeatureStore } from './gallery_store';
import { throwIfAborted } from './technique';

export type { GalleryItem } from './gallery_source';
export type { FeatureStore } from './gallery_store';

/**
 * How a layer's (C, H, W) output becomes one image's feature vector: 'flatten' all C*H*W values,
 * 'avg' / 'max' over positions (C values), 'max-argmax' C maxima then C argmax positions y*W + x
 * (as floats, exact below 2^24; top-patches uses it).
 */
export type GalleryPool = 'flatten' | 'avg' | 'max' | 'max-argmax';
/** The choices offered to people (CLI --pool, panels). */
export const GALLERY_POOLS = ['flatten', 'avg', 'max'] as const;
/** Bumped when the chunk format or the feature arithmetic changes (old caches then miss). */
const CACHE_VERSION = 1;
const CHUNK_MAGIC = 'CNVF';

export interface GalleryProgress {
  /** Images with features so far (cached ones count at once). */
  done: number;
  total: number;
  /** Found in the cache / computed in this run so far. */
  cached: number;
  computed: number;
  elapsedMs: number;
  /** Estimated time left, from this run's speed so far; null before the first computed batch. */
  etaMs: number | null;
}

export interface GalleryOptions {
  /** Layer name (or index among the layers); default defaultFeatureLayer(model). */
  layer?: string;
  /** Default 'flatten'. */
  pool?: GalleryPool;
  /** Images per forward pass (default 8). */
  batch?: number;
  /** Where features are cached; none = no cache. */
  store?: FeatureStore;
  /** Tells apart weights of the same spec in the cache group (default: weightsFingerprint(model)). */
  modelId?: string;
  signal?: AbortSignal;
  onProgress?: (p: GalleryProgress) => void;
}

export interface GalleryFeatures {
  model: string;
  layer: string;
  pool: GalleryPool;
  /** The layer's per-image output shape (C, H, W) at the model's input size. */
  layerShape: Chw;
  /** Features per image. */
  dim: number;
  /** (N, dim), row-major, row i for files[i]. */
  features: Float32Array;
  files: string[];
  /** SHA-256 (hex) of each file's bytes. */
  hashes: string[];
  /** The cache group ('' without a store) and where the store is. */
  group: string;
  store: string | null;
  cached: number;
  computed: number;
  /** Forward passes this run made (0 when everything came from the cache). */
  forwardPasses: number;
  ms: number;
}

/**
 * The last feature layer before the classifier: the input of a linear logits layer (through
 * dropout, flatten and ReLU: AlexNet fc7 / classifier.4, GoogLeNet pool5/7x7_s1, TinyVGG
 * max_pool_2), or the logits layer itself when it is not a linear layer (SqueezeNet's pool10).
 */
export function defaultFeatureLayer({ spec }: { spec: ModelSpec }): string {
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const logits = byName.get(spec.logits)!;
  if (logits.type !== 'linear') return logits.name;
  let l = byName.get(logits.inputs[0]);
  while (l && (l.type === 'dropout' || l.type === 'flatten' || l.type === 'relu')) l = byName.get(l.inputs[0]);
  return l?.name ?? spec.input.name;
}

/** Features per image of a layer shaped (C, H, W). */
export function featureDim([c, h, w]: Chw, pool: GalleryPool): number {
  return pool === 'flatten' ? c * h * w : pool === 'max-argmax' ? 2 * c : c;
}

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');

/** SHA-256 of bytes as hex (crypto.subtle: Node and browsers). */
export async function sha256(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return hex(await crypto.subtle.digest('SHA-256', data as BufferSource));
}

/**
 * What tells these weights apart from others of the same spec: a hash of the first weighted
 * layer's weights and of the last one's bias (a few KB read back, no file access needed).
 */
export async function weightsFingerprint(model: Model): Promise<string> {
  const weighted = model.spec.layers.filter((l) => l.type === 'conv' || l.type === 'linear');
  if (weighted.length === 0) return '';
  const first = await model.weight(`${weighted[0].name}.weight`).read();
  const last = weighted[weighted.length - 1];
  const bias = 'bias' in last && last.bias ? await model.weight(`${last.name}.bias`).read() : new Float32Array(0);
  const bytes = new Uint8Array(first.byteLength + bias.byteLength);
  bytes.set(new Uint8Array(first.buffer, first.byteOffset, first.byteLength));
  bytes.set(new Uint8Array(bias.buffer, bias.byteOffset, bias.byteLength), first.byteLength);
  return (await sha256(bytes)).slice(0, 16);
}

/**
 * The cache group of a configuration: readable prefix + hash of everything the features depend on
 * (spec name and source, the weights (`modelId`, default weightsFingerprint), layer, pooling, preprocessing).
 */
export async function cacheGroup(model: Model, layer: string, pool: GalleryPool, modelId?: string): Promise<string> {
  const { spec } = model;
  const weights = modelId ?? (await weightsFingerprint(model));
  const key = JSON.stringify({ v: CACHE_VERSION, model: spec.name, source: spec.source, weights, layer, pool, input: spec.input });
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_');
  return `${safe(spec.name)}.${safe(layer)}.${pool}.${(await sha256(key)).slice(0, 16)}`;
}

/** A chunk: 'CNVF', u32 header length, JSON header {dim, hashes}, padding to 4, float32 rows. */
export function encodeChunk(dim: number, hashes: readonly string[], rows: Float32Array): Uint8Array {
  if (rows.length !== dim * hashes.length) throw new Error(`gallery chunk: ${rows.length} values for ${hashes.length} images of ${dim} features`);
  const header = new TextEncoder().encode(JSON.stringify({ dim, hashes }));
  const start = Math.ceil((8 + header.length) / 4) * 4;
  const out = new Uint8Array(start + rows.byteLength);
  out.set(new TextEncoder().encode(CHUNK_MAGIC), 0);
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, 8);
  out.set(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), start);
  return out;
}

/** A chunk's rows by hash, or null when it is not a valid chunk of `dim` features. */
export function decodeChunk(bytes: Uint8Array, dim: number): Map<string, Float32Array> | null {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== CHUNK_MAGIC) return null;
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
  if (8 + len > bytes.length) return null;
  let header: { dim: number; hashes: string[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len)));
  } catch {
    return null;
  }
  const start = Math.ceil((8 + len) / 4) * 4;
  if (header.dim !== dim || bytes.length - start !== header.hashes.length * dim * 4) return null;
  const rows = new Float32Array(bytes.slice(start).buffer);
  return new Map(header.hashes.map((h, i) => [h, rows.subarray(i * dim, (i + 1) * dim)]));
}

/** Every cached row of a group, by image hash (invalid chunks are ignored and recomputed). */
async function loadGroup(store: FeatureStore, group: string, dim: number): Promise<Map<string, Float32Array>> {
  const rows = new Map<string, Float32Array>();
  for (const id of await store.list(group)) {
    const bytes = await store.get(group, id);
    const chunk = bytes && decodeChunk(bytes, dim);
    if (chunk) for (const [h, r] of chunk) rows.set(h, r);
  }
  return rows;
}

/** Reduce a batch's layer output (B, C, H, W) to (B, dim) rows. */
async function reduceBatch(y: Tensor, pool: GalleryPool): Promise<Float32Array> {
  const [b, c, h, w] = y.shape;
  if (pool === 'flatten' || ((pool === 'avg' || pool === 'max') && h * w === 1)) return y.read();
  if (pool === 'avg') {
    const p = globalAvgPool(y);
    try {
      return await p.read();
    } finally {
      p.dispose();
    }
  }
  const a = await y.read();
  const plane = h * w;
  const dim = pool === 'max-argmax' ? 2 * c : c;
  const out = new Float32Array(b * dim);
  for (let s = 0; s < b; s++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (s * c + ch) * plane;
      let best = 0;
      for (let i = 1; i < plane; i++) if (a[base + i] > a[base + best]) best = i;
      out[s * dim + ch] = a[base + best];
      if (pool === 'max-argmax') out[s * dim + c + ch] = best;
    }
  }
  return out;
}

/** The gallery's features at one layer; see the file comment. */
export async function extractGalleryFeatures(model: Model, items: readonly GalleryItem[], opts: GalleryOptions = {}): Promise<GalleryFeatures> {
  const t0 = performance.now();
  const layer = resolveLayer(model, opts.layer ?? '', 'gallery', { fallback: defaultFeatureLayer(model) }).name;
  const pool = opts.pool ?? 'flatten';
  const batch = opts.batch ?? 8;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`gallery: batch must be a positive integer, got ${batch}`);
  if (items.length === 0) throw new Error('gallery: no images');
  const { height, width } = model.spec.input;
  const layerShape = model.layerShape(layer, height, width);
  const dim = featureDim(layerShape, pool);
  const store = opts.store;
  const group = store ? await cacheGroup(model, layer, pool, opts.modelId) : '';
  const hashes: string[] = [];
  for (const item of items) {
    throwIfAborted(opts.signal);
    hashes.push(await sha256(await item.read()));
  }
  const rows = store ? await loadGroup(store, group, dim) : new Map<string, Float32Array>();
  // One computation per distinct missing content, in gallery order.
  const todo = [...new Map(items.map((it, i) => [hashes[i], it] as const)).entries()].filter(([h]) => !rows.has(h));
  const total = items.length;
  const cached = items.filter((_, i) => rows.has(hashes[i])).length;
  let computed = 0;
  let forwardPasses = 0;
  let firstBatchAt: number | null = null;
  const report = () => {
    const done = items.filter((_, i) => rows.has(hashes[i])).length;
    const elapsedMs = performance.now() - t0;
    const rate = firstBatchAt !== null && computed > 0 ? (performance.now() - firstBatchAt) / computed : null;
    opts.onProgress?.({ done, total, cached, computed, elapsedMs, etaMs: rate === null ? null : rate * (total - done) });
  };
  report();
  for (let i = 0; i < todo.length; i += batch) {
    throwIfAborted(opts.signal);
    firstBatchAt ??= performance.now();
    const part = todo.slice(i, i + batch);
    const x = Tensor.empty(model.rt, model.inputShape(height, width, part.length), 'gallery batch');
    try {
      for (const [s, [, item]] of part.entries()) {
        const d = await decodeImage(await item.read(), item.name);
        model.preprocess(d.rgba, d.width, d.height, x, s);
      }
      const y = model.forward(x, { until: layer, keep: false });
      forwardPasses++;
      const out = await reduceBatch(y, pool);
      const ids = part.map(([h]) => h);
      if (store) await store.put(group, (await sha256(ids.join(','))).slice(0, 24), encodeChunk(dim, ids, out));
      ids.forEach((h, s) => rows.set(h, out.subarray(s * dim, (s + 1) * dim)));
      computed += part.length;
    } finally {
      x.dispose();
    }
    report();
  }
  const features = new Float32Array(total * dim);
  hashes.forEach((h, i) => features.set(rows.get(h)!, i * dim));
  return {
    model: model.spec.name, layer, pool, layerShape, dim, features, files: items.map((it) => it.name), hashes,
    group, store: store?.where ?? null, cached, computed, forwardPasses, ms: performance.now() - t0,
  };
}

/** 'done/total (cached), 12.3 s left' for progress lines. */
export function formatProgress(p: GalleryProgress): string {
  const eta = p.etaMs === null ? '' : `, ${p.etaMs < 60_000 ? `${(p.etaMs / 1000).toFixed(1)} s` : `${(p.etaMs / 60_000).toFixed(1)} min`} left`;
  return `${p.done}/${p.total} images (${p.cached} cached, ${p.computed} computed)${eta}`;
}
