// gallery-features: a layer's features for a whole gallery, as the float32 .npy (N, D) plus the
// file list in summary.json (gallery.ts does the work and the caching). Also the options every
// gallery technique shares (--gallery, --limit, --cache, --batch) and how they become images and a
// store: in Node a folder / list file and a cache folder, in a browser URLs and IndexedDB.

import { defaultFeatureLayer, extractGalleryFeatures, formatProgress, GALLERY_POOLS, type GalleryFeatures, type GalleryOptions, type GalleryPool, type GalleryProgress } from './gallery';
import { defaultGalleryUrls, isNode, nodeGallery, urlGallery, type GalleryItem } from './gallery_source';
import { DirectoryStore, IndexedDbStore, type FeatureStore } from './gallery_store';
import { layerOption } from './resolve';
import type { OptionSpec, Technique, TechniqueContext } from './technique';

/** The default cache folder in Node (relative to the working directory). */
export const DEFAULT_CACHE_DIR = 'results/cache/gallery';

export const GALLERY_OPTIONS: readonly OptionSpec[] = [
  { kind: 'string', name: 'gallery', default: '', help: 'images: a folder, a list file (one path per line) or image files, comma-separated (default: the 1000 shared ImageNet samples)' },
  { kind: 'int', name: 'limit', default: 0, min: 0, help: 'use only the first N gallery images (0 = all)' },
  { kind: 'string', name: 'cache', default: '', help: `feature cache: a folder (default ${DEFAULT_CACHE_DIR}; IndexedDB in a browser), or 'off'` },
  { kind: 'int', name: 'batch', default: 8, min: 1, help: 'images per forward pass' },
];

export interface GallerySourceOptions {
  gallery: string;
  limit: number;
  cache: string;
  batch: number;
}

/** The gallery's images and the cache the options name (Node: files; browser: comma-separated URLs). */
export async function galleryFromOptions(o: GallerySourceOptions): Promise<{ items: GalleryItem[]; store?: FeatureStore }> {
  const store = o.cache === 'off' ? undefined : isNode() ? new DirectoryStore(o.cache || DEFAULT_CACHE_DIR) : new IndexedDbStore(o.cache || undefined);
  if (isNode()) return { items: await nodeGallery(o.gallery, o.limit), store };
  let urls = o.gallery.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (urls.length === 0) urls = await defaultGalleryUrls();
  if (urls.length === 0) throw new Error('gallery: give the image URLs (comma-separated): this page has no default gallery');
  return { items: urlGallery(o.limit > 0 ? urls.slice(0, o.limit) : urls), store };
}

/**
 * Runs the extraction for a technique: the gallery and cache its options name, its context's
 * signal and progress; also returns the gallery's items (to read winners again).
 */
export async function techniqueGallery(ctx: TechniqueContext, o: GallerySourceOptions, layer: string, pool: GalleryPool): Promise<GalleryFeatures & { items: GalleryItem[] }> {
  const { items, store } = await galleryFromOptions(o);
  const onProgress = (p: GalleryProgress) => {
    ctx.onProgress?.(p.done, p.total);
    (ctx as GalleryContext).onGalleryProgress?.(p);
  };
  const opts: GalleryOptions = { layer, pool, batch: o.batch, store, signal: ctx.signal, onProgress };
  return { ...(await extractGalleryFeatures(ctx.model, items, opts)), items };
}

/** A technique context that also wants the detailed gallery progress (cached / computed / time left). */
export interface GalleryContext extends TechniqueContext {
  onGalleryProgress?: (p: GalleryProgress) => void;
}

export interface GalleryFeaturesOptions extends GallerySourceOptions, Record<string, string | number> {
  layer: string;
  pool: (typeof GALLERY_POOLS)[number];
}

export const galleryFeatures: Technique<GalleryFeaturesOptions, GalleryFeatures> = {
  name: 'gallery-features',
  title: 'Gallery features',
  group: 'gallery',
  description:
    "One layer's features for every image of a gallery (CS231n lecture 12: the last layer's codes, nearest neighbours, t-SNE), cached by model, layer, pooling, preprocessing and each image's content: a second run is instant, a changed image is recomputed, an interrupted run resumes.",
  needsImage: false,
  options: [
    ...GALLERY_OPTIONS,
    layerOption('feature layer (default: the last feature layer before the classifier: AlexNet fc7, GoogLeNet pool5/7x7_s1, SqueezeNet pool10)'),
    { kind: 'enum', name: 'pool', choices: GALLERY_POOLS, default: 'flatten', help: 'spatial layers: flatten every value, or the average / maximum over positions per channel' },
  ],
  async run(ctx, o) {
    const { items: _items, ...f } = await techniqueGallery(ctx, o, o.layer || defaultFeatureLayer(ctx.model), o.pool);
    return f;
  },
  present(r) {
    const n = r.files.length;
    return {
      views: [],
      raw: { data: r.features, shape: [n, r.dim], meaning: `features of '${r.layer}' (${r.pool}) per gallery image (N, D), row i = files[i]` },
      summary: {
        layer: r.layer, pool: r.pool, layerShape: r.layerShape, dim: r.dim, count: n,
        cache: { store: r.store, group: r.group, cached: r.cached, computed: r.computed, forwardPasses: r.forwardPasses },
        progress: formatProgress({ done: n, total: n, cached: r.cached, computed: r.computed, elapsedMs: r.ms, etaMs: 0 }),
        ms: Math.round(r.ms), files: r.files, hashes: r.hashes,
      },
    };
  },
};
