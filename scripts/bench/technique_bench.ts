// Part three (--techniques): every technique on our engine beside the same technique written with
// TF.js's WebGPU backend on the same adapter in the same run (issues 7, 8, 9 "Speed"):
//   attribution   images/s at batch 1 (attribution_cases.ts)
//   optimization  loop iterations/s per network and size (optvis_cases.ts, tf_optvis.ts)
//   gallery       feature extraction images/s at batch 8, the 1000 x 1000 distances + top-10,
//                 t-SNE ms per iteration on 1000 points (gallery_cases.ts)
// Each measurement: warm-up, then the median of repeats of `iters` calls, each call ending with its
// result on the CPU. Rows print as they arrive; the ratio is
// TF.js time / our time (above 1: we are faster).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type Model, type ModelSpec } from '../../engine/index';
import type { BenchArgs } from './args';
import type { BenchContext } from './context';
import { featureCase, GALLERY, nearestCase, tsneCase } from './gallery_cases';
import {
  attributionCalls, optvisCalls, techniqueKey, techniqueNetworks, techniqueTiming, tfModelAt, timeCall,
  type Call, type RateTiming, type TechniqueCall, type TechniqueGroup,
} from './technique_plan';
import type { TfModel } from './tf_techniques';
import type { TimingOptions } from './timing';

export { sizedSpec, timeAsync, type RateTiming, type TechniqueGroup } from './technique_plan';

export interface TechniqueRow {
  group: TechniqueGroup;
  network: string;
  /** Input size, or the problem size of a gallery row. */
  size: string;
  item: string;
  unit: 'img/s' | 'it/s' | 'ms';
  ours: RateTiming;
  tfjs: RateTiming | null;
  /** TF.js ms / our ms. */
  ratio: number | null;
  /** How our side is computed. */
  how: string;
}

const cell = (t: RateTiming | null, unit: TechniqueRow['unit']): string => {
  if (!t) return 'n/a';
  if (t.ms === null) return t.error?.startsWith('skipped') ? 'skipped' : 'error';
  const ms = `${t.ms.toFixed(t.ms < 10 ? 2 : 1)} ms`;
  return unit === 'ms' ? ms : `${ms} ${t.rate!.toFixed(t.rate! < 10 ? 2 : 1)} ${unit}`;
};

export const techniqueHeader = (): string =>
  ['group'.padEnd(12), 'network'.padEnd(14), 'size'.padEnd(14), 'technique'.padEnd(24), 'ours'.padStart(24), 'tfjs'.padStart(24), 'tf/ours'.padStart(8)].join(' ');

export function techniqueLine(r: TechniqueRow): string {
  const errors = [r.ours.error && `\n    ours: ${r.ours.error}`, r.tfjs?.error && `\n    tfjs: ${r.tfjs.error}`].filter(Boolean).join('');
  return [r.group.padEnd(12), r.network.padEnd(14), r.size.padEnd(14), r.item.padEnd(24), cell(r.ours, r.unit).padStart(24), cell(r.tfjs, r.unit).padStart(24),
    `${r.ratio?.toFixed(2) ?? '-'}x`.padStart(8)].join(' ') + errors;
}

/** Engine technique files of the optimization techniques, present now (the loop is timed either way). */
function optvisFiles(): string {
  const dir = join(process.cwd(), 'engine', 'techniques');
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => /class|neuron|fool|dream|invert|style|texture/i.test(f)) : [];
  return names.length ? names.join(', ') : 'none yet';
}

interface Bench {
  args: BenchArgs;
  ctx: BenchContext;
  log: (s: string) => void;
  rows: TechniqueRow[];
  /** Measurement options of a call: one repeat on CPU adapters unless asked. */
  o: TimingOptions;
}

async function row(b: Bench, r: Omit<TechniqueRow, 'ours' | 'tfjs' | 'ratio'>, units: number, ours: Call, tfjs: Call | null): Promise<void> {
  await timedRow(b, r, { group: r.group, item: r.item, how: r.how, unit: r.unit, units, o: b.o, ours, tfjs });
}

async function timedRow(b: Bench, r: Omit<TechniqueRow, 'ours' | 'tfjs' | 'ratio'>, c: TechniqueCall): Promise<void> {
  if (b.args.filter && !b.args.filter.test(techniqueKey(r.group, r.network, r.item))) return;
  const full: TechniqueRow = { ...r, ...(await timeCall(c)) };
  b.rows.push(full);
  b.log(techniqueLine(full));
}

async function networkRows(b: Bench, model: Model, spec: ModelSpec, weights: Uint8Array, sizes: { attribution: number[]; optvis: number[] }): Promise<void> {
  const { ctx } = b;
  const tfAt = (size: number): TfModel | null => (ctx.tf ? tfModelAt(ctx.tf.tf, spec, weights, size) : null);
  const network = spec.name;
  const timing = techniqueTiming(b.args, ctx.rt.kind, ctx.timing);
  const visit = (size: number) => (c: TechniqueCall) => timedRow(b, { group: c.group, network, size: `${size}x${size}`, item: c.item, unit: c.unit, how: c.how }, c);
  const wanted = (item: string) => !b.args.filter || b.args.filter.test(techniqueKey('optimization', network, item));
  for (const size of sizes.attribution) {
    const tfm = tfAt(size);
    try {
      await attributionCalls(model, tfm, size, b.args.quick, b.o, visit(size));
      const g = featureCase(model, tfm, size, size);
      try {
        await row(b, { group: 'gallery', network, size: `${GALLERY.batch}x${size}x${size}`, item: `features ${g.layer}`, unit: 'img/s', how: 'forward(until feature layer, keep false) + read' }, GALLERY.batch, g.ours, g.tfjs);
      } finally {
        g.dispose();
      }
    } finally {
      tfm?.net.dispose();
    }
  }
  for (const size of sizes.optvis) {
    const tfm = tfAt(size);
    try {
      await optvisCalls(model, tfm, size, timing.steps, timing.loops, visit(size), wanted);
    } finally {
      tfm?.net.dispose();
    }
  }
}

export async function runTechniqueBench(args: BenchArgs, ctx: BenchContext, log: (s: string) => void): Promise<TechniqueRow[]> {
  const b: Bench = { args, ctx, log, rows: [], o: techniqueTiming(args, ctx.rt.kind, ctx.timing).calls };
  const chosen = techniqueNetworks(args);
  const found = chosen.filter((n) => existsSync(join(args.weightsDir, n.dir, 'model.json')));
  const missing = chosen.filter((n) => !found.includes(n)).map((n) => n.dir);
  if (missing.length) log(`no converted weights for ${missing.join(', ')} under ${args.weightsDir}/ (npm run weights): skipped`);
  log(`techniques: ${found.map((n) => n.dir).join(', ') || 'no network'}; ${b.o.warmup} warm-up, median of ${b.o.repeats} repeat(s) of ${b.o.iters} call(s), each ending with its result on the CPU`);
  log(`optimization: ours is the optvis loop (engine/techniques/optvis/loop.ts optimize()); technique files present: ${optvisFiles()}`);
  log(techniqueHeader());
  for (const n of found) {
    const dir = join(args.weightsDir, n.dir);
    const spec = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelSpec;
    const model = await loadModel(ctx.rt, dir);
    try {
      await networkRows(b, model, spec, readFileSync(join(dir, 'weights.safetensors')), n);
    } finally {
      model.dispose();
    }
  }
  const dim = args.quick ? 256 : 1024;
  const tsneSteps = args.quick ? 2 : GALLERY.tsneSteps;
  const tf = ctx.tf?.tf ?? null;
  const near = nearestCase(ctx.rt, tf, dim);
  try {
    await row(b, { group: 'gallery', network: '-', size: `${GALLERY.points}x${dim}`, item: `distances + top-${GALLERY.k}`, unit: 'ms', how: 'pairwise(l2) + nearestRows() (neighbors.ts), read indices + distances' }, 1, near.ours, near.tfjs);
  } finally {
    near.dispose();
  }
  const ts = tsneCase(ctx.rt, tf, tsneSteps);
  try {
    await row(b, { group: 'gallery', network: '-', size: `${GALLERY.points} points`, item: 't-SNE iteration', unit: 'ms', how: `tsneStep() (ops/tsne.ts), ${tsneSteps} steps then the points read` }, tsneSteps, ts.ours, ts.tfjs);
  } finally {
    ts.dispose();
  }
  log('\nhow our side is computed:');
  for (const [item, how] of new Map(b.rows.map((r) => [`${r.group}/${r.item.replace(/ \S+\/\S+$/, '')}`, r.how]))) log(`  ${item.padEnd(36)} ${how}`);
  const tfNote = 'TF.js: tf.grad / tf.valueAndGrad over the tf_network.ts network (NHWC), maps reduced on the GPU, one read at the end (scripts/bench/tf_techniques.ts, tf_optvis.ts)';
  log(`  ${'TF.js'.padEnd(36)} ${tfNote}`);
  return b.rows;
}
