// Printing the benchmark table as rows arrive, and writing results/bench-<timestamp>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Timing {
  /** Median ms per iteration, or null when it failed (see error). */
  ms: number | null;
  gflops: number | null;
  samples?: number[];
  error?: string;
}

export interface LayerRow {
  layer: string;
  family: 'conv2d' | 'linear';
  same: string[];
  direction: 'forward' | 'backward';
  shape: string;
  flops: number;
  ours: Record<string, Timing>;
  tfjs: Timing | null;
  /** TF.js ms / our best ms, and / our default variant's ms. */
  ratioBest: number | null;
  ratioDefault: number | null;
}

const fmt = (v: number | null, digits = 1): string => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits));

export function timingCell(t: Timing | null | undefined): string {
  if (!t) return 'n/a';
  if (t.ms === null) return 'error';
  return `${fmt(t.ms, t.ms < 10 ? 2 : 1)} ms ${fmt(t.gflops, 2)} GF/s`;
}

export function layerHeader(variants: readonly string[]): string {
  return [
    'layer'.padEnd(34), 'dir'.padEnd(4), 'shape'.padEnd(44), 'MFLOP'.padStart(8),
    ...variants.map((v) => `ours ${v}`.padStart(22)), 'tfjs'.padStart(22), 'tf/best'.padStart(8), 'tf/dflt'.padStart(8),
  ].join(' ');
}

export function layerLine(r: LayerRow, variants: readonly string[]): string {
  const cells = [
    r.layer.padEnd(34), (r.direction === 'forward' ? 'fwd' : 'bwd').padEnd(4), r.shape.padEnd(44), fmt(r.flops / 1e6).padStart(8),
    ...variants.map((v) => timingCell(r.ours[v]).padStart(22)), timingCell(r.tfjs).padStart(22),
    `${fmt(r.ratioBest, 2)}x`.padStart(8), `${fmt(r.ratioDefault, 2)}x`.padStart(8),
  ];
  const errors = [...Object.entries(r.ours), ['tfjs', r.tfjs] as const]
    .filter(([, t]) => t?.error)
    .map(([k, t]) => `\n    ${k}: ${t!.error}`);
  return cells.join(' ') + errors.join('');
}

export function geomean(xs: readonly number[]): number | null {
  const ok = xs.filter((x) => Number.isFinite(x) && x > 0);
  return ok.length ? Math.exp(ok.reduce((s, x) => s + Math.log(x), 0) / ok.length) : null;
}

/** Write the results as JSON under results/ (gitignored); returns the path. */
export function writeResults(dir: string, data: unknown, date = new Date()): string {
  mkdirSync(dir, { recursive: true });
  const stamp = date.toISOString().replace(/[:.]/g, '-');
  const path = join(dir, `bench-${stamp}.json`);
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
  return path;
}
