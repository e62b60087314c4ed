// Part two (--networks): whole-network images/second on our engine (engine/index.ts) and on
// TF.js running the same network with the same weights (tf_network.ts), forward and
// forward + backward (the gradient at the input image of one class score per sample), and our
// same pass recorded once with rt.capture and replayed (checked bit for bit against the ordinary
// pass before it is timed).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type Model, type ModelSpec } from '../../engine/index';
import type { BenchArgs } from './args';
import type { BenchContext } from './context';
import { ASSUMED } from './layer_bench';
import { flops as layerFlops, specLayers } from './layers';
import { checkedReplay, networkBatch, ourNetworkRunner, PASSES, tfNetworkRunner, type NetworkBatch, type NetworkRunner, type Pass } from './network_runners';
import { timingCell, type Timing } from './report';
import { buildTfNetwork } from './tf_network';
import { gflops, measure, type TimingOptions } from './timing';

/** Converted models the benchmark looks for, and the --model names that select them. */
const NETWORKS: [dir: string, model: string][] = [['squeezenet1_1', 'squeezenet'], ['googlenet', 'googlenet'], ['alexnet', 'alexnet'], ['alexnet_caffe', 'alexnet']];

export interface NetworkRow {
  network: string;
  batch: number;
  pass: Pass;
  /** Forward FLOPs per image (conv + linear); forward+backward counts the backward-to-input as another forward. */
  flopsPerImage: number;
  ours: Timing & { imagesPerSecond: number | null };
  tfjs: (Timing & { imagesPerSecond: number | null }) | null;
  /** TF.js ms / our ms. */
  ratio: number | null;
  /**
   * The same pass of ours recorded once with rt.capture (outside the timed region) and timed as
   * replay() + queue completion like `ours`; error 'replay check failed: ...' where it could not run.
   */
  oursReplayed: Timing & { imagesPerSecond: number | null };
  /** max |replayed - ordinary| over the logits (forward) or the input gradient (forward + backward); 0: bit-identical; null where the check failed. */
  replayMaxAbsDiff: number | null;
  /** Dispatches per replay, and bind groups created over the timed replays (0). */
  replayDispatches: number | null;
  replayBindGroups: number | null;
  /** Our ordinary ms / our replayed ms (> 1: the replay is faster), and TF.js ms / our replayed ms. */
  ratioReplayed: number | null;
  ratioTfjsReplayed: number | null;
}

/** Our pass replayed (checkedReplay), timed like the ordinary one, with its check and counts. */
export async function timedReplay(model: Model, batch: NetworkBatch, pass: Pass, o: TimingOptions, flops: number, images: number):
  Promise<Pick<NetworkRow, 'oursReplayed' | 'replayMaxAbsDiff' | 'replayDispatches' | 'replayBindGroups'>> {
  let checked: Awaited<ReturnType<typeof checkedReplay>>;
  try {
    checked = await checkedReplay(model, batch, pass);
  } catch (e) {
    const error = `replay check failed: ${(e as Error).message.split('\n')[0]}`;
    return { oursReplayed: { ms: null, gflops: null, imagesPerSecond: null, error }, replayMaxAbsDiff: null, replayDispatches: null, replayBindGroups: null };
  }
  const { runner, maxAbsDiff } = checked;
  const b0 = model.rt.stats.bindGroupsCreated;
  // timed() disposes the runner (the capture) when it is done.
  const oursReplayed = await timed(() => runner, o, flops, images);
  return { oursReplayed, replayMaxAbsDiff: maxAbsDiff, replayDispatches: runner.dispatches, replayBindGroups: model.rt.stats.bindGroupsCreated - b0 };
}

/** Forward FLOPs of one image: 2 x multiply-adds of every conv and linear layer. */
export function networkFlops(spec: ModelSpec): number {
  return specLayers(spec.name, spec).reduce((f, l) => f + layerFlops(l), 0);
}

async function timed(make: () => NetworkRunner, o: TimingOptions, flops: number, images: number): Promise<Timing & { imagesPerSecond: number | null }> {
  let r: NetworkRunner | null = null;
  try {
    r = make();
    const { ms, samples } = await measure(r, o);
    return { ms, gflops: gflops(flops, ms), samples, imagesPerSecond: (images * 1000) / ms };
  } catch (e) {
    return { ms: null, gflops: null, imagesPerSecond: null, error: (e as Error).message.split('\n')[0] };
  } finally {
    r?.dispose();
  }
}

/** The replayed pass on a line of its own under its row. */
export function replayLine(r: NetworkRow): string {
  const t = r.oursReplayed;
  if (t.ms === null) return `\n    ours replayed: ${t.error ?? 'error'}`;
  const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}x`);
  const diff = r.replayMaxAbsDiff === 0 ? '0 (bit-identical)' : r.replayMaxAbsDiff === null ? '-' : r.replayMaxAbsDiff.toExponential(1);
  return `\n    ours replayed (rt.capture): ${timingCell(t)}, ${t.imagesPerSecond?.toFixed(2) ?? '-'} img/s; ours/replayed ${x(r.ratioReplayed)}; ` +
    `tf/replayed ${x(r.ratioTfjsReplayed)}; ${r.replayDispatches} dispatches, ${r.replayBindGroups} bind groups created; ` +
    `${r.pass === 'forward' ? 'logits' : 'input gradient'} max |replayed - ordinary| ${diff}`;
}

export async function runNetworkBench(args: BenchArgs, ctx: BenchContext, log: (s: string) => void): Promise<NetworkRow[]> {
  const found = NETWORKS.filter(([dir, model]) => (!args.model || args.model === model) && existsSync(join(args.weightsDir, dir, 'model.json')));
  const missing = NETWORKS.filter(([dir, model]) => (!args.model || args.model === model) && !found.some(([d]) => d === dir)).map(([d]) => d);
  if (missing.length) log(`no converted weights for ${missing.join(', ')} under ${args.weightsDir}/ (npm run weights): skipped`);
  if (!found.length) throw new Error(`no converted model found under ${args.weightsDir}/: run npm run weights first`);
  const cpu = ctx.rt.kind === 'cpu';
  // Whole networks are slow on CPU adapters: one repeat unless asked.
  const o: TimingOptions = { ...ctx.timing, repeats: args.repeats ?? (cpu ? 1 : ctx.timing.repeats) };
  const batches = [...new Set([1, args.batch])];
  const specs = found.map(([dir]) => [dir, JSON.parse(readFileSync(join(args.weightsDir, dir, 'model.json'), 'utf8')) as ModelSpec] as const);
  // Per image: forward (1) + forward+backward (about 3 forwards' worth of work).
  const work = specs.reduce((s, [, spec]) => s + networkFlops(spec) * batches.reduce((a, b) => a + b, 0) * 4 * (o.warmup + o.iters * o.repeats), 0);
  log(`networks: ${specs.map(([d]) => d).join(', ')} at batch ${batches.join(' and ')}; estimated total ~${Math.ceil((work * (ctx.tf ? 2 : 1)) / (ASSUMED[ctx.rt.kind].gflops * 1e9))} s`);
  log(`timing: ${o.warmup} warm-up, median of ${o.repeats} repeat(s) of ${o.iters} iteration(s); our default variants: conv2d ${ctx.defaults.conv2d}, linear ${ctx.defaults.linear}`);
  log(['network'.padEnd(16), 'batch'.padStart(5), 'pass'.padEnd(17), 'ours'.padStart(24), 'img/s'.padStart(8), 'tfjs'.padStart(24), 'img/s'.padStart(8), 'tf/ours'.padStart(8)].join(' '));

  const rows: NetworkRow[] = [];
  for (const [dir, spec] of specs) {
    const model = await loadModel(ctx.rt, join(args.weightsDir, dir));
    const tfNet = ctx.tf ? buildTfNetwork(ctx.tf.tf, spec, readFileSync(join(args.weightsDir, dir, 'weights.safetensors')), join(args.weightsDir, dir, 'weights.safetensors')) : null;
    const fwdFlops = networkFlops(spec);
    const tf = ctx.tf?.tf;
    try {
      for (const n of batches) {
        const batch = networkBatch(model, tf, n);
        try {
          for (const pass of PASSES) {
            const flops = fwdFlops * n * (pass === 'forward' ? 1 : 2);
            const ours = await timed(() => ourNetworkRunner(model, batch, pass), o, flops, n);
            const replay = await timedReplay(model, batch, pass, o, flops, n);
            const theirs = tf && tfNet ? await timed(() => tfNetworkRunner(tf, tfNet, batch, pass), o, flops, n) : null;
            const rep = replay.oursReplayed.ms;
            const row: NetworkRow = {
              network: dir, batch: n, pass, flopsPerImage: fwdFlops * (pass === 'forward' ? 1 : 2), ours, tfjs: theirs,
              ratio: ours.ms && theirs?.ms ? theirs.ms / ours.ms : null,
              ...replay, ratioReplayed: ours.ms && rep ? ours.ms / rep : null, ratioTfjsReplayed: theirs?.ms && rep ? theirs.ms / rep : null,
            };
            rows.push(row);
            const ips = (t: { imagesPerSecond: number | null } | null) => (t?.imagesPerSecond == null ? '-' : t.imagesPerSecond.toFixed(2));
            log([dir.padEnd(16), String(n).padStart(5), pass.padEnd(17), timingCell(ours).padStart(24), ips(ours).padStart(8),
              timingCell(theirs).padStart(24), ips(theirs).padStart(8), `${row.ratio?.toFixed(2) ?? '-'}x`.padStart(8)].join(' ') +
              [ours.error && `\n    ours: ${ours.error}`, theirs?.error && `\n    tfjs: ${theirs.error}`].filter(Boolean).join('') + replayLine(row));
          }
        } finally {
          batch.dispose();
        }
      }
    } finally {
      model.dispose();
      tfNet?.dispose();
    }
  }
  return rows;
}
