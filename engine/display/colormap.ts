// Colour maps as 256-entry RGB lookup tables.
//   - 'inferno', 'viridis': matplotlib's perceptually uniform maps (luminance rises monotonically
//     from 0 to 1), from ten stops of matplotlib's tables, within a few 1/255 of them;
//   - 'gray': black to white;
//   - 'coolwarm': a diverging map for signed values (blue for negative, white at 0.5, red for
//     positive), ColorBrewer RdBu (11 classes) reversed, interpolated linearly in sRGB; its
//     luminance rises from either end to the centre.

export const COLORMAPS = ['inferno', 'viridis', 'gray', 'coolwarm'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

/**
 * Colour stops, evenly spaced from t = 0 to t = 1, interpolated linearly in sRGB. inferno and
 * viridis: matplotlib's maps (CC0, Smith, van der Walt and Firing) at t = k / 9, as R's
 * viridisLite prints them; coolwarm: ColorBrewer RdBu-11, from the negative (blue) end.
 */
const STOPS: Record<Exclude<ColormapName, 'gray'>, string[]> = {
  inferno: ['000004', '1b0c42', '4b0c6b', '781c6d', 'a52c60', 'cf4446', 'ed6925', 'fb9a06', 'f7d03c', 'fcffa4'],
  viridis: ['440154', '482878', '3e4989', '31688e', '26828e', '1f9e89', '35b779', '6ece58', 'b5de2b', 'fde725'],
  coolwarm: ['053061', '2166ac', '4393c3', '92c5de', 'd1e5f0', 'f7f7f7', 'fddbc7', 'f4a582', 'd6604d', 'b2182b', '67001f'],
};

const tables = new Map<ColormapName, Uint8Array>();

function build(name: ColormapName): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  const stops = name === 'gray' ? [[0, 0, 0], [255, 255, 255]] : STOPS[name].map((h) => [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)));
  for (let i = 0; i < 256; i++) {
    const f = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(f));
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(stops[k][c] + (stops[k + 1][c] - stops[k][c]) * (f - k));
  }
  return lut;
}

/** The 256 x RGB table of a colour map (entry i is the colour of i / 255). */
export function colormap(name: ColormapName): Uint8Array {
  if (!COLORMAPS.includes(name)) throw new Error(`unknown colour map '${name}' (colour maps: ${COLORMAPS.join(', ')})`);
  let lut = tables.get(name);
  if (!lut) tables.set(name, (lut = build(name)));
  return lut;
}

/** The colour of t in [0, 1] (clamped; NaN gives 0). */
export function colorAt(lut: Uint8Array, t: number): [number, number, number] {
  const i = Number.isNaN(t) ? 0 : Math.max(0, Math.min(255, Math.round(t * 255)));
  return [lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]];
}

/** Relative luminance (Rec. 709, on linearized sRGB) of an 8-bit RGB colour, 0..1. */
export function luminance(r: number, g: number, b: number): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
