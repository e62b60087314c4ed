// top-patches: maximally activating patches (Zeiler & Fergus 2014; CS231n lecture 12). For a layer
// and a channel (or the K most selective channels), the k gallery images whose strongest unit of
// that channel fires most, each cropped at the EXACT receptive field of that unit
// (receptive_field.ts: a concat channel has its own branch's field), padded with mid-gray where
// the field reaches past the image. One gallery pass (gallery.ts, pool 'max-argmax', cached) gives
// per image and channel the maximum over positions and where it is; only the k winners per channel
// are decoded again for their crops, from the network's own input (resized and center-cropped).
//
// Selectivity of a channel over the gallery: (mean of its top-k maxima - mean of all its maxima) /
// (standard deviation of its maxima); a channel that fires the same on every image scores 0.

import { createImage, formatNumber, rgbFromTensor, type RgbaImage } from '../display/index';
import { decodeImage } from '../io/decode';
import type { Model } from '../models/graph';
import type { Chw } from '../models/shapes';
import type { GalleryFeatures } from './gallery';
import { GALLERY_OPTIONS, techniqueGallery, type GallerySourceOptions } from './gallery_features';
import { since, tileGrid } from './present';
import { channelField, fieldBox, receptiveFields, type ChannelField, type LayerFields } from './receptive_field';
import { layerOption, resolveChannel, resolveLayer } from './resolve';
import type { Technique } from './technique';

export interface TopPatchesOptions extends GallerySourceOptions, Record<string, string | number> {
  layer: string;
  channel: number;
  channels: number;
  k: number;
}

export interface Patch {
  /** Rank (0 = strongest) and the gallery image. */
  rank: number;
  file: string;
  index: number;
  /** The channel's maximum over positions in that image, and where (layer coordinates). */
  activation: number;
  y: number;
  x: number;
  /** The field in network-input pixels [y0, x0, y1, x1], inclusive (outside 0..H-1 is padding). */
  box: [number, number, number, number];
  /** The field's pixels (size[1] x size[0]). */
  crop: RgbaImage;
}

export interface ChannelPatches {
  channel: number;
  selectivity: number;
  field: ChannelField;
  patches: Patch[];
}

export interface TopPatchesResult {
  layer: string;
  layerShape: Chw;
  channels: ChannelPatches[];
  gallery: Pick<GalleryFeatures, 'group' | 'store' | 'cached' | 'computed' | 'forwardPasses'> & { count: number };
  ms: number;
}

/** Gray shown where a field reaches past the image. */
const PAD_GRAY = 128;

/**
 * The default layer: the last conv / pool / concat layer whose field is at most half the input
 * side (patches still show a part of the image: AlexNet conv3, SqueezeNet fire5, TinyVGG max_pool_2).
 */
export function defaultPatchLayer(fields: readonly LayerFields[], inputSide: number): string {
  const spatial = fields.filter((l) => ['conv', 'maxpool', 'avgpool', 'concat'].includes(l.type) && l.shape[1] > 1);
  const fits = spatial.filter((l) => Math.max(...l.fields.map((f) => Math.max(...f.size))) <= inputSide / 2);
  return (fits.at(-1) ?? spatial[0] ?? fields[fields.length - 1]).name;
}

/** Per channel: (mean of the top-k maxima - mean of all) / std of all, over the gallery. */
export function selectivity(maxima: Float32Array, n: number, c: number, k: number): Float64Array {
  const out = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const v = Array.from({ length: n }, (_, i) => maxima[i * 2 * c + ch]).sort((a, b) => b - a);
    const mean = v.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    const top = v.slice(0, k).reduce((s, x) => s + x, 0) / Math.min(k, n);
    out[ch] = sd > 0 ? (top - mean) / sd : 0;
  }
  return out;
}

/** The pixels of `box` (inclusive) of `img`, mid-gray outside it. */
export function cropBox(img: RgbaImage, [y0, x0, y1, x1]: readonly number[]): RgbaImage {
  const out = createImage(x1 - x0 + 1, y1 - y0 + 1, [PAD_GRAY, PAD_GRAY, PAD_GRAY, 255]);
  for (let y = Math.max(0, y0); y <= Math.min(img.height - 1, y1); y++) {
    const from = (y * img.width + Math.max(0, x0)) * 4;
    const to = (y * img.width + Math.min(img.width - 1, x1) + 1) * 4;
    out.rgba.set(img.rgba.subarray(from, to), ((y - y0) * out.width + Math.max(0, x0) - x0) * 4);
  }
  return out;
}

/** The network input of an image (resized and center-cropped like classification) as RGBA. */
async function inputPicture(model: Model, bytes: Uint8Array, name: string): Promise<RgbaImage> {
  const d = await decodeImage(bytes, name);
  const x = model.preprocess(d.rgba, d.width, d.height);
  try {
    const { height, width, ...t } = model.spec.input;
    return rgbFromTensor(await x.read(), width, height, t);
  } finally {
    x.dispose();
  }
}

export const topPatches: Technique<TopPatchesOptions, TopPatchesResult> = {
  name: 'top-patches',
  title: 'Maximally activating patches',
  group: 'gallery',
  description:
    "The gallery patches that excite a channel most (Zeiler & Fergus 2014): for each chosen channel, the top-k images by the channel's strongest unit, each cropped at that unit's exact receptive field, with the activation values.",
  needsImage: false,
  options: [
    ...GALLERY_OPTIONS,
    layerOption('layer (default: the last conv / pool / concat layer whose receptive field is at most half the input)'),
    { kind: 'channel', name: 'channel', default: -1, help: 'one channel to show (-1 = the --channels most selective ones)' },
    { kind: 'int', name: 'channels', default: 4, min: 1, help: 'how many of the most selective channels to show when --channel is -1' },
    { kind: 'int', name: 'k', default: 9, min: 1, help: 'patches per channel (Zeiler & Fergus show 9)' },
  ],
  async run(ctx, o) {
    const t0 = performance.now();
    const { model } = ctx;
    const { height, width } = model.spec.input;
    const all = receptiveFields(model.spec);
    const layer = resolveLayer(model, o.layer, 'top-patches', { fallback: defaultPatchLayer(all, Math.min(height, width)) });
    const fields = all.find((l) => l.name === layer.name)!;
    const g = await techniqueGallery(ctx, o, layer.name, 'max-argmax');
    const [c, , w] = g.layerShape;
    const n = g.files.length;
    const k = Math.min(o.k, n);
    const sel = selectivity(g.features, n, c, k);
    const chosen = o.channel >= 0
      ? [resolveChannel(layer, o.channel, 'top-patches')]
      : Array.from({ length: c }, (_, ch) => ch).sort((a, b) => sel[b] - sel[a] || a - b).slice(0, Math.min(o.channels, c));
    const pictures = new Map<number, RgbaImage>();
    const channels: ChannelPatches[] = [];
    for (const ch of chosen) {
      const field = channelField(fields, ch);
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => g.features[b * 2 * c + ch] - g.features[a * 2 * c + ch] || a - b);
      const patches: Patch[] = [];
      for (const [rank, i] of order.slice(0, k).entries()) {
        if (!pictures.has(i)) pictures.set(i, await inputPicture(model, await g.items[i].read(), g.files[i]));
        const pos = g.features[i * 2 * c + c + ch];
        const [y, x] = [Math.floor(pos / w), pos % w];
        const box = fieldBox(field, y, x);
        patches.push({ rank, file: g.files[i], index: i, activation: g.features[i * 2 * c + ch], y, x, box, crop: cropBox(pictures.get(i)!, box) });
      }
      channels.push({ channel: ch, selectivity: sel[ch], field, patches });
    }
    return {
      layer: layer.name, layerShape: g.layerShape, channels,
      gallery: { count: n, group: g.group, store: g.store, cached: g.cached, computed: g.computed, forwardPasses: g.forwardPasses },
      ms: since(t0),
    };
  },
  present(r) {
    const k = Math.min(...r.channels.map((c) => c.patches.length));
    return {
      views: r.channels.map((c) => ({
        suffix: `c${c.channel}`,
        meaning: `the ${c.patches.length} gallery patches that excite channel ${c.channel} of '${r.layer}' most, strongest first, each its unit's ${c.field.size[0]}x${c.field.size[1]} receptive field (gray: past the image), labelled with the activation`,
        image: tileGrid(c.patches.map((p) => p.crop), c.patches.map((p) => formatNumber(p.activation))),
      })),
      raw: {
        data: Float32Array.from(r.channels.flatMap((c) => c.patches.slice(0, k).map((p) => p.activation))),
        shape: [r.channels.length, k],
        meaning: `the top-${k} activations (maximum over positions) per shown channel of '${r.layer}', strongest first, channels in the order of summary.channels`,
      },
      summary: {
        layer: r.layer, layerShape: r.layerShape, gallery: r.gallery, ms: r.ms,
        channels: r.channels.map((c) => ({
          channel: c.channel, selectivity: c.selectivity,
          field: { size: c.field.size, stride: c.field.stride, start: c.field.start, channels: c.field.channels },
          patches: c.patches.map(({ crop: _crop, ...p }) => p),
        })),
      },
    };
  },
};
