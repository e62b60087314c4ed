// embed: a gallery's features mapped to 2-D by PCA (pca.ts: covariance or Gram matrix by the GPU
// GEMM, eigenvectors on the CPU) or t-SNE (tsne.ts: perplexity-calibrated P on the CPU, the exact
// O(N^2) gradient on the GPU), shown as a mosaic of the images at their embedded positions snapped
// to a grid without overlaps (Karpathy's "t-SNE visualization of CNN codes"), a scatter coloured
// by class, and the (N, 2) coordinates.

import { blit, colorAt, colormap, createImage, type RgbaImage } from '../display/index';
import { defaultFeatureLayer, GALLERY_POOLS } from './gallery';
import { isNode } from './gallery_source';
import { GALLERY_OPTIONS, techniqueGallery, type GallerySourceOptions } from './gallery_features';
import { inputBatches } from './input_batches';
import { pca } from './pca';
import { since } from './present';
import { layerOption, resolveLayer } from './resolve';
import type { Technique } from './technique';
import { tsne } from './tsne';

export const EMBED_METHODS = ['tsne', 'pca'] as const;

export interface EmbedOptions extends GallerySourceOptions, Record<string, string | number> {
  method: (typeof EMBED_METHODS)[number];
  layer: string;
  pool: (typeof GALLERY_POOLS)[number];
  perplexity: number;
  iterations: number;
  learningRate: number;
  seed: number;
  tile: number;
}

export interface EmbedResult {
  method: string;
  layer: string;
  files: string[];
  /** (N, 2) row-major. */
  coords: Float32Array;
  /** Each point's class (index into `classes`) and the class names. */
  classOf: number[];
  classes: string[];
  /** Each point's mosaic cell (row-major in cols x rows). */
  cells: number[];
  cols: number;
  rows: number;
  thumbnails: RgbaImage[];
  tile: number;
  /** Method details: explained variance (PCA); perplexity used, entropy error, timings (t-SNE). */
  details: Record<string, unknown>;
  ms: number;
}

/**
 * Each point's cell of a cols x rows grid (cols * rows >= n), no two points in one cell: the
 * coordinates are scaled to the grid, then (point, cell) pairs are taken greedily by increasing
 * distance (ties by point, then cell), as in the CNN-codes mosaics; past MAX_PAIRS pairs, point
 * by point (each takes its nearest free cell).
 */
export function snapToGrid(coords: ArrayLike<number>, n: number, cols: number, rows: number): number[] {
  if (cols * rows < n) throw new Error(`embed: a ${cols} x ${rows} grid has fewer cells than ${n} points`);
  const range = (c: number) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, coords[2 * i + c]);
      hi = Math.max(hi, coords[2 * i + c]);
    }
    return [lo, hi - lo || 1];
  };
  const [x0, xs] = range(0);
  const [y0, ys] = range(1);
  const cellsN = cols * rows;
  const at = (i: number): [number, number] => [((coords[2 * i] - x0) / xs) * (cols - 1), ((coords[2 * i + 1] - y0) / ys) * (rows - 1)];
  if (n * cellsN > MAX_PAIRS) return snapPointByPoint(n, cellsN, cols, at);
  const pairs = new Float64Array(n * cellsN);
  const order = new Uint32Array(n * cellsN);
  for (let i = 0; i < n; i++) {
    const [px, py] = at(i);
    for (let c = 0; c < cellsN; c++) {
      pairs[i * cellsN + c] = ((c % cols) - px) ** 2 + (Math.floor(c / cols) - py) ** 2;
      order[i * cellsN + c] = i * cellsN + c;
    }
  }
  order.sort((a, b) => pairs[a] - pairs[b] || a - b);
  const cell = new Array<number>(n).fill(-1);
  const taken = new Uint8Array(cellsN);
  let left = n;
  for (let t = 0; t < order.length && left > 0; t++) {
    const i = Math.floor(order[t] / cellsN);
    const c = order[t] % cellsN;
    if (cell[i] >= 0 || taken[c]) continue;
    cell[i] = c;
    taken[c] = 1;
    left--;
  }
  return cell;
}

/** Above this many (point, cell) pairs snapToGrid assigns point by point (memory stays O(cells)). */
const MAX_PAIRS = 4_000_000;

/** Large maps: each point in turn takes its nearest free cell (ties by cell index). */
function snapPointByPoint(n: number, cellsN: number, cols: number, at: (i: number) => [number, number]): number[] {
  const taken = new Uint8Array(cellsN);
  return Array.from({ length: n }, (_, i) => {
    const [px, py] = at(i);
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < cellsN; c++) {
      const d = ((c % cols) - px) ** 2 + (Math.floor(c / cols) - py) ** 2;
      if (!taken[c] && d < bestD) [best, bestD] = [c, d];
    }
    taken[best] = 1;
    return best;
  });
}

/** The stem of a file name ('.../boat_1.jpeg' -> 'boat_1'). */
const stem = (f: string) => f.split(/[\\/]/).pop()!.replace(/\.[^.]+$/, '');

/**
 * Each file's class: the ImageNet class index from '<folder>.tsv' next to the gallery folder when
 * there is one (imagenet-samples.tsv: file, synset, class_index, class_name), else the file stem
 * without a trailing '_<number>' ('boat_1' -> 'boat'). Classes are ordered by index / name, so the
 * colours of neighbouring ImageNet classes (the dogs, 151-268) are close.
 */
export async function fileClasses(files: readonly string[]): Promise<{ classOf: number[]; classes: string[] }> {
  const table = new Map<string, [number, string]>();
  if (isNode()) {
    const fsName = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
    for (const dir of new Set(files.map((f) => f.replace(/[\\/][^\\/]*$/, '')))) {
      const text = await fs.readFile(`${dir}.tsv`, 'utf8').catch(() => '');
      for (const line of text.split(/\r?\n/).slice(1)) {
        const [file, , index, name] = line.split('\t');
        if (file && index !== undefined) table.set(stem(file), [Number(index), (name ?? '').split(',')[0]]);
      }
    }
  }
  const key = files.map((f) => table.get(stem(f)) ?? [Infinity, stem(f).replace(/_\d+$/, '')] as [number, string]);
  const names = [...new Map(key.map(([i, s]) => [s, i])).entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([s]) => s);
  const index = new Map(names.map((s, i) => [s, i]));
  return { classOf: key.map(([, s]) => index.get(s)!), classes: names };
}

function mosaic(r: EmbedResult): RgbaImage {
  const out = createImage(r.cols * r.tile, r.rows * r.tile, [16, 16, 16, 255]);
  r.cells.forEach((c, i) => blit(out, r.thumbnails[i], (c % r.cols) * r.tile, Math.floor(c / r.cols) * r.tile));
  return out;
}

function scatter(r: EmbedResult, size = 512, dot = 7): RgbaImage {
  const out = createImage(size, size, [250, 250, 250, 255]);
  const lut = colormap('viridis');
  const n = r.files.length;
  const xs = Array.from({ length: n }, (_, i) => r.coords[2 * i]);
  const ys = Array.from({ length: n }, (_, i) => r.coords[2 * i + 1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const m = dot + 4;
  for (let i = 0; i < n; i++) {
    const px = Math.round(m + ((xs[i] - x0) / (x1 - x0 || 1)) * (size - 2 * m));
    const py = Math.round(m + ((ys[i] - y0) / (y1 - y0 || 1)) * (size - 2 * m));
    const [cr, cg, cb] = colorAt(lut, r.classes.length > 1 ? r.classOf[i] / (r.classes.length - 1) : 0.5);
    for (let y = py - (dot >> 1); y <= py + (dot >> 1); y++) {
      for (let x = px - (dot >> 1); x <= px + (dot >> 1); x++) out.rgba.set([cr, cg, cb, 255], (y * size + x) * 4);
    }
  }
  return out;
}

export const embed: Technique<EmbedOptions, EmbedResult> = {
  name: 'embed',
  title: 'Feature maps: PCA and t-SNE',
  group: 'gallery',
  description:
    "A gallery's features at a layer mapped to 2-D by PCA or t-SNE (van der Maaten & Hinton 2008; CS231n lecture 12), shown as a mosaic of the images at their positions snapped to a grid (Karpathy's CNN-codes picture) and as a scatter coloured by class. t-SNE follows tsne.py (perplexity by binary search, early exaggeration 4 for 100 iterations, momentum 0.5 / 0.8, gains) with the exact O(N^2) gradient on the GPU: measured on SwiftShader (2 shared CPU cores) at about 10 ms per iteration for N = 200 and 90 ms for N = 1000 (1000 iterations: 1.5 minutes), growing as N^2: past about 2000-3000 points (0.4-0.8 s per iteration, 10+ minutes per map, and an N x N P of 4 N^2 bytes) exact t-SNE stops being fine there and a Barnes-Hut or FFT approximation is needed.",
  needsImage: false,
  options: [
    ...GALLERY_OPTIONS,
    { kind: 'enum', name: 'method', choices: EMBED_METHODS, default: 'tsne', help: 'tsne (neighbourhoods) or pca (the two directions of largest variance)' },
    layerOption('feature layer (default: the last feature layer before the classifier)'),
    { kind: 'enum', name: 'pool', choices: GALLERY_POOLS, default: 'flatten', help: 'spatial layers: flatten every value, or the average / maximum over positions per channel' },
    { kind: 'number', name: 'perplexity', default: 30, min: 1, help: 't-SNE perplexity (tsne.py: 30); at most (N - 1) / 3 is used' },
    { kind: 'int', name: 'iterations', default: 1000, min: 1, help: 't-SNE gradient steps (tsne.py: 1000)' },
    { kind: 'number', name: 'learningRate', default: 500, min: 0, help: 't-SNE learning rate (tsne.py: 500)' },
    { kind: 'int', name: 'seed', default: 0, min: 0, help: 'seed of the t-SNE initial points (the same seed gives the same map)' },
    { kind: 'int', name: 'tile', default: 32, min: 4, help: 'mosaic tile size in pixels' },
  ],
  async run(ctx, o) {
    const t0 = performance.now();
    const { model } = ctx;
    const layer = resolveLayer(model, o.layer, 'embed', { fallback: defaultFeatureLayer(model) }).name;
    const g = await techniqueGallery(ctx, o, layer, o.pool);
    const n = g.files.length;
    if (n < 3) throw new Error(`embed: needs at least 3 gallery images, got ${n}`);
    let coords: Float32Array;
    let details: Record<string, unknown>;
    if (o.method === 'pca') {
      const p = await pca(model.rt, g.features, n, g.dim, 2);
      coords = Float32Array.from(p.coords);
      details = { variance: Array.from(p.variance), explained: Array.from(p.explained), matrix: p.method, iterations: p.iterations };
    } else {
      const perplexity = Math.min(o.perplexity, (n - 1) / 3);
      const t = await tsne(model.rt, g.features, n, g.dim, { perplexity, iterations: o.iterations, learningRate: o.learningRate, seed: o.seed, signal: ctx.signal });
      coords = t.coords;
      details = { perplexity, perplexityAsked: o.perplexity, entropyError: t.entropyError, msP: Math.round(t.msP), msPerIteration: Math.round(t.msPerIteration * 100) / 100, iterations: o.iterations, learningRate: o.learningRate, seed: o.seed };
    }
    const cols = Math.ceil(Math.sqrt(n));
    const rows = Math.ceil(n / cols);
    const thumbnails: RgbaImage[] = [];
    for await (const b of inputBatches(model, g.items, { batch: o.batch, tile: o.tile, signal: ctx.signal })) thumbnails.push(...b.pictures);
    const { classOf, classes } = await fileClasses(g.files);
    return { method: o.method, layer, files: g.files, coords, classOf, classes, cells: snapToGrid(coords, n, cols, rows), cols, rows, thumbnails, tile: o.tile, details, ms: since(t0) };
  },
  present(r) {
    const n = r.files.length;
    return {
      views: [
        { suffix: '', meaning: `the ${n} gallery images at their ${r.method} positions of '${r.layer}' features, snapped to a ${r.cols} x ${r.rows} grid without overlaps`, image: mosaic(r) },
        { suffix: 'scatter', meaning: `the ${r.method} map of '${r.layer}' as points coloured by class (viridis over ${r.classes.length} classes in class order)`, image: scatter(r) },
      ],
      raw: { data: r.coords, shape: [n, 2], meaning: `${r.method} coordinates (N, 2) of '${r.layer}' features, row i = files[i]` },
      summary: {
        method: r.method, layer: r.layer, count: n, grid: [r.cols, r.rows], ms: r.ms, ...r.details,
        points: r.files.map((file, i) => ({ file, class: r.classes[r.classOf[i]], x: r.coords[2 * i], y: r.coords[2 * i + 1], cell: r.cells[i] })),
      },
    };
  },
};
