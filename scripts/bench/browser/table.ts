// The stdout table of `npm run bench:browser`, one line per row as the page measures it.

import type { BrowserRow, EngineTiming } from './types';

const fmt = (v: number | null | undefined, digits = 2): string => (v == null || !Number.isFinite(v) ? '-' : v.toFixed(digits));

function cell(t: EngineTiming | null | undefined): string {
  if (!t) return 'n/a';
  if (t.ms === null) return /^(skipped|unavailable)\b/.exec(t.error ?? '')?.[0] ?? 'error';
  // Technique rows count no FLOPs or bytes: ms and spread only.
  const rates = t.gflops == null && t.gbps == null ? '' : ` ${fmt(t.gflops)} GF/s ${fmt(t.gbps)} GB/s`;
  return `${fmt(t.ms, t.ms < 10 ? 3 : 1)} ms ±${fmt((t.spread ?? 0) * 50, 0)}%${rates}`;
}

export function header(): string {
  return [
    'case'.padEnd(44), 'dir'.padEnd(8), 'shape'.padEnd(46), 'ours (default variant)'.padStart(42), 'tfjs webgpu'.padStart(42), 'tf/ours'.padStart(8),
  ].join(' ');
}

export function line(r: BrowserRow): string {
  const dir = r.direction === 'forward' ? 'fwd' : r.direction === 'backward' ? 'bwd' : 'fwd+bwd';
  const out = [
    r.id.padEnd(44), dir.padEnd(8), r.shape.padEnd(46), cell(r.ours).padStart(42), cell(r.tfjs).padStart(42), `${fmt(r.ratio)}x`.padStart(8),
  ].join(' ');
  const variants = r.variants && Object.keys(r.variants).length > 1
    ? `\n    variants: ${Object.entries(r.variants).map(([v, t]) => `${v}${v === r.variant ? '*' : ''} ${t.ms === null ? 'error' : `${fmt(t.ms, 3)} ms`}`).join(', ')}; tf/best ${fmt(r.ratioBest)}x`
    : '';
  const errors = [['ours', r.ours] as const, ['tfjs', r.tfjs] as const, ...Object.entries(r.variants ?? {})]
    .filter(([, t]) => t?.error)
    .map(([k, t]) => `\n    ${k}: ${t!.error}`);
  return out + variants + [...new Set(errors)].join('') + replayLine(r) + ortLine(r);
}

/** Network rows: our pass as a replayed capture (rt.capture) on a line of its own. */
function replayLine(r: BrowserRow): string {
  const t = r.oursReplayed;
  if (!t) return '';
  if (t.ms === null) return `\n    ours replayed: ${t.error ?? 'error'}`;
  const diff = r.replayMaxAbsDiff === 0 ? '0 (bit-identical)' : r.replayMaxAbsDiff == null ? '-' : r.replayMaxAbsDiff.toExponential(1);
  const ort = r.ort?.ms ? `; ort/replayed (both wall) ${fmt(r.ratioOrtReplayed)}x` : '';
  return `\n    ours replayed (rt.capture): ${cell(t)}; wall ${fmt(t.wallMs, 1)} ms; ours/replayed ${fmt(r.ratioReplayed)}x; tf/replayed ${fmt(r.ratioTfjsReplayed)}x${ort}; ` +
    `${r.replayDispatches} dispatches, ${r.replayBindGroups} bind groups created; ${r.direction === 'forward' ? 'logits' : 'input gradient'} max |replayed - ordinary| ${diff}`;
}

/** Network forward rows: ONNX Runtime Web's WebGPU EP on a line of its own (ort.ts). */
function ortLine(r: BrowserRow): string {
  if (!r.ort) return '';
  if (r.ort.ms === null) return `\n    onnxruntime-web webgpu: ${r.ort.error ?? 'error'}`;
  const e = (v: number | null | undefined) => (v == null ? '-' : v.toExponential(1));
  return `\n    onnxruntime-web webgpu (wall): ${cell(r.ort)}; ours (wall) ${fmt(r.ours.wallMs, 1)} ms; ort/ours (both wall) ${fmt(r.ratioOrt)}x; ` +
    `logits max |ort - ours| ${e(r.ortMaxAbsDiff)} (max |logit| ${e(r.ortMaxAbsLogit)})${r.ortNote ? `\n    ort note: ${r.ortNote}` : ''}`;
}
