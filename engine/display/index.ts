// Shared display functions: what techniques' results become for people (colour maps, heat maps,
// overlays, grids, colour scales, RGB from network tensors) and files (PNG, .npy). Pure
// TypeScript, no DOM and no node: imports; the CLI (scripts/cli/) and the app (ui/) both use it.

export { COLORMAPS, colormap, colorAt, luminance, type ColormapName } from './colormap';
export { NORMALIZATIONS, normalize, normalizeRange, extent, percentile, type Normalization, type Normalized, type NormalizeOptions } from './normalize';
export { createImage, resize, resizeMap, blit, upscaleFactor, type RgbaImage, type ResizeMode } from './image';
export { heatmap, overlay, colorScale, withColorScale, type HeatmapImage, type HeatmapOptions, type ColorScaleOptions } from './heatmap';
export { grid, type GridOptions } from './grid';
export { drawText, textWidth, formatNumber } from './font';
export { rgbFromTensor, rgbFromPlanes, type InputTransform } from './tensor';
export { encodePng, crc32 } from './png';
export { encodeNpy, decodeNpy } from './npy';
