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
import { defaultCamLayer } from '../../engine/techniques/gradcam';
import type { BenchArgs } from './args';
import { attributionCases, QUICK_ATTRIBUTION } from './attribution_cases';
import type { BenchContext } from './context';
import { featureCase, GALLERY, nearestCase, tsneCase } from './gallery_cases';
import { caseName, optvisCases, ourOptvis, referenceImage } from './optvis_cases';
import { buildTfNetwork } from './tf_network';
import { tfOptvis } from './tf_optvis';
import { tfModel, type TfModel } from './tf_techniques';
import { median, type TimingOptions } from './timing';

export type TechniqueGroup = 'attribution' | 'optimization' | 'gallery';

export interface RateTiming {
  /** Median ms per unit (image, iteration, matrix), or null when it failed. */
  ms: number | null;
  /** Units per second. */
  rate: number | null;
  samples?: number[];
  error?: string;
}

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

/** Networks in the technique bench, the --model names that select them, and their sizes (quick / full). */
const NETWORKS: { dir: string; model: string; quick: number[] | null; full: number[]; optvis: number[] }[] = [
  { dir: 'tinyvgg', model: 'tinyvgg', quick: [64], full: [64], optvis: [64] },
  { dir: 'squeezenet1_1', model: 'squeezenet', quick: null, full: [227], optvis: [128, 227] },
  { dir: 'googlenet', model: 'googlenet', quick: null, full: [224], optvis: [224] },
];

/** The spec at another input size (shapes are re-inferred by whoever reads it). */
export const sizedSpec = (spec: ModelSpec, size: number): ModelSpec => ({ ...spec, input: { ...spec.input, height: size, width: size } });

/** Warm-up calls (`warm`, default fn itself), then the median over repeats of `iters` calls, per unit. */
export async function timeAsync(fn: () => Promise<unknown>, o: TimingOptions, units: number, warm = fn): Promise<RateTiming> {
  try {
    for (let i = 0; i < o.warmup; i++) await warm();
    const samples: number[] = [];
    for (let r = 0; r < o.repeats; r++) {
      const t0 = performance.now();
      for (let i = 0; i < o.iters; i++) await fn();
      samples.push((performance.now() - t0) / (o.iters * units));
    }
    const ms = median(samples);
    return { ms, rate: 1000 / ms, samples };
  } catch (e) {
    return { ms: null, rate: null, error: (e as Error).message.split('\n')[0] };
  }
}

const cell = (t: RateTiming | null, unit: TechniqueRow['unit']): string => {
  if (!t) return 'n/a';
  if (t.ms === null) return 'error';
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
  /** Measurement options: one repeat on CPU adapters unless asked. */
  o: TimingOptions;
}

type Call = () => Promise<unknown>;

async function row(b: Bench, r: Omit<TechniqueRow, 'ours' | 'tfjs' | 'ratio'>, units: number, ours: Call, tfjs: Call | null, o = b.o, warm?: { ours: Call; tfjs: Call | null }): Promise<void> {
  if (b.args.filter && !b.args.filter.test(`${r.group}/${r.network}/${r.item}`)) return;
  const a = await timeAsync(ours, o, units, warm?.ours);
  const t = tfjs ? await timeAsync(tfjs, o, units, warm?.tfjs ?? tfjs) : null;
  const full: TechniqueRow = { ...r, ours: a, tfjs: t, ratio: a.ms && t?.ms ? t.ms / a.ms : null };
  b.rows.push(full);
  b.log(techniqueLine(full));
}

async function networkRows(b: Bench, model: Model, spec: ModelSpec, weights: Uint8Array, sizes: { attribution: number[]; optvis: number[] }): Promise<void> {
  const { ctx } = b;
  const tfAt = (size: number): TfModel | null => (ctx.tf ? tfModel(ctx.tf.tf, buildTfNetwork(ctx.tf.tf, sizedSpec(spec, size), weights, `${spec.name} weights`), sizedSpec(spec, size)) : null);
  const network = spec.name;
  for (const size of sizes.attribution) {
    const tfm = tfAt(size);
    try {
      const x = { data: referenceImage(model, size, size), c: 3, h: size, w: size };
      const set = attributionCases(model, tfm, x, 1, { camLayer: defaultCamLayer(model), counts: b.args.quick ? QUICK_ATTRIBUTION : undefined });
      try {
        for (const c of set.cases) await row(b, { group: 'attribution', network, size: `${size}x${size}`, item: c.technique, unit: 'img/s', how: c.how }, 1, c.ours, c.tfjs);
      } finally {
        set.dispose();
      }
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
  const steps = b.args.iters ?? (b.args.quick ? 2 : ctx.rt.kind === 'cpu' ? 5 : 50);
  const o: TimingOptions = { warmup: 1, iters: 1, repeats: b.o.repeats };
  for (const size of sizes.optvis) {
    const tfm = tfAt(size);
    try {
      for (const c of optvisCases(network)) {
        const ours = ourOptvis(model, c, size, size);
        const theirs = tfm ? tfOptvis(tfm, c, size, size) : null;
        try {
          await row(b, { group: 'optimization', network, size: `${size}x${size}`, item: caseName(c), unit: 'it/s', how: `optimize() (optvis loop, ${c.optimizer}, ${steps} steps a call, no transforms)` },
            steps, () => ours.run(steps), theirs && (() => theirs.run(steps)), o, { ours: () => ours.run(1), tfjs: theirs && (() => theirs.run(1)) });
        } finally {
          ours.dispose();
          theirs?.dispose();
        }
      }
    } finally {
      tfm?.net.dispose();
    }
  }
}

export async function runTechniqueBench(args: BenchArgs, ctx: BenchContext, log: (s: string) => void): Promise<TechniqueRow[]> {
  const cpu = ctx.rt.kind === 'cpu';
  const b: Bench = { args, ctx, log, rows: [], o: { warmup: 1, iters: args.iters ?? ctx.timing.iters, repeats: args.repeats ?? (cpu ? 1 : ctx.timing.repeats) } };
  const chosen = NETWORKS.filter((n) => (!args.model || args.model === n.model) && (!args.quick || n.quick));
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
      const attribution = args.quick ? n.quick! : n.full;
      await networkRows(b, model, spec, readFileSync(join(dir, 'weights.safetensors')), { attribution, optvis: args.quick ? attribution : n.optvis });
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
