// Charts of technique results, made from their data (the presentation's summary and raw array),
// drawn by <cnn-chart> (uPlot): deletion / insertion curves (faithfulness), occlusion profiles,
// the embedding scatter (t-SNE / PCA). A technique without a chart gets none.

import type { Presentation } from '../engine/techniques/technique';
import type { ChartSpec } from './cnn-chart';

const COLORS = { deletion: '#e0513b', insertion: '#3b6fe0', randomDeletion: '#e0a23b', randomInsertion: '#6bb2e0' } as const;

function numbers(v: unknown): number[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : null;
}

/** Faithfulness: class probability against the fraction of pixels deleted / inserted, with the random baselines. */
function faithfulnessChart(p: Presentation): ChartSpec | null {
  const f = p.summary.faithfulness as Record<string, unknown> | undefined;
  const fractions = f && numbers(f.fractions);
  if (!f || !fractions) return null;
  const series = (Object.keys(COLORS) as (keyof typeof COLORS)[]).flatMap((k) => {
    const y = numbers(f[k]);
    const auc = f[`${k}Auc`];
    return y && y.length === fractions.length
      ? [{ label: `${k.replace(/[A-Z]/, (c) => ` ${c.toLowerCase()}`)} (AUC ${typeof auc === 'number' ? auc.toFixed(3) : '?'})`, x: fractions, y, color: COLORS[k], dash: k.startsWith('random') }]
      : [];
  });
  return series.length ? { title: 'Deletion / insertion curves', x: { label: 'fraction of pixels changed' }, y: { label: 'class probability' }, series } : null;
}

/** Occlusion: the class probability averaged over each row and each column of patch positions. */
function occlusionCharts(p: Presentation): ChartSpec[] {
  const { data, shape } = p.raw;
  if (shape.length !== 2) return [];
  const [rows, cols] = shape;
  const rowMean = Array.from({ length: rows }, (_, r) => data.subarray(r * cols, (r + 1) * cols).reduce((a, b) => a + b, 0) / cols);
  const colMean = Array.from({ length: cols }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += data[r * cols + c];
    return s / rows;
  });
  const idx = (n: number) => Array.from({ length: n }, (_, i) => i);
  return [{
    title: 'Occlusion profiles', x: { label: 'patch position (row or column index)' }, y: { label: 'mean class probability' },
    series: [
      { label: 'by row (top to bottom)', x: idx(rows), y: rowMean, color: '#3b6fe0', style: 'both' },
      { label: 'by column (left to right)', x: idx(cols), y: colMean, color: '#e0513b', style: 'both' },
    ],
  }];
}

/** An embedding (N, 2): one dot per image. */
function embedChart(p: Presentation): ChartSpec | null {
  const { data, shape } = p.raw;
  if (shape.length !== 2 || shape[1] !== 2) return null;
  const x = Array.from({ length: shape[0] }, (_, i) => data[2 * i]);
  const y = Array.from({ length: shape[0] }, (_, i) => data[2 * i + 1]);
  const method = typeof p.summary.method === 'string' ? p.summary.method : 'embedding';
  return { title: `${method} map of the gallery`, x: { label: `${method} 1` }, y: { label: `${method} 2` }, series: [{ label: 'images', x, y, color: '#3b6fe0', style: 'points', size: 8 }], height: 320 };
}

/** The charts of a technique's result. */
export function chartsFor(technique: string, p: Presentation): ChartSpec[] {
  if (technique === 'faithfulness') return [faithfulnessChart(p)].filter((c): c is ChartSpec => c !== null);
  if (technique === 'occlusion') return occlusionCharts(p);
  if (technique === 'embed') return [embedChart(p)].filter((c): c is ChartSpec => c !== null);
  return [];
}
