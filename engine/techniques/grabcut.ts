// GrabCut seeded by saliency (Simonyan, Vedaldi & Zisserman 2014, section 3.1; Rother, Kolmogorov &
// Blake 2004): the pixels whose saliency is above a high quantile are sure foreground, those below
// a low quantile sure background, the rest "probably foreground" (saliency at or above the
// `probable` quantile) or "probably background"; GrabCut then fits a colour GMM (5 components) to
// each side, labels every pixel by a min-cut of colour likelihood plus a contrast-sensitive
// smoothness term, refits, and iterates. The sure seeds never change; the probable ones may.
//
// `grabcutFromSaliency` is the pure part (an image and a map in, masks out; no model), used by the
// technique below, the app and the CLI. GrabCut itself is OpenCV's (cv.grabCut, WebAssembly build,
// loaded lazily by ./opencv.ts on first use): in a page it runs in a worker (grabcut_worker.ts), so
// loading OpenCV and cutting never hold the page's main thread; in Node, in-process.

import { createImage, overlay, percentile } from '../display/index';
import { channelMaxAbs, type ScoreKind } from './attribution';
import { cutWithOpenCv, type CutJob } from './grabcut_cut';
import { loadOpenCv } from './opencv';
import { enlarge, since, targetSummary, VIEW_TARGET } from './present';
import { CLASS_OPTION, SCORE_OPTION, type Target } from './resolve';
import { classGradient } from './saliency';
import { canUseWorkers, WorkerCalls } from '../worker_calls';
import { throwIfAborted, type OptionSpec, type Options, type RgbaImage, type Technique, type View } from './technique';

/** OpenCV's GrabCut mask codes (cv.GC_*), the values of `seeds`. */
export const GC = { BGD: 0, FGD: 1, PR_BGD: 2, PR_FGD: 3 } as const;

export interface GrabcutParams {
  /** Saliency at or above this quantile is sure foreground (default 0.95: the top 5%). */
  fgQuantile?: number;
  /** Saliency at or below this quantile is sure background (default 0.30: the bottom 30%). */
  bgQuantile?: number;
  /**
   * Between the two, saliency at or above this quantile starts as probable foreground, the rest as
   * probable background (default: the midpoint of bgQuantile and fgQuantile).
   */
  probableQuantile?: number;
  /** GrabCut iterations (GMM refit + min-cut), default 5. */
  iterations?: number;
}

export interface GrabcutSegmentation {
  width: number;
  height: number;
  /** 1 = foreground, 0 = background, (H, W) row-major. */
  mask: Uint8Array;
  /** The GrabCut mask given to OpenCV (GC codes: 0 bg, 1 fg, 2 probable bg, 3 probable fg). */
  seeds: Uint8Array;
  /** The saliency values at the three quantiles. */
  thresholds: { fg: number; bg: number; probable: number };
  params: Required<GrabcutParams>;
  /** Pixels per seed code, and the foreground fraction of the result. */
  counts: { bgd: number; fgd: number; prBgd: number; prFgd: number };
  foreground: number;
  ms: number;
}

export const GRABCUT_DEFAULTS = { fgQuantile: 0.95, bgQuantile: 0.3, iterations: 5 } as const;

/** Checked parameters with defaults filled in. */
export function grabcutParams(p: GrabcutParams = {}): Required<GrabcutParams> {
  const fgQuantile = p.fgQuantile ?? GRABCUT_DEFAULTS.fgQuantile;
  const bgQuantile = p.bgQuantile ?? GRABCUT_DEFAULTS.bgQuantile;
  const probableQuantile = p.probableQuantile ?? (fgQuantile + bgQuantile) / 2;
  const iterations = p.iterations ?? GRABCUT_DEFAULTS.iterations;
  const bad = (msg: string) => new Error(`grabcut: ${msg}`);
  for (const [name, q] of [['fgQuantile', fgQuantile], ['bgQuantile', bgQuantile], ['probableQuantile', probableQuantile]] as const) {
    if (!(q >= 0 && q <= 1)) throw bad(`${name} must be in [0, 1], got ${q}`);
  }
  if (!(bgQuantile < fgQuantile)) throw bad(`bgQuantile (${bgQuantile}) must be below fgQuantile (${fgQuantile})`);
  if (!(probableQuantile >= bgQuantile && probableQuantile <= fgQuantile)) {
    throw bad(`probableQuantile (${probableQuantile}) must lie between bgQuantile (${bgQuantile}) and fgQuantile (${fgQuantile})`);
  }
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw bad(`iterations must be a positive integer, got ${iterations}`);
  return { fgQuantile, bgQuantile, probableQuantile, iterations };
}

/**
 * The GrabCut seed mask of a saliency map (GC codes). Sure foreground takes precedence over sure
 * background where the two thresholds meet (a map with few distinct values).
 */
export function saliencySeeds(saliency: ArrayLike<number>, p: Required<GrabcutParams>): { seeds: Uint8Array; thresholds: GrabcutSegmentation['thresholds'] } {
  const fg = percentile(saliency, 100 * p.fgQuantile);
  const bg = percentile(saliency, 100 * p.bgQuantile);
  const probable = percentile(saliency, 100 * p.probableQuantile);
  const seeds = new Uint8Array(saliency.length);
  for (let i = 0; i < saliency.length; i++) {
    const s = saliency[i];
    seeds[i] = s >= fg ? GC.FGD : s <= bg ? GC.BGD : s >= probable ? GC.PR_FGD : GC.PR_BGD;
  }
  return { seeds, thresholds: { fg, bg, probable } };
}

function countSeeds(seeds: Uint8Array): GrabcutSegmentation['counts'] {
  const n = [0, 0, 0, 0];
  for (const s of seeds) n[s]++;
  return { bgd: n[GC.BGD], fgd: n[GC.FGD], prBgd: n[GC.PR_BGD], prFgd: n[GC.PR_FGD] };
}

/** Fewest pixels each side needs: OpenCV fits a 5-component GMM to it by k-means. */
const MIN_SIDE = 5;

/**
 * Segment the object of `image` from its saliency map (H * W values, the image's size): seeds from
 * the quantiles, then OpenCV's GrabCut. Every cv.Mat created here is freed before returning.
 */
export async function grabcutFromSaliency(image: RgbaImage, saliency: ArrayLike<number>, params: GrabcutParams = {}): Promise<GrabcutSegmentation> {
  const { width, height, rgba } = image;
  const n = width * height;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) throw new Error(`grabcut: image size must be positive integers, got ${width}x${height}`);
  if (rgba.length !== n * 4) throw new Error(`grabcut: image has ${rgba.length} bytes, expected width * height * 4 = ${n * 4} for ${width}x${height}`);
  if (saliency.length !== n) throw new Error(`grabcut: saliency has ${saliency.length} values, expected one per image pixel, ${width} x ${height} = ${n}`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(saliency[i])) throw new Error(`grabcut: saliency[${i}] is ${saliency[i]} (pixel x ${i % width}, y ${Math.floor(i / width)}); it must be finite`);
  const p = grabcutParams(params);
  const { seeds, thresholds } = saliencySeeds(saliency, p);
  const counts = countSeeds(seeds);
  if (counts.fgd + counts.prFgd < MIN_SIDE || counts.bgd + counts.prBgd < MIN_SIDE) {
    throw new Error(
      `grabcut: the saliency map gives ${counts.fgd + counts.prFgd} foreground and ${counts.bgd + counts.prBgd} background pixels; ` +
        `GrabCut needs at least ${MIN_SIDE} of each (is the map constant? its quantiles are bg ${thresholds.bg}, fg ${thresholds.fg})`,
    );
  }
  const t0 = performance.now();
  const out = await cut({ width, height, rgba, seeds, iterations: p.iterations });
  const mask = new Uint8Array(n);
  let fgCount = 0;
  for (let i = 0; i < n; i++) fgCount += mask[i] = out[i] === GC.FGD || out[i] === GC.PR_FGD ? 1 : 0;
  return { width, height, mask, seeds, thresholds, params: p, counts, foreground: fgCount / n, ms: performance.now() - t0 };
}

/** OpenCV's GrabCut of `job`: in the page's worker where there is a page, else in this thread. */
async function cut(job: CutJob): Promise<Uint8Array> {
  if (canUseWorkers()) {
    // Copies (not transfers): the caller keeps its image and seeds.
    return cutWorker.call(job).catch((e: Error) => {
      throw new Error(`grabcut: ${e.message}`);
    });
  }
  const { cv } = await loadOpenCv();
  return cutWithOpenCv(cv, job);
}

/** The page's GrabCut worker (started on first use, kept: OpenCV stays loaded in it); a failed one is started afresh next time. */
const cutWorker = new WorkerCalls<CutJob, Uint8Array>(
  () => new Worker(new URL('./grabcut_worker.ts', import.meta.url), { type: 'module', name: 'cnnvis grabcut' }),
  'the OpenCV worker',
);

/** Intersection over union of two 0/1 masks (1 when both are empty). */
export function maskIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maskIoU: masks have ${a.length} and ${b.length} pixels`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0;
    const y = b[i] !== 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

// ---- The technique: saliency of the class score on the network's input, then GrabCut on it. ----

export interface GrabcutOptions extends Options {
  class: string;
  score: ScoreKind;
  fgQuantile: number;
  bgQuantile: number;
  /** -1: the midpoint of bgQuantile and fgQuantile. */
  probableQuantile: number;
  iterations: number;
}

export interface GrabcutResult {
  segmentation: GrabcutSegmentation;
  /** The saliency map GrabCut was seeded from, max_c |d score / d x|, (H, W). */
  saliency: Float32Array;
  /** The network's input as a picture (after resize and crop): what was segmented. */
  image: RgbaImage;
  target: Target;
  ms: { saliency: number; grabcut: number; total: number };
}

const quantileOption = (name: string, help: string, def: number, min = 0): OptionSpec => ({ kind: 'number', name, help, default: def, min, max: 1, step: 0.05 });

export const grabcut: Technique<GrabcutOptions, GrabcutResult> = {
  name: 'grabcut',
  title: 'GrabCut from saliency',
  group: 'gradients',
  description:
    'Segments the object from its saliency map, as Simonyan, Vedaldi and Zisserman (2014) did: the most salient pixels are sure foreground, the least salient sure background, and GrabCut (Rother, Kolmogorov and Blake, 2004: colour GMMs and a graph min-cut, iterated; OpenCV\'s implementation) labels the rest.',
  needsImage: true,
  options: [
    CLASS_OPTION,
    SCORE_OPTION,
    quantileOption('fgQuantile', 'saliency quantile at and above which pixels are sure foreground', GRABCUT_DEFAULTS.fgQuantile),
    quantileOption('bgQuantile', 'saliency quantile at and below which pixels are sure background', GRABCUT_DEFAULTS.bgQuantile),
    quantileOption('probableQuantile', 'between the seeds, pixels at or above this quantile start as probable foreground (-1: midway)', -1, -1),
    { kind: 'int', name: 'iterations', help: 'GrabCut iterations (GMM refit + min-cut)', default: GRABCUT_DEFAULTS.iterations, min: 1, max: 50 },
  ],
  presets: { simonyan2014: { fgQuantile: 0.95, bgQuantile: 0.3 } },
  async run(ctx, o) {
    const t0 = performance.now();
    const params = grabcutParams({ fgQuantile: o.fgQuantile, bgQuantile: o.bgQuantile, iterations: o.iterations, ...(o.probableQuantile >= 0 ? { probableQuantile: o.probableQuantile } : {}) });
    ctx.onProgress?.(0, 2);
    const g = await classGradient(ctx.model, ctx, o.class, o.score, 'grabcut');
    const map = channelMaxAbs(g.gradient, 3, g.width * g.height);
    const tSal = since(t0);
    ctx.onProgress?.(1, 2);
    throwIfAborted(ctx.signal);
    const segmentation = await grabcutFromSaliency(g.image, map, params);
    ctx.onProgress?.(2, 2);
    return { segmentation, saliency: map, image: g.image, target: g.target, ms: { saliency: tSal, grabcut: Math.round(segmentation.ms * 10) / 10, total: since(t0) } };
  },
  present(r) {
    const s = r.segmentation;
    return {
      views: grabcutViews(r.image, s),
      raw: { data: Float32Array.from(s.mask), shape: [s.height, s.width], meaning: 'GrabCut foreground mask (1 = object, 0 = background) on the network input, (H, W)' },
      summary: {
        ...targetSummary(r.target),
        inputSize: [s.height, s.width],
        foregroundFraction: s.foreground,
        quantiles: { fg: s.params.fgQuantile, bg: s.params.bgQuantile, probable: s.params.probableQuantile },
        thresholds: s.thresholds,
        seedCounts: s.counts,
        iterations: s.params.iterations,
        ms: r.ms,
      },
    };
  },
};

/** Seed colours: sure / probable foreground red, sure / probable background blue. */
const SEED_RGB = [[40, 80, 255], [255, 40, 40], [40, 80, 255], [255, 40, 40]];
const SEED_WEIGHT = [1, 1, 0.35, 0.35];

/** The cut-out (background a dimmed grey checkerboard), the mask, and the seeds over the image. */
export function grabcutViews(input: RgbaImage, s: GrabcutSegmentation): View[] {
  const { width: w, height: h } = s;
  const cut = createImage(w, h);
  const maskImg = createImage(w, h);
  const seedImg = createImage(w, h);
  const weight = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const o = i * 4;
    const checker = ((Math.floor((i % w) / 4) + Math.floor(i / w / 4)) & 1) === 0 ? 200 : 235;
    const grey = (input.rgba[o] + input.rgba[o + 1] + input.rgba[o + 2]) / 3;
    for (let c = 0; c < 3; c++) {
      cut.rgba[o + c] = s.mask[i] ? input.rgba[o + c] : 0.75 * checker + 0.25 * grey;
      maskImg.rgba[o + c] = s.mask[i] * 255;
      seedImg.rgba[o + c] = SEED_RGB[s.seeds[i]][c];
    }
    weight[i] = SEED_WEIGHT[s.seeds[i]];
  }
  const seeds = overlay(input, seedImg, 0.6, weight);
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  return [
    { suffix: '', meaning: `GrabCut cut-out: the object (${pct(s.foreground)} of the image) with the background greyed out`, image: enlarge(cut, VIEW_TARGET) },
    { suffix: 'mask', meaning: 'GrabCut mask: white = foreground', image: enlarge(maskImg, VIEW_TARGET) },
    {
      suffix: 'seeds',
      meaning: `seeds from the saliency: red = sure foreground (top ${pct(1 - s.params.fgQuantile)}), blue = sure background (bottom ${pct(s.params.bgQuantile)}), faint = probable`,
      image: enlarge(seeds, VIEW_TARGET),
    },
  ];
}
