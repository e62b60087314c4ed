// neighbors: nearest neighbours in feature space next to nearest neighbours in pixel space (CS231n
// lecture 12: the last layer's codes retrieve images of the same kind even when their pixels
// differ, while pixel distance finds images of similar colour and layout). For each query image
// (gallery images, or new files), the top-k gallery images by distance between their features at
// a layer (gallery.ts, cached) and between the raw pixels of their preprocessed inputs (the
// network's own (3, H, W) input). Distances and the top-k selection run on the GPU: the pairwise
// kernel (ops/pairwise.ts) and the selection kernel (ops/topk.ts); pixels go through in gallery
// batches, so a large gallery never sits on the GPU at once. A gallery image with the same bytes
// as the query (the query itself) is left out of its list.

import { formatNumber, grid, type RgbaImage } from '../display/index';
import type { Runtime } from '../runtime';
import { pairwise, type Metric } from '../ops/pairwise';
import { topk, TOPK_MAX } from '../ops/topk';
import { Tensor } from '../tensor';
import { defaultFeatureLayer, extractGalleryFeatures, GALLERY_POOLS, type GalleryFeatures } from './gallery';
import { GALLERY_OPTIONS, galleryFromOptions, techniqueGallery, type GallerySourceOptions } from './gallery_features';
import { inputBatches } from './input_batches';
import { enlarge, since } from './present';
import { layerOption, resolveLayer } from './resolve';
import type { Technique } from './technique';

export const NEIGHBOR_METRICS = ['l2', 'cosine'] as const;
/** Most queries per run (they share one GPU batch of inputs). */
export const MAX_QUERIES = 32;
const TILE = 64;

export interface NeighborsOptions extends GallerySourceOptions, Record<string, string | number> {
  query: string;
  queries: number;
  k: number;
  layer: string;
  pool: (typeof GALLERY_POOLS)[number];
  metric: (typeof NEIGHBOR_METRICS)[number];
}

export interface Neighbor {
  file: string;
  /** Row of the gallery. */
  index: number;
  distance: number;
}

export interface QueryNeighbors {
  query: string;
  feature: Neighbor[];
  pixel: Neighbor[];
}

export interface NeighborsResult {
  layer: string;
  pool: string;
  metric: Metric;
  k: number;
  queries: QueryNeighbors[];
  /** The query pictures and every listed gallery image's picture (network input, TILE px), by index. */
  queryPictures: RgbaImage[];
  pictures: Map<number, RgbaImage>;
  gallery: Pick<GalleryFeatures, 'group' | 'store' | 'cached' | 'computed' | 'forwardPasses' | 'dim'> & { count: number };
  ms: number;
}

/** k nearest (ascending, ties by index) of each of the nq rows of a distance matrix (nq, ng), on the GPU. */
export async function nearestRows(rt: Runtime, dist: Tensor, k: number): Promise<{ indices: Float32Array; distances: Float32Array }> {
  const { values, indices } = topk(dist, k);
  try {
    return { indices: await indices.read(), distances: await values.read() };
  } finally {
    values.dispose();
    indices.dispose();
  }
}

/** Per query, the first k of its ranked gallery rows that are not in `exclude[q]`. */
function lists(r: { indices: Float32Array; distances: Float32Array }, kk: number, k: number, exclude: Set<number>[], files: readonly string[]): Neighbor[][] {
  return exclude.map((ex, q) => {
    const out: Neighbor[] = [];
    for (let s = 0; s < kk && out.length < k; s++) {
      const index = r.indices[q * kk + s];
      if (!ex.has(index)) out.push({ file: files[index], index, distance: r.distances[q * kk + s] });
    }
    return out;
  });
}

export const neighbors: Technique<NeighborsOptions, NeighborsResult> = {
  name: 'neighbors',
  title: 'Nearest neighbours: feature vs pixel space',
  group: 'gallery',
  description:
    "For each query image, the k gallery images nearest in a layer's feature space next to the k nearest in raw pixel space (Krizhevsky et al. 2012, fig. 4; CS231n lecture 12): features find the same kind of object across pose, crop and colour, pixels find the same colours and layout. Distances (L2 or cosine) and top-k on the GPU.",
  needsImage: false,
  options: [
    ...GALLERY_OPTIONS,
    { kind: 'string', name: 'query', default: '', help: 'query images (a folder, a list file or files, comma-separated); default: the first --queries gallery images' },
    { kind: 'int', name: 'queries', default: 4, min: 1, max: MAX_QUERIES, help: 'with no --query, how many gallery images to query' },
    { kind: 'int', name: 'k', default: 8, min: 1, max: TOPK_MAX - 1, help: 'neighbours per query and space' },
    layerOption('feature layer (default: the last feature layer before the classifier)'),
    { kind: 'enum', name: 'pool', choices: GALLERY_POOLS, default: 'flatten', help: 'spatial layers: flatten every value, or the average / maximum over positions per channel' },
    { kind: 'enum', name: 'metric', choices: NEIGHBOR_METRICS, default: 'l2', help: 'distance in both spaces: Euclidean (l2) or 1 - cosine similarity' },
  ],
  async run(ctx, o) {
    const t0 = performance.now();
    const { model } = ctx;
    const rt = model.rt;
    const layer = resolveLayer(model, o.layer, 'neighbors', { fallback: defaultFeatureLayer(model) }).name;
    const g = await techniqueGallery(ctx, o, layer, o.pool);
    const n = g.files.length;
    let q: { items: typeof g.items; features: Float32Array; hashes: string[] };
    if (o.query === '') {
      const nq = Math.min(o.queries, n);
      q = { items: g.items.slice(0, nq), features: g.features.subarray(0, nq * g.dim), hashes: g.hashes.slice(0, nq) };
    } else {
      const { items, store } = await galleryFromOptions({ ...o, gallery: o.query, limit: 0 });
      if (items.length > MAX_QUERIES) throw new Error(`neighbors: ${items.length} query images, at most ${MAX_QUERIES} per run`);
      const f = await extractGalleryFeatures(model, items, { layer, pool: o.pool, batch: o.batch, store, signal: ctx.signal });
      q = { items, features: f.features, hashes: f.hashes };
    }
    const nq = q.items.length;
    const exclude = q.hashes.map((h) => new Set(g.hashes.flatMap((gh, i) => (gh === h ? [i] : []))));
    const k = Math.min(o.k, n - Math.max(...exclude.map((e) => e.size)));
    if (k < 1) throw new Error(`neighbors: the gallery has no image besides the queries (${n} images)`);
    const kk = Math.min(n, TOPK_MAX, k + Math.max(...exclude.map((e) => e.size)));
    // Feature space.
    const qf = Tensor.fromData(rt, q.features, [nq, g.dim, 1, 1], 'neighbors.query');
    const gf = Tensor.fromData(rt, g.features, [n, g.dim, 1, 1], 'neighbors.gallery');
    let feature: Neighbor[][];
    try {
      const d = pairwise(qf, gf, o.metric);
      try {
        feature = lists(await nearestRows(rt, d, kk), kk, k, exclude, g.files);
      } finally {
        d.dispose();
      }
    } finally {
      qf.dispose();
      gf.dispose();
    }
    // Pixel space: the query inputs stay on the GPU, the gallery streams past in batches.
    const queryBatch = inputBatches(model, q.items, { batch: nq, tile: TILE });
    const first = (await queryBatch.next()).value!;
    const queryPictures = first.pictures;
    const qx = Tensor.empty(rt, first.x.shape, 'neighbors.query pixels');
    first.x.copyTo(qx);
    await queryBatch.return(undefined);
    const dist = Tensor.empty(rt, [nq, n, 1, 1], 'neighbors.pixel distances');
    const all = new Map<number, RgbaImage>();
    let pixel: Neighbor[][];
    try {
      const host = new Float32Array(nq * n);
      for await (const b of inputBatches(model, g.items, { batch: o.batch, tile: TILE, signal: ctx.signal })) {
        const d = pairwise(qx, b.x, o.metric);
        const part = await d.read();
        d.dispose();
        for (let r = 0; r < nq; r++) host.set(part.subarray(r * b.x.n, (r + 1) * b.x.n), r * n + b.start);
        b.pictures.forEach((p, s) => all.set(b.start + s, p));
      }
      dist.write(host);
      pixel = lists(await nearestRows(rt, dist, kk), kk, k, exclude, g.files);
    } finally {
      qx.dispose();
      dist.dispose();
    }
    const shown = new Set([...feature, ...pixel].flat().map((x) => x.index));
    const pictures = new Map([...all].filter(([i]) => shown.has(i)));
    return {
      layer, pool: o.pool, metric: o.metric, k,
      queries: q.items.map((it, i) => ({ query: it.name, feature: feature[i], pixel: pixel[i] })),
      queryPictures, pictures,
      gallery: { count: n, dim: g.dim, group: g.group, store: g.store, cached: g.cached, computed: g.computed, forwardPasses: g.forwardPasses },
      ms: since(t0),
    };
  },
  present(r) {
    const tiles: RgbaImage[] = [];
    const labels: string[] = [];
    r.queries.forEach((q, i) => {
      for (const [space, list] of [['feat', q.feature], ['pixel', q.pixel]] as const) {
        tiles.push(r.queryPictures[i], ...list.map((x) => r.pictures.get(x.index)!));
        labels.push(`${space} q${i}`, ...list.map((x) => formatNumber(x.distance)));
      }
    });
    const name = (f: string) => f.split(/[\\/]/).pop()!;
    return {
      views: [{
        suffix: '',
        meaning: `per query two rows: the query, then its ${r.k} nearest gallery images in '${r.layer}' feature space (row 'feat') and in pixel space (row 'pixel'), nearest first, labelled with the ${r.metric} distance`,
        image: grid(tiles.map((t) => enlarge(t, TILE)), { labels, pad: 3, cols: r.k + 1 }),
      }],
      raw: {
        data: Float32Array.from(r.queries.flatMap((q) => [...q.feature, ...q.pixel].map((x) => x.distance))),
        shape: [r.queries.length, 2, r.k],
        meaning: `${r.metric} distances of each query's k nearest gallery images, [query, 0 = feature space / 1 = pixel space, rank]`,
      },
      summary: {
        layer: r.layer, pool: r.pool, metric: r.metric, k: r.k, gallery: r.gallery, ms: r.ms,
        queries: r.queries.map((q) => ({
          query: q.query,
          feature: q.feature.map((x) => ({ file: x.file, distance: x.distance })),
          pixel: q.pixel.map((x) => ({ file: x.file, distance: x.distance })),
        })),
        names: r.queries.map((q) => ({ query: name(q.query), feature: q.feature.map((x) => name(x.file)), pixel: q.pixel.map((x) => name(x.file)) })),
      },
    };
  },
};
