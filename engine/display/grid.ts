// Tiles (filters, channels, one picture per class) laid out in a grid, with optional labels.

import { drawText, GLYPH_H, textWidth } from './font';
import { blit, createImage, type RgbaImage } from './image';

export interface GridOptions {
  /** Columns (default ceil(sqrt(n))). */
  cols?: number;
  /** Pixels between tiles and around the grid (default 2). */
  pad?: number;
  /** Background RGB(A) (default dark gray). */
  bg?: readonly number[];
  /** One label per tile, drawn under it (clipped to the tile's width). */
  labels?: readonly string[];
  labelColor?: readonly number[];
  /** Font scale of the labels (default 1). */
  labelScale?: number;
}

/** Tiles of any sizes in a grid of cells as large as the largest tile, row by row. */
export function grid(tiles: readonly RgbaImage[], opts: GridOptions = {}): RgbaImage {
  if (tiles.length === 0) throw new Error('grid: no tiles');
  const { labels } = opts;
  if (labels && labels.length !== tiles.length) throw new Error(`grid: ${labels.length} labels for ${tiles.length} tiles`);
  const cols = Math.max(1, Math.min(tiles.length, opts.cols ?? Math.ceil(Math.sqrt(tiles.length))));
  if (!Number.isInteger(cols)) throw new Error(`grid: cols must be an integer, got ${opts.cols}`);
  const rows = Math.ceil(tiles.length / cols);
  const pad = opts.pad ?? 2;
  const ls = opts.labelScale ?? 1;
  const labelH = labels ? GLYPH_H * ls + 2 : 0;
  const cw = Math.max(...tiles.map((t) => t.width), labels ? Math.max(...labels.map((l) => textWidth(l, ls))) : 0);
  const ch = Math.max(...tiles.map((t) => t.height)) + labelH;
  const out = createImage(pad + cols * (cw + pad), pad + rows * (ch + pad), opts.bg ?? [32, 32, 32]);
  tiles.forEach((t, i) => {
    const x = pad + (i % cols) * (cw + pad);
    const y = pad + Math.floor(i / cols) * (ch + pad);
    blit(out, t, x + Math.floor((cw - t.width) / 2), y);
    if (labels) drawText(out, labels[i], x + Math.max(0, Math.floor((cw - textWidth(labels[i], ls)) / 2)), y + ch - labelH + 2, opts.labelColor ?? [230, 230, 230], ls);
  });
  return out;
}
