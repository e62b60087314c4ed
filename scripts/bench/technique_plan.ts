// What the technique rows time, shared by `npm run bench -- --techniques` (technique_bench.ts, in
// Node) and the browser benchmark page (browser/techniques.ts): the networks and their sizes, the
// timing of a call, the loop steps a call, and the paired calls themselves (attribution_cases.ts,
// optvis_cases.ts on our side; tf_techniques.ts, tf_optvis.ts on TF.js's). No Node modules here:
// the page bundles this file.

import type { Model } from '../../engine/index';
import type { ModelSpec } from '../../engine/models/spec';
import { defaultCamLayer } from '../../engine/techniques/gradcam';
import { attributionCases, attributionNames, ATTRIBUTION, QUICK_ATTRIBUTION, type AttributionCounts } from './attribution_cases';
import { caseName, optvisCases, ourOptvis, referenceImage } from './optvis_cases';
import { buildTfNetwork } from './tf_network';
import { tfOptvis } from './tf_optvis';
import { tfModel, type TfModel } from './tf_techniques';
import type { Tf } from './tfjs';
import { median, type TimingOptions } from './timing';

export type TechniqueGroup = 'attribution' | 'optimization' | 'gallery';

/** Networks of the technique rows, the --model names that select them, and their sizes (quick / full). */
export const TECHNIQUE_NETWORKS: readonly { dir: string; model: string; quick: number[] | null; full: number[]; optvis: number[] }[] = [
  { dir: 'tinyvgg', model: 'tinyvgg', quick: [64], full: [64], optvis: [64] },
  { dir: 'squeezenet1_1', model: 'squeezenet', quick: null, full: [227], optvis: [128, 227] },
  { dir: 'googlenet', model: 'googlenet', quick: null, full: [224], optvis: [224] },
];

export interface TechniqueSelection {
  quick: boolean;
  model?: string;
  iters?: number;
  repeats?: number;
}

/**
 * The networks --model and --quick choose, each with its attribution and optimization sizes.
 * --quick alone: the networks with quick sizes (TinyVGG); --quick --model naming one without them
 * (SqueezeNet, GoogLeNet): its full attribution size and smallest optimization size, with the quick
 * counts and steps.
 */
export function techniqueNetworks(a: TechniqueSelection): { dir: string; attribution: number[]; optvis: number[] }[] {
  return TECHNIQUE_NETWORKS.filter((n) => (!a.model || a.model === n.model) && (!a.quick || n.quick || a.model)).map((n) => {
    if (!a.quick) return { dir: n.dir, attribution: n.full, optvis: n.optvis };
    return n.quick ? { dir: n.dir, attribution: n.quick, optvis: n.quick } : { dir: n.dir, attribution: n.full, optvis: [Math.min(...n.optvis)] };
  });
}

/**
 * Why TF.js's side of a row that takes a gradient through `spec` is not timed on this adapter, or
 * null. On CPU adapters (SwiftShader) TF.js's LRN backward (the WebGPU backend's LRNGrad shader
 * loops over every channel for each channel of each element: O(C^2) per element) takes minutes
 * per call: in Node on SwiftShader, 2026-12-02, load about 11, GoogLeNet's pool1/norm1 (64
 * channels, 56 x 56) took 16 s and conv2/norm2 (192 channels) had not finished after 15 minutes.
 * So every gradient through an LRN layer is skipped there, as the LRN backward rows of the browser
 * benchmark are (browser/page.ts).
 */
export function tfjsSkip(spec: Pick<ModelSpec, 'layers'>, adapterKind: string, backward: boolean): string | null {
  if (!backward || adapterKind !== 'cpu') return null;
  const lrn = spec.layers.filter((l) => l.type === 'lrn').map((l) => l.name);
  if (!lrn.length) return null;
  return `skipped on CPU adapters: the gradient passes LRN (${lrn.join(', ')}) and TF.js's LRN backward takes minutes per call there`;
}

/** SmoothGrad / IG / occlusion counts: the issue's, or the small --quick ones. */
export const attributionCounts = (quick: boolean): AttributionCounts => (quick ? QUICK_ATTRIBUTION : ATTRIBUTION);

/** What --filter is matched against: group/network/item. */
export const techniqueKey = (group: TechniqueGroup, network: string, item: string): string => `${group}/${network}/${item}`;

/** The item names of a group at a network, in the order the rows come. */
export function techniqueItems(group: 'attribution' | 'optimization', network: string, quick: boolean): string[] {
  if (group === 'optimization') return optvisCases(network).map(caseName);
  return Object.values(attributionNames(attributionCounts(quick)));
}

/**
 * Timing of the technique rows. `calls`: one warm-up call, then the median of repeats of `iters`
 * calls (one repeat on CPU adapters unless asked). `loops`: one optimization loop of `steps` steps
 * a call (--iters: the steps; default 2 with --quick, 5 on CPU adapters, 50 on GPUs), warmed up by
 * a loop of one step.
 */
export function techniqueTiming(a: TechniqueSelection, kind: string, base: TimingOptions): { calls: TimingOptions; loops: TimingOptions; steps: number } {
  const cpu = kind === 'cpu';
  const calls: TimingOptions = { warmup: 1, iters: a.iters ?? base.iters, repeats: a.repeats ?? (cpu ? 1 : base.repeats) };
  const steps = a.iters ?? (a.quick ? 2 : cpu ? 5 : 50);
  return { calls, loops: { warmup: 1, iters: 1, repeats: calls.repeats }, steps };
}

/** The spec at another input size (shapes are re-inferred by whoever reads it). */
export const sizedSpec = (spec: ModelSpec, size: number): ModelSpec => ({ ...spec, input: { ...spec.input, height: size, width: size } });

/** The TF.js network of `spec` at `size` x `size`, with the same weights. */
export const tfModelAt = (tf: Tf, spec: ModelSpec, weights: Uint8Array, size: number): TfModel =>
  tfModel(tf, buildTfNetwork(tf, sizedSpec(spec, size), weights, `${spec.name} weights`), sizedSpec(spec, size));

export interface RateTiming {
  /** Median ms per unit (image, iteration, matrix), or null when it failed. */
  ms: number | null;
  /** Units per second. */
  rate: number | null;
  samples?: number[];
  error?: string;
}

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

export type Call = () => Promise<unknown>;

/** One row to time: both sides' calls, per how many units, with which timing. */
export interface TechniqueCall {
  group: TechniqueGroup;
  item: string;
  /** How our side is computed, printed with the row. */
  how: string;
  unit: 'img/s' | 'it/s' | 'ms';
  units: number;
  o: TimingOptions;
  ours: Call;
  tfjs: Call | null;
  /** Why TF.js's side is not timed (tfjsSkip); tfjs is null then. */
  tfjsSkipped?: string;
  warm?: { ours: Call; tfjs: Call | null };
  /** Whether it takes a gradient (attribution and optimization rows say; occlusion does not). */
  backward?: boolean;
  /** What the row's numbers depend on: the attribution counts, or an optimization loop's steps a call. */
  counts?: Record<string, number>;
}

/** Time both sides of a call: ours, then TF.js; ratio = TF.js ms / our ms. */
export async function timeCall(c: TechniqueCall): Promise<{ ours: RateTiming; tfjs: RateTiming | null; ratio: number | null }> {
  const ours = await timeAsync(c.ours, c.o, c.units, c.warm?.ours);
  const tfjs = c.tfjsSkipped ? { ms: null, rate: null, error: c.tfjsSkipped } : c.tfjs ? await timeAsync(c.tfjs, c.o, c.units, c.warm?.tfjs ?? c.tfjs) : null;
  return { ours, tfjs, ratio: ours.ms && tfjs?.ms ? tfjs.ms / ours.ms : null };
}

/** Each attribution row of a network at one size (batch 1, the seeded reference image), handed to `visit`. */
export async function attributionCalls(model: Model, tfm: TfModel | null, size: number, quick: boolean, o: TimingOptions, visit: (c: TechniqueCall) => Promise<void>): Promise<void> {
  const x = { data: referenceImage(model, size, size), c: 3, h: size, w: size };
  const counts = attributionCounts(quick);
  const set = attributionCases(model, tfm, x, 1, { camLayer: defaultCamLayer(model), counts });
  try {
    for (const c of set.cases) {
      const skip = tfm && tfjsSkip(model.spec, model.rt.kind, c.backward);
      await visit({
        group: 'attribution', item: c.technique, how: c.how, unit: 'img/s', units: 1, o, ours: c.ours, tfjs: skip ? null : c.tfjs,
        ...(skip ? { tfjsSkipped: skip } : {}), backward: c.backward, counts: { ...counts },
      });
    }
  } finally {
    set.dispose();
  }
}

/** Each optimization loop of a network at one size, `steps` steps a call, handed to `visit`; `wanted` skips building a case. */
export async function optvisCalls(
  model: Model, tfm: TfModel | null, size: number, steps: number, o: TimingOptions, visit: (c: TechniqueCall) => Promise<void>, wanted: (item: string) => boolean = () => true,
): Promise<void> {
  for (const c of optvisCases(model.spec.name)) {
    if (!wanted(caseName(c))) continue;
    const skip = tfm && tfjsSkip(model.spec, model.rt.kind, true);
    const ours = ourOptvis(model, c, size, size);
    const theirs = tfm && !skip ? tfOptvis(tfm, c, size, size) : null;
    try {
      await visit({
        group: 'optimization', item: caseName(c), how: `optimize() (optvis loop, ${c.optimizer}, ${steps} steps a call, no transforms)`, unit: 'it/s', units: steps, o,
        ours: () => ours.run(steps), tfjs: theirs && (() => theirs.run(steps)), warm: { ours: () => ours.run(1), tfjs: theirs && (() => theirs.run(1)) },
        ...(skip ? { tfjsSkipped: skip } : {}), backward: true, counts: { steps },
      });
    } finally {
      ours.dispose();
      theirs?.dispose();
    }
  }
}

/** A technique row's id in the browser benchmark (what its --filter matches, with techniqueKey). */
export const techniqueId = (network: string, item: string): string => `technique/${network}/${item}`;
