// Faithfulness of an attribution map: the deletion and insertion curves of Petsiuk et al. ("RISE:
// Randomized Input Sampling for Explanation of Black-box Models", BMVC 2018, section 4.1).
//
//   deletion:  start from the image and remove pixels, most important first, in `steps` equal steps
//              (a removed pixel becomes 0 in the network's input space, RISE's substrate: the mean
//              colour for mean-subtracted models, black for [0, 1] inputs);
//   insertion: start from a blurred copy (Gaussian, sigma in input pixels) and restore the image's
//              pixels in the same order.
//
// Each curve is the class probability after 0, 1, ..., steps steps (step i changes round(i HW /
// steps) pixels, all channels), its score the area under it over the fraction [0, 1] (trapezoid,
// RISE's `auc`; `upTo` < 1 runs the curves over the first part of the pixels only). A faithful map gives a low deletion AUC and a high insertion AUC; the same curves
// for a seeded random pixel order are the baseline. Curve points are made on the GPU (maskBlend
// against a rank map, one dispatch per curve per batch) and go through the network in batches.
// Works on any (H, W) map; every attribution technique exposes it as `--faithfulness`.

import type { Model } from '../models/graph';
import { gaussianBlur } from '../ops/image';
import { Tensor } from '../tensor';
import { maskBlend } from '../ops/batch_input';
import { channelMaxAbs, inBatches, readInput, readScores, uniformStream, uploadImage, type InputImage } from './attribution';
import { curvePlot } from './faithfulness_plot';
import { CLASS_OPTION, type Target } from './resolve';
import { defaultOptions, type Options, type OptionSpec, type Technique, type TechniqueContext } from './technique';

export interface FaithfulnessOptions {
  steps: number;
  batch: number;
  /** Sigma of the insertion substrate's blur, in input pixels. */
  blurSigma: number;
  /** Seed of the random-order baseline. */
  seed: number;
  /** Which curves to compute (default both); the others come back empty with AUC NaN. */
  curves?: readonly ('deletion' | 'insertion')[];
  /** Also the random-order curves (default true). */
  random?: boolean;
  /**
   * Fraction of the pixels the curves run over (default 1, the paper's whole curve); the AUC is
   * then the mean probability over that first part. Below 1 it spends the steps where the
   * methods differ most, for cheap checks.
   */
  upTo?: number;
  /**
   * Side of the square regions removed together (default 1: single pixels, as RISE). Regions are
   * ranked by their mean attribution (Samek et al. 2017's region perturbation), which keeps
   * scattered single-pixel holes, themselves destructive, out of the comparison.
   */
  region?: number;
}

export interface Curve {
  /** Class probability after 0..steps steps. */
  probs: number[];
  auc: number;
}

export interface FaithfulnessScores {
  /** Fraction of pixels changed at each point. */
  fractions: number[];
  deletion: Curve;
  insertion: Curve;
  randomDeletion: Curve;
  randomInsertion: Curve;
}

/** The options every attribution technique adds for its faithfulness block. */
export const FAITHFULNESS_OPTIONS: readonly OptionSpec[] = [
  { kind: 'bool', name: 'faithfulness', help: 'also compute deletion / insertion curves (Petsiuk et al.) and their AUCs, with a random-order baseline', default: false },
  { kind: 'int', name: 'faithSteps', help: 'curve steps (RISE: 224, one 224-pixel row per step at 224x224)', default: 224, min: 1 },
  { kind: 'number', name: 'faithBlur', help: 'insertion substrate: Gaussian blur sigma in input pixels (RISE: 5)', default: 5, min: 0 },
  { kind: 'int', name: 'faithRegion', help: 'side of the square regions removed together (1 = single pixels, as RISE)', default: 1, min: 1 },
];

/** Pixel indices by attribution, highest first (ties: lower index first). */
export function rankPixels(map: ArrayLike<number>): Uint32Array {
  const idx = Uint32Array.from({ length: map.length }, (_, i) => i);
  return idx.sort((a, b) => map[b] - map[a] || a - b);
}

/** Mean of `map` (h, w) over each square `region` x `region` block, row-major over the block grid. */
export function regionMeans(map: ArrayLike<number>, h: number, w: number, region: number): Float32Array {
  const bw = Math.ceil(w / region);
  const sum = new Float32Array(Math.ceil(h / region) * bw);
  const count = new Uint32Array(sum.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const b = Math.floor(y / region) * bw + Math.floor(x / region);
      sum[b] += map[y * w + x];
      count[b]++;
    }
  }
  return sum.map((v, b) => v / count[b]);
}

/** Pixel order of the blocks taken in `blocks` order (block indices as in regionMeans), each block in raster order. */
export function regionOrder(blocks: Uint32Array, h: number, w: number, region: number): Uint32Array {
  const bw = Math.ceil(w / region);
  const out = new Uint32Array(h * w);
  let k = 0;
  for (const b of blocks) {
    const y0 = Math.floor(b / bw) * region;
    const x0 = (b % bw) * region;
    for (let y = y0; y < Math.min(y0 + region, h); y++) for (let x = x0; x < Math.min(x0 + region, w); x++) out[k++] = y * w + x;
  }
  return out;
}

/** A seeded random permutation of n pixels (Fisher-Yates). */
export function randomPixels(n: number, seed: number): Uint32Array {
  const next = uniformStream(seed);
  const idx = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** Area under a curve sampled at equal steps over [0, 1] (trapezoid). */
export function areaUnder(probs: readonly number[]): number {
  const k = probs.length - 1;
  if (k < 1) return probs[0] ?? 0;
  let s = 0;
  for (let i = 0; i < k; i++) s += (probs[i] + probs[i + 1]) / 2;
  return s / k;
}

/** The image blurred on the GPU (sigma in pixels), as data. */
export async function blurred(model: Model, x: InputImage, sigma: number): Promise<Float32Array> {
  const t = uploadImage(model, x, 'blur input');
  const b = gaussianBlur(t, sigma);
  try {
    return await b.read();
  } finally {
    t.dispose();
    b.dispose();
  }
}

/** rank[p] = position of pixel p in `order`, as a (1, 1, H, W) tensor for maskBlend. */
function rankTensor(model: Model, order: Uint32Array, h: number, w: number, label: string): Tensor {
  const rank = new Float32Array(order.length);
  order.forEach((p, k) => (rank[p] = k));
  return Tensor.fromData(model.rt, rank, [1, 1, h, w], label);
}

/** Deletion and insertion curves of `map` (H, W) for class `index`, with the random-order baseline. */
export async function faithfulness(model: Model, x: InputImage, index: number, map: ArrayLike<number>, o: FaithfulnessOptions, ctx: TechniqueContext = { model }): Promise<FaithfulnessScores> {
  const hw = x.h * x.w;
  if (map.length !== hw) throw new Error(`faithfulness: the attribution map has ${map.length} values, expected ${x.h} x ${x.w} = ${hw} (the input size)`);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`faithfulness: --faith-steps must be a positive integer, got ${o.steps}`);
  const region = o.region ?? 1;
  if (!Number.isInteger(region) || region < 1) throw new Error(`faithfulness: region must be a positive integer (pixels), got ${region}`);
  const upTo = o.upTo ?? 1;
  if (!(upTo > 0 && upTo <= 1)) throw new Error(`faithfulness: upTo must be a fraction in (0, 1], got ${upTo}`);
  const wanted = o.curves ?? ['deletion', 'insertion'];
  const blocks = regionMeans(map, x.h, x.w, region);
  const points = o.steps + 1;
  // Step i changes round(i * upTo * HW / steps) pixels.
  const counts = Array.from({ length: points }, (_, i) => Math.round((i * upTo * hw) / o.steps));
  const owned: Tensor[] = [];
  const keep = (t: Tensor) => (owned.push(t), t);
  try {
    const image = keep(uploadImage(model, x, 'faithfulness image'));
    // Deletion: pixels of rank < count become 0 (RISE's substrate); insertion: they come from the image, the rest is blurred.
    const zero = keep(Tensor.zeros(model.rt, [1, x.c, x.h, x.w], 'faithfulness zero'));
    const blur = wanted.includes('insertion') ? keep(gaussianBlur(image, o.blurSigma)) : zero;
    const ranked = keep(rankTensor(model, regionOrder(rankPixels(blocks), x.h, x.w, region), x.h, x.w, 'faithfulness rank'));
    const random = keep(rankTensor(model, regionOrder(randomPixels(blocks.length, o.seed), x.h, x.w, region), x.h, x.w, 'faithfulness random rank'));
    const all = [
      { mode: 'deletion' as const, rank: ranked, base: zero },
      { mode: 'insertion' as const, rank: ranked, base: blur },
      { mode: 'deletion' as const, rank: random, base: zero },
      { mode: 'insertion' as const, rank: random, base: blur },
    ];
    const jobs = all.filter((j) => wanted.includes(j.mode) && (o.random !== false || j.rank === ranked));
    const probs = jobs.map(() => new Array<number>(points).fill(0));
    await inBatches(model, x, {
      total: jobs.length * points,
      batch: o.batch,
      make: (start, count) => {
        // One maskBlend per curve the batch touches, each writing its slice of the batch.
        const out = Tensor.empty(model.rt, [count, x.c, x.h, x.w], 'faithfulness batch');
        for (let s = 0; s < count;) {
          const j = Math.floor((start + s) / points);
          const from = (start + s) % points;
          const n = Math.min(points - from, count - s);
          const view = Tensor.view(model.rt, out.buffer, [n, x.c, x.h, x.w], 'faithfulness batch slice', s * x.c * x.h * x.w);
          maskBlend(image, jobs[j].base, jobs[j].rank, counts.slice(from, from + n), { mode: jobs[j].mode, out: view });
          s += n;
        }
        return out;
      },
      use: async (batch, start, count) => {
        model.forward(batch, { keep: false });
        const p = await readScores(model, index, 'prob');
        for (let s = 0; s < count; s++) probs[Math.floor((start + s) / points)][(start + s) % points] = p[s];
      },
    }, ctx, 'faithfulness');
    return { fractions: counts.map((c) => c / hw), ...curvesOf(all.map((j) => probs[jobs.indexOf(j)])) };
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** The four curves with their AUCs (a curve not computed is empty, AUC NaN). */
function curvesOf(p: (number[] | undefined)[]): Omit<FaithfulnessScores, 'fractions'> {
  const curve = (q: number[] | undefined): Curve => (q ? { probs: q, auc: areaUnder(q) } : { probs: [], auc: NaN });
  return { deletion: curve(p[0]), insertion: curve(p[1]), randomDeletion: curve(p[2]), randomInsertion: curve(p[3]) };
}
/** The faithfulness block of an attribution technique's summary. */
export function faithfulnessSummary(f: FaithfulnessScores): Record<string, unknown> {
  return {
    deletionAuc: f.deletion.auc,
    insertionAuc: f.insertion.auc,
    randomDeletionAuc: f.randomDeletion.auc,
    randomInsertionAuc: f.randomInsertion.auc,
    fractions: f.fractions,
    deletion: f.deletion.probs,
    insertion: f.insertion.probs,
    randomDeletion: f.randomDeletion.probs,
    randomInsertion: f.randomInsertion.probs,
  };
}

// ---- the technique: any attribution method's map, scored -----------------------------------------

/** The attribution techniques `faithfulness --method` can score (all in the registry). */
export const FAITHFULNESS_METHODS = ['saliency', 'guided', 'occlusion', 'gradcam', 'smoothgrad', 'integrated-gradients'] as const;

export interface FaithfulnessResult {
  method: string;
  target: Target;
  scores: FaithfulnessScores;
  /** The method's own summary (its class, options, numbers). */
  methodSummary: Record<string, unknown>;
  ms: number;
}

/** The (H, W) pixel map of a method's result: its attributionMap, else from its raw array ((H, W) or max_c |(C, H, W)|). */
export function attributionMapOf(t: Technique<any, any>, result: unknown, ctx: TechniqueContext, h: number, w: number): Float32Array {
  const own = (result as { attributionMap?: Float32Array }).attributionMap;
  if (own) return own;
  const { data, shape } = t.present(result, ctx).raw;
  const dims = shape.filter((d, i) => !(d === 1 && i < shape.length - 2));
  if (dims.length === 2 && dims[0] === h && dims[1] === w) return data;
  if (dims.length === 3 && dims[1] === h && dims[2] === w) return channelMaxAbs(data, dims[0], h * w);
  throw new Error(`faithfulness: --method ${t.name} gives a (${shape.join(', ')}) array, not an (H, W) or (C, H, W) map of the ${h}x${w} input`);
}

export const faithfulnessTechnique: Technique<Options, FaithfulnessResult> = {
  name: 'faithfulness',
  title: 'Faithfulness (deletion / insertion)',
  group: 'gradients',
  description: 'Petsiuk et al. (2018): delete the pixels an attribution method ranks highest (or restore them onto a blurred copy) step by step and watch the class probability; a faithful map makes it fall fast (low deletion AUC) and rise fast (high insertion AUC), compared with a random order.',
  needsImage: true,
  options: [
    { kind: 'enum', name: 'method', choices: FAITHFULNESS_METHODS, help: 'attribution method whose map is scored (run with its default options)', default: 'saliency' },
    CLASS_OPTION,
    ...FAITHFULNESS_OPTIONS.slice(1),
    { kind: 'int', name: 'batch', help: 'curve points per forward pass', default: 16, min: 1 },
    { kind: 'int', name: 'seed', help: 'seed of the random-order baseline', default: 0, min: 0 },
  ],
  async run(ctx, o) {
    const t0 = performance.now();
    const { techniqueByName } = await import('./index');
    const method = techniqueByName(String(o.method));
    const mo = { ...defaultOptions(method), class: o.class };
    const result = (await method.run({ ...ctx, onProgress: undefined }, mo)) as { target?: Target; input?: InputImage };
    if (!result.target) throw new Error(`faithfulness: --method ${method.name} did not explain a class`);
    const x = result.input ?? (await readInput(ctx.model, ctx.image, 'faithfulness'));
    const map = attributionMapOf(method, result, ctx, x.h, x.w);
    const scores = await faithfulness(ctx.model, x, result.target.index, map, { steps: Number(o.faithSteps), batch: Number(o.batch), blurSigma: Number(o.faithBlur), seed: Number(o.seed), region: Number(o.faithRegion) }, ctx);
    return { method: method.name, target: result.target, scores, methodSummary: method.present(result, ctx).summary, ms: Math.round(performance.now() - t0) };
  },
  present(r) {
    const { scores: f } = r;
    const curves = [f.deletion, f.insertion, f.randomDeletion, f.randomInsertion];
    const data = new Float32Array(curves.flatMap((c) => c.probs));
    return {
      views: [{ suffix: '', meaning: `deletion / insertion curves of ${r.method}: class probability vs fraction of pixels changed`, image: curvePlot(f) }],
      raw: { data, shape: [4, f.fractions.length], meaning: 'class probability curves: deletion, insertion, random deletion, random insertion (rows) at summary.faithfulness.fractions' },
      summary: { method: r.method, class: { index: r.target.index, label: r.target.label }, faithfulness: faithfulnessSummary(f), methodSummary: r.methodSummary, ms: r.ms },
    };
  },
};
