// Occlusion sensitivity (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
// ECCV 2014, section 4.2): a square patch, filled with the image's own mean colour, slides over the
// input; each occluded copy goes through the network (in batches) and the class probability at
// every window position forms the heat map. A drop in probability marks a part the network needs.
//
// The occluded copies are made on the GPU (occludeBatch: one dispatch per batch from the one
// uploaded image). Windows start at y, x = 0, stride, 2 stride, ... while the patch fits (rows = floor((H - patch) /
// stride) + 1, the same for columns); every window is reported in input pixels so anyone can
// recompute one. For faithfulness and overlays the windows also give a pixel map: the mean drop
// (p(image) - p(occluded)) over the windows that cover each pixel.

import type { Model } from '../models/graph';
import { broadcastSamples, occludeBatch, type Window } from '../ops/batch_input';
import { channelMeans, inBatches, readScores, uploadImage, type InputImage } from './attribution';
import { attributionViews, finish, prepare, presentAttribution, type AttributionBase } from './attribution_present';
import { FAITHFULNESS_OPTIONS } from './faithfulness';
import { CLASS_OPTION } from './resolve';
import type { Options, Technique, TechniqueContext } from './technique';

export type OcclusionFill = 'mean' | 'image';

export interface OcclusionOptions {
  /** Side of the square patch, in input pixels. */
  patch: number;
  stride: number;
  /** Occluded copies per forward pass. */
  batch: number;
  /** 'mean': the image's mean colour (the paper's grey square); 'image': the image itself (changes nothing; a check). */
  fill: OcclusionFill;
}

export interface OcclusionWindow {
  y: number;
  x: number;
  size: number;
  prob: number;
}

export interface OcclusionMap {
  rows: number;
  cols: number;
  /** Probability of the class with each window occluded, row-major (rows, cols). */
  probs: Float32Array;
  windows: OcclusionWindow[];
  /** Probability of the class on the unoccluded image. */
  prob: number;
  /** Mean probability drop over the windows covering each pixel, (H, W); 0 where none covers it. */
  map: Float32Array;
}

/** Window origins along one axis of length `len`. */
export function windowStarts(len: number, patch: number, stride: number, what: string): number[] {
  if (!Number.isInteger(patch) || patch < 1 || patch > len) throw new Error(`occlusion: --patch must be an integer in [1, ${len}] (the input ${what}), got ${patch}`);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`occlusion: --stride must be a positive integer, got ${stride}`);
  return Array.from({ length: Math.floor((len - patch) / stride) + 1 }, (_, i) => i * stride);
}

/** Slide the patch over `x` and record class `index`'s probability at every window. */
export async function occlude(model: Model, x: InputImage, index: number, o: OcclusionOptions, ctx: TechniqueContext = { model }): Promise<OcclusionMap> {
  const ys = windowStarts(x.h, o.patch, o.stride, 'height');
  const xs = windowStarts(x.w, o.patch, o.stride, 'width');
  const rows = ys.length;
  const cols = xs.length;
  // Window 0 lies below the image (occludes nothing): the unoccluded image, the reference probability.
  const windows: Window[] = [{ y: x.h, x: 0, size: 1 }, ...ys.flatMap((y) => xs.map((left) => ({ y, x: left, size: o.patch })))];
  const probs = new Float32Array(rows * cols);
  let prob = 0;
  const image = uploadImage(model, x, 'occlusion image');
  try {
    await inBatches(model, x, {
      total: windows.length,
      batch: o.batch,
      make: (start, count) => (o.fill === 'mean' ? occludeBatch(image, windows.slice(start, start + count), channelMeans(x)) : broadcastSamples(image, count)),
      use: async (batch, start, count) => {
        model.forward(batch, { keep: false });
        const p = await readScores(model, index, 'prob');
        for (let s = 0; s < count; s++) {
          if (start + s === 0) prob = p[0];
          else probs[start + s - 1] = p[s];
        }
      },
    }, ctx, 'occlusion');
  } finally {
    image.dispose();
  }
  const list = windows.slice(1).map((w, k) => ({ ...w, prob: probs[k] }));
  return { rows, cols, probs, windows: list, prob, map: coverageMap(x.h, x.w, list, prob) };
}

/** Mean of (prob - window prob) over the windows covering each pixel. */
function coverageMap(h: number, w: number, windows: OcclusionWindow[], prob: number): Float32Array {
  const sum = new Float64Array(h * w);
  const count = new Uint32Array(h * w);
  for (const win of windows) {
    for (let y = win.y; y < win.y + win.size; y++) {
      for (let x = win.x; x < win.x + win.size; x++) {
        sum[y * w + x] += prob - win.prob;
        count[y * w + x]++;
      }
    }
  }
  return Float32Array.from(sum, (s, i) => (count[i] ? s / count[i] : 0));
}

// ---- the technique ------------------------------------------------------------------------------

export interface OcclusionResult extends AttributionBase {
  occlusion: OcclusionMap;
}

export const occlusion: Technique<Options, OcclusionResult> = {
  name: 'occlusion',
  title: 'Occlusion sensitivity',
  group: 'last-layer',
  description: 'Zeiler & Fergus (2014): slide a square of the image\'s mean colour over the input and record the class probability at every position; where it drops, the network was looking.',
  needsImage: true,
  options: [
    CLASS_OPTION,
    { kind: 'int', name: 'patch', help: 'side of the occluding square, in input pixels', default: 32, min: 1 },
    { kind: 'int', name: 'stride', help: 'step between window positions, in input pixels', default: 16, min: 1 },
    { kind: 'enum', name: 'fill', choices: ['mean', 'image'], help: "patch colour: the image's mean colour, or the image itself (changes nothing; a check)", default: 'mean' },
    { kind: 'int', name: 'batch', help: 'occluded copies per forward pass', default: 16, min: 1 },
    ...FAITHFULNESS_OPTIONS,
  ],
  async run(ctx, o) {
    const { x, target, t0 } = await prepare(ctx, o, 'occlusion');
    const occ = await occlude(ctx.model, x, target.index, { patch: Number(o.patch), stride: Number(o.stride), batch: Number(o.batch), fill: o.fill as OcclusionFill }, ctx);
    return { ...(await finish(ctx, o, x, target, occ.map, t0)), occlusion: occ };
  },
  present(r, ctx) {
    const { rows, cols, probs, windows, prob } = r.occlusion;
    const views = attributionViews(ctx.model, r.input, probs, cols, rows, 'class probability with the patch at each window (dark: the network needs that part)', { normalize: 'minmax' });
    return presentAttribution(r, views, { data: probs, shape: [rows, cols], meaning: 'class probability with the patch at each window (rows, cols), windows as in summary.windows' }, {
      unoccludedProb: prob, rows, cols, windows,
    });
  },
};
