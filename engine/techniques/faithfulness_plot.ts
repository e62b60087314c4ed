// Deletion / insertion curves (faithfulness.ts) as a picture: a line plot of class probability
// against the fraction of pixels changed, with the four AUCs as a legend.

import { drawText, GLYPH_H } from '../display/font';
import { createImage, type RgbaImage } from '../display/image';
import type { Curve, FaithfulnessScores } from './faithfulness';

/** The curves as a line plot: deletion red, insertion green, random orders dimmed; AUCs in the legend. */
export function curvePlot(f: FaithfulnessScores, size = 320): RgbaImage {
  const pad = 24;
  const img = createImage(size + 2 * pad, size + 2 * pad + 4 * (GLYPH_H * 2 + 4), [24, 24, 24]);
  const put = (x: number, y: number, rgb: readonly number[]) => {
    if (x >= 0 && y >= 0 && x < img.width && y < img.height) img.rgba.set(rgb, (y * img.width + x) * 4);
  };
  for (let i = 0; i <= size; i++) {
    put(pad + i, pad + size, [160, 160, 160]);
    put(pad, pad + i, [160, 160, 160]);
  }
  const lines: [string, Curve, number[]][] = [
    ['deletion', f.deletion, [240, 80, 60]],
    ['insertion', f.insertion, [80, 220, 90]],
    ['random deletion', f.randomDeletion, [140, 70, 60]],
    ['random insertion', f.randomInsertion, [70, 120, 75]],
  ];
  for (const [, c, rgb] of lines) {
    const at = (i: number) => [pad + Math.round(f.fractions[i] * size), pad + Math.round((1 - c.probs[i]) * size)];
    for (let i = 0; i + 1 < c.probs.length; i++) {
      const [x0, y0] = at(i);
      const [x1, y1] = at(i + 1);
      const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
      for (let t = 0; t <= n; t++) put(Math.round(x0 + ((x1 - x0) * t) / n), Math.round(y0 + ((y1 - y0) * t) / n), rgb);
    }
  }
  lines.forEach(([name, c, rgb], k) => drawText(img, `${name} auc ${c.auc.toFixed(3)}`, pad, 2 * pad + size + k * (GLYPH_H * 2 + 4), rgb, 2));
  return img;
}
