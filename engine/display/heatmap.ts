// Float maps as pictures: heat maps through a colour map, overlays on the input image, and the
// colour scale that says what the colours mean.

import { colorAt, colormap, type ColormapName } from './colormap';
import { drawText, formatNumber, GLYPH_H, textWidth } from './font';
import { checkMap, createImage, resize, resizeMap, blit, type ResizeMode, type RgbaImage } from './image';
import { normalize, type Normalization, type NormalizeOptions } from './normalize';

export interface HeatmapOptions extends NormalizeOptions {
  /** Default 'inferno' ('coolwarm' for signed maps with 'symmetric'). */
  colormap?: ColormapName;
  /** Default 'minmax'. */
  normalize?: Normalization;
  /** Output size (the map is resized before colouring); default the map's own size. */
  width?: number;
  height?: number;
  /** How the map is resized (default 'bilinear'; 'nearest' shows the cells). */
  resize?: ResizeMode;
}

/** A heat map, with the data range and colour map it was drawn with (for a colour scale). */
export interface HeatmapImage extends RgbaImage {
  lo: number;
  hi: number;
  colormap: ColormapName;
}

/** values (h x w, row-major) -> a colour-mapped picture. */
export function heatmap(values: ArrayLike<number>, w: number, h: number, opts: HeatmapOptions = {}): HeatmapImage {
  checkMap('heatmap', values, w, h);
  const name = opts.colormap ?? (opts.normalize === 'symmetric' ? 'coolwarm' : 'inferno');
  const lut = colormap(name);
  // Normalize on the original map (so percentiles and ranges do not depend on the output size).
  const n = normalize(values, opts.normalize ?? 'minmax', opts);
  const ow = opts.width ?? w;
  const oh = opts.height ?? h;
  const t = ow === w && oh === h ? n.values : resizeMap(n.values, w, h, ow, oh, opts.resize ?? 'bilinear');
  const img = createImage(ow, oh);
  const px = img.rgba;
  for (let i = 0; i < t.length; i++) {
    // colorAt's index, inlined (no array per pixel).
    const v = t[i];
    const k = 3 * (Number.isNaN(v) ? 0 : Math.max(0, Math.min(255, Math.round(v * 255))));
    px[i * 4] = lut[k];
    px[i * 4 + 1] = lut[k + 1];
    px[i * 4 + 2] = lut[k + 2];
  }
  return { ...img, lo: n.lo, hi: n.hi, colormap: name };
}

/**
 * `heat` blended over `image`: out = (1 - a) * image + a * heat, a = alpha (times `weight[i]` in
 * [0, 1] when given, e.g. the normalized map, so weak regions keep the image). `heat` is resized
 * to the image when their sizes differ.
 */
export function overlay(image: RgbaImage, heat: RgbaImage, alpha = 0.5, weight?: ArrayLike<number>): RgbaImage {
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlay: alpha must be in [0, 1], got ${alpha}`);
  const { width, height } = image;
  if (weight) checkMap('overlay weight', weight, width, height);
  const hm = heat.width === width && heat.height === height ? heat : resize(heat, width, height, 'bilinear');
  const out = createImage(width, height);
  for (let i = 0; i < width * height; i++) {
    const a = alpha * (weight ? Math.max(0, Math.min(1, weight[i])) : 1);
    for (let c = 0; c < 3; c++) out.rgba[i * 4 + c] = Math.round((1 - a) * image.rgba[i * 4 + c] + a * hm.rgba[i * 4 + c]);
  }
  return out;
}

export interface ColorScaleOptions {
  /** Length of the bar along the colour axis (default 256). */
  length?: number;
  /** Thickness of the bar (default 16). */
  thickness?: number;
  /** Text scale (font pixels per glyph pixel, default 2). */
  textScale?: number;
  bg?: readonly number[];
  fg?: readonly number[];
}

/** A vertical colour bar, hi at the top, lo at the bottom, labelled with the values at both ends and the middle. */
export function colorScale(name: ColormapName, lo: number, hi: number, opts: ColorScaleOptions = {}): RgbaImage {
  const len = opts.length ?? 256;
  const thick = opts.thickness ?? 16;
  const ts = opts.textScale ?? 2;
  const labels = [hi, (lo + hi) / 2, lo].map(formatNumber);
  const lh = GLYPH_H * ts;
  const margin = Math.ceil(lh / 2);
  const width = thick + 4 + Math.max(...labels.map((l) => textWidth(l, ts))) + 2;
  const img = createImage(width, len + 2 * margin, opts.bg ?? [0, 0, 0]);
  const lut = colormap(name);
  for (let y = 0; y < len; y++) {
    const rgb = colorAt(lut, len === 1 ? 1 : 1 - y / (len - 1));
    for (let x = 0; x < thick; x++) img.rgba.set(rgb, ((y + margin) * width + x) * 4);
  }
  labels.forEach((l, k) => drawText(img, l, thick + 4, margin + Math.round((k * (len - 1)) / 2) - Math.floor(lh / 2), opts.fg ?? [255, 255, 255], ts));
  return img;
}

/** A heat map with its colour scale to the right, the bar as tall as the map. */
export function withColorScale(heat: HeatmapImage, opts: ColorScaleOptions = {}): RgbaImage {
  const bar = colorScale(heat.colormap, heat.lo, heat.hi, { length: heat.height, ...opts });
  const margin = (bar.height - heat.height) / 2;
  const gap = 8;
  const out = createImage(heat.width + gap + bar.width, bar.height, opts.bg ?? [0, 0, 0]);
  blit(out, heat, 0, margin);
  blit(out, bar, heat.width + gap, 0);
  return out;
}
