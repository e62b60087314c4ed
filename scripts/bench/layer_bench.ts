// Part one: every benchmarked layer, forward and backward to the input, on each of our kernel
// variants and on TF.js, printed row by row.

import type { BenchContext } from './context';
import { layerData } from './data';
import { flops, id, shapeText, type BenchLayer, type Direction } from './layers';
import { familyOf, ourLayer, variantsFor } from './ours';
import { geomean, layerHeader, layerLine, type LayerRow, type Timing } from './report';
import { tfLayer } from './tfjs';
import { gflops, measure, type Timed } from './timing';

const DIRECTIONS: Direction[] = ['forward', 'backward'];

/**
 * For the up-front time estimate, by adapter kind: throughput (GFLOP/s; SwiftShader on a busy
 * 2-core machine manages ~0.05-0.15) and a fixed cost per measurement (compiles, uploads).
 */
export const ASSUMED = { cpu: { gflops: 0.1, overheadS: 1 }, gpu: { gflops: 500, overheadS: 0.05 } };

async function timeRunner(make: () => Timed & { dispose(): void }, ctx: BenchContext, f: number): Promise<Timing> {
  let r: (Timed & { dispose(): void }) | null = null;
  try {
    r = make();
    const { ms, samples } = await measure(r, ctx.timing);
    return { ms, gflops: gflops(f, ms), samples };
  } catch (e) {
    return { ms: null, gflops: null, error: (e as Error).message.split('\n')[0] };
  } finally {
    r?.dispose();
  }
}

export function estimateSeconds(layers: readonly BenchLayer[], ctx: BenchContext): number {
  const runs = ctx.timing.warmup + ctx.timing.iters * ctx.timing.repeats;
  const engines = (l: BenchLayer) => variantsFor(ctx.rt, familyOf(l)).length + (ctx.tf ? 1 : 0);
  const a = ASSUMED[ctx.rt.kind];
  return layers.reduce((s, l) => s + 2 * engines(l) * (flops(l) * runs / (a.gflops * 1e9) + a.overheadS), 0);
}

export async function runLayerBench(layers: readonly BenchLayer[], ctx: BenchContext, log: (s: string) => void): Promise<LayerRow[]> {
  const rows: LayerRow[] = [];
  let printedFamily: string | null = null;
  for (const l of layers) {
    const family = familyOf(l);
    const variants = variantsFor(ctx.rt, family);
    if (printedFamily !== family) {
      log(`\n${family} (default variant on this adapter: ${ctx.defaults[family]})`);
      log(layerHeader(variants));
      printedFamily = family;
    }
    const f = flops(l);
    for (const dir of DIRECTIONS) {
      const data = layerData(l);
      const ours: Record<string, Timing> = {};
      for (const v of variants) {
        const rt = await ctx.runtimeFor(family, v);
        ours[v] = await timeRunner(() => ourLayer(rt, l, dir, data), ctx, f);
      }
      const tf = ctx.tf;
      const tfjs = tf ? await timeRunner(() => tfLayer(tf, l, dir, data), ctx, f) : null;
      const ourMs = Object.values(ours).map((t) => t.ms).filter((m): m is number => m !== null);
      const best = ourMs.length ? Math.min(...ourMs) : null;
      const dflt = ours[ctx.defaults[family]]?.ms ?? null;
      const row: LayerRow = {
        layer: id(l), family, same: l.same, direction: dir, shape: shapeText(l), flops: f, ours, tfjs,
        ratioBest: tfjs?.ms && best ? tfjs.ms / best : null,
        ratioDefault: tfjs?.ms && dflt ? tfjs.ms / dflt : null,
      };
      rows.push(row);
      log(layerLine(row, variants) + (dir === 'forward' && l.same.length ? `\n    (same shape: ${l.same.join(', ')})` : ''));
    }
  }
  return rows;
}

export function layerSummary(rows: readonly LayerRow[]): string[] {
  const out: string[] = [];
  for (const dir of DIRECTIONS) {
    for (const fam of ['conv2d', 'linear']) {
      const sel = rows.filter((r) => r.direction === dir && r.family === fam);
      if (!sel.length) continue;
      const best = geomean(sel.map((r) => r.ratioBest ?? NaN));
      const dflt = geomean(sel.map((r) => r.ratioDefault ?? NaN));
      out.push(`${fam} ${dir}: geometric mean TF.js ms / our ms = ${best?.toFixed(2) ?? '-'}x (best variant), ${dflt?.toFixed(2) ?? '-'}x (default variant) over ${sel.length} layers`);
    }
  }
  return out;
}
