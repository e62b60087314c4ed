// Presentation pieces shared by the techniques (built on engine/display): an attribution map as
// an overlay on the input and as a heat map with its colour scale, a signed input gradient as an
// RGB picture, small maps upscaled into readable tiles, and the target's summary fields.

import {
  grid, heatmap, normalize, overlay, percentile, resize, resizeMap, rgbFromPlanes, upscaleFactor, withColorScale,
  type HeatmapOptions, type RgbaImage,
} from '../display/index';
import type { Target } from './resolve';
import type { View } from './technique';

/** Tiles smaller than this (in pixels, larger side) are upscaled by an integer factor. */
export const TILE_TARGET = 64;
/** Whole-image views smaller than this are upscaled by an integer factor. */
export const VIEW_TARGET = 256;

/**
 * A (h, w) attribution map as two views: '' the map over the image (weak regions keep the image),
 * 'heatmap' the map alone with a colour scale. Values are clipped at the 99th percentile.
 */
export function mapViews(input: RgbaImage, map: Float32Array, w: number, h: number, what: string, opts: HeatmapOptions = {}): View[] {
  const style: HeatmapOptions = { normalize: 'percentile', percentiles: [0, 99], ...opts };
  // Small inputs (TinyVGG's 64x64) are shown enlarged, by an integer factor.
  const f = upscaleFactor(input.width, input.height, VIEW_TARGET);
  const image = f === 1 ? input : resize(input, input.width * f, input.height * f, 'nearest');
  const heat = heatmap(map, w, h, { ...style, width: image.width, height: image.height, resize: 'nearest' });
  const weight = normalize(map, style.normalize, style).values;
  const wImg = w === input.width && h === input.height ? resizeMap(weight, w, h, image.width, image.height, 'nearest') : undefined;
  return [
    { suffix: '', meaning: `${what} over the input image (colour = ${what}, clipped at the 99th percentile)`, image: overlay(image, heat, 0.7, wImg) },
    { suffix: 'heatmap', meaning: `${what} alone, with its colour scale (values in the map's units)`, image: withColorScale(heat) },
  ];
}

/**
 * A signed (3, h, w) input gradient as RGB: 0 is mid-gray, +-m (m = the 99.5th percentile of
 * |g|) saturate; `channelOrder` is the model's, turned into RGB.
 */
export function gradientImage(g: ArrayLike<number>, w: number, h: number, channelOrder: 'rgb' | 'bgr'): RgbaImage {
  const m = percentile(Float32Array.from(g, Math.abs), 99.5) || 1;
  const clipped = Float32Array.from(g, (v) => Math.max(-m, Math.min(m, v)));
  return rgbFromPlanes(clipped, w, h, channelOrder, [-m, m]);
}

/** A tile upscaled (nearest, integer factor) so small maps and kernels are visible. */
export function enlarge(tile: RgbaImage, target = TILE_TARGET): RgbaImage {
  const f = upscaleFactor(tile.width, tile.height, target);
  return f === 1 ? tile : resize(tile, tile.width * f, tile.height * f, 'nearest');
}

/** Tiles in a labelled grid. */
export function tileGrid(tiles: RgbaImage[], labels: string[], target = TILE_TARGET): RgbaImage {
  return grid(tiles.map((t) => enlarge(t, target)), { labels, pad: 3 });
}

/** The summary fields every class-based technique reports. */
export function targetSummary(t: Target): Record<string, unknown> {
  return {
    class: { index: t.index, label: t.label, logit: t.logit, prob: t.prob },
    score: t.score,
    scoreLayer: t.seedLayer,
    top5: t.top,
  };
}

/** Milliseconds since `t0` (performance.now), to 0.1 ms. */
export function since(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}
