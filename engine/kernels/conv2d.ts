// Conv2d kernels: pipelines, variant choice and dispatch arithmetic for the forward, the backward
// to the input and the backward to the weights and bias. Shapes are checked by engine/ops/conv2d.ts.

import forwardCode from '../../shaders/conv2d.wgsl?raw';
import backwardInputCode from '../../shaders/conv2d_backward_input.wgsl?raw';
import backwardWeightsCode from '../../shaders/conv2d_backward_weights.wgsl?raw';
import directSubgroupCode from '../../shaders/conv2d_direct_subgroup.wgsl?raw';
import type { DispatchCost, Resources, Runtime, UniformValues } from '../runtime';
import { Usage } from '../buffer_pool';
import { Tensor } from '../tensor';
import { cost, defineKernel, dispatchFolded, sampleGrid } from './kernel';
import { dispatchSumStack } from './sum';

/** 'direct': register-blocked, no workgroup memory (CPU adapters); 'tiled': implicit GEMM in workgroup memory (GPUs). */
export const CONV2D_VARIANTS = ['direct', 'tiled'] as const;
export type Conv2dVariant = (typeof CONV2D_VARIANTS)[number];

export const conv2dKernel = defineKernel({
  name: 'conv2d', code: forwardCode, entryPoints: ['conv2d_direct', 'conv2d_1x1', 'conv2d_tiled', 'conv2d_split_sum'], variants: CONV2D_VARIANTS,
});
/** The direct entry points with weight loads shared across a subgroup (devices with 'subgroups' of at least 4 lanes; see conv2dDirectSubgroups). */
export const conv2dDirectSubgroupKernel = defineKernel({
  name: 'conv2d_direct_subgroup', code: directSubgroupCode, entryPoints: ['conv2d_direct_sg', 'conv2d_direct3_sg', 'conv2d_direct5_sg', 'conv2d_1x1_sg'], variants: CONV2D_VARIANTS,
});
export const conv2dBackwardInputKernel = defineKernel({
  name: 'conv2d_backward_input', code: backwardInputCode, entryPoints: ['backward_input_direct', 'backward_input_tiled'], variants: CONV2D_VARIANTS,
});
export const conv2dBackwardWeightsKernel = defineKernel({
  name: 'conv2d_backward_weights', code: backwardWeightsCode, entryPoints: ['backward_weights', 'backward_bias'],
});

/** Workgroup size of the one-dimensional entry points. */
const WG = 64;
/**
 * conv2d_direct / conv2d_1x1: workgroup size (32: their 16 x 8 blocks leave few invocations per
 * layer, and smaller workgroups share them more evenly between CPU cores) and the output channels
 * x columns of a block (fixed in the WGSL).
 */
const DIRECT_WG = 32;
/**
 * conv2d_direct_subgroup.wgsl's workgroup size: 16. Its invocations past the last block still
 * compute (they take part in the broadcasts) and store nothing, so smaller workgroups waste less;
 * on SwiftShader 16 measured as fast as 32 or faster on every layer tried (up to 1.6x less CPU
 * time on 14 x 14 1x1 layers, where 32 leaves only a few workgroups for the cores).
 */
const DIRECT_SG_WG = 16;
/**
 * The workgroup size for `blocks` invocations per channel block on conv2d_direct_subgroup.wgsl:
 * 16, or 8 or 4 where 16 would leave over 10% more idle lanes than the best of the three (7 x 7
 * layers: 7 blocks run in one workgroup of 16 lanes, 9 of them idle). The lanes past the last
 * block compute and store nothing, so on SwiftShader they cost as much as live ones: on
 * GoogLeNet's 7 x 7 layers 8 lanes instead of 16 halved the time forward and backward (1.8-2.3x);
 * on SqueezeNet's 13 x 13 1x1 convs (22 blocks: 24 lanes) 1.3x.
 */
export function directSgWorkgroup(blocks: number): number {
  const lanes = (wg: number) => ceil(blocks, wg) * wg;
  const best = Math.min(...SG_WORKGROUPS.map(lanes));
  return SG_WORKGROUPS.find((wg) => lanes(wg) <= 1.1 * best)!;
}
/** Workgroup sizes conv2d_direct_subgroup.wgsl runs at, largest first (at least 4: lanes 0..3 broadcast the weights). */
const SG_WORKGROUPS = [DIRECT_SG_WG, 8, 4];
/** conv2d_direct_subgroup.wgsl's entry points that load each input row once for all its taps (stride 1 along x), by kernel width. */
const ROW_SHARED_SG: Partial<Record<number, string>> = { 3: 'conv2d_direct3_sg', 5: 'conv2d_direct5_sg' };
const DIRECT_CB = 16;
const DIRECT_XB = 8;
/** Channels x columns of a backward_input_direct block (fixed in the WGSL). */
const BLOCK = 4;
/** K step of the tiled entry points. */
const BK = 16;
/**
 * The 'tiled' variant falls back to the direct entry points where a tile would be mostly
 * padding: fewer than TILED_MIN_CHANNELS rows (output channels per group forward, input channels
 * per group backward; e.g. a conv1's 3 input channels would waste 90% of every tile) or, for the
 * backward to the input, a stride > 1 (then all but 1/(sh*sw) of the gathered taps are zero).
 */
const TILED_MIN_CHANNELS = 16;

/** A tiled launch: TM channels x TN pixels per workgroup, K split into `splits` chunks. */
export interface ConvTiling { tm: 32 | 64; tn: 32 | 64; splits: number }
/** Tiles the WGSL supports (channels x pixels), largest first. */
export const CONV2D_TILES: readonly (readonly [32 | 64, 32 | 64])[] = [[64, 64], [64, 32], [32, 64], [32, 32]];
/** Workgroups a launch should reach to fill a large GPU: 2 per SM of a 132-SM H100. */
export const TARGET_WORKGROUPS = 264;
/** Split-K never cuts K into chunks shorter than this, nor into more than MAX_SPLITS. */
const MIN_SPLIT_K = 64;
const MAX_SPLITS = 16;

/**
 * The tile rule, for an M x P (channels x pixels) output per group and sample, K-deep, run for
 * `batches` = N * groups independent products: the largest tile whose grid reaches
 * TARGET_WORKGROUPS (between 64x32 and 32x64 the one wasting less on padding); where even 32x32
 * tiles do not (small spatial sizes at batch 1), 32x32 with K split into enough chunks to reach
 * it, at most MAX_SPLITS and none shorter than MIN_SPLIT_K. The partial sums then go through a
 * deterministic second pass.
 */
export function conv2dTiling(m: number | readonly number[], p: number, k: number, batches: number): ConvTiling {
  // A multi-conv launch (m: each part's channels) stacks the parts' channel blocks.
  const ms = typeof m === 'number' ? [m] : m;
  const blocks = (tm: number) => ms.reduce((s, mi) => s + Math.ceil(mi / tm), 0);
  const grid = (tm: number, tn: number) => blocks(tm) * Math.ceil(p / tn) * batches;
  const padded = (tm: number, tn: number) => blocks(tm) * tm * Math.ceil(p / tn) * tn;
  const fits = CONV2D_TILES.filter(([tm, tn]) => grid(tm, tn) >= TARGET_WORKGROUPS);
  if (fits.length) {
    const area = fits[0][0] * fits[0][1];
    const best = fits.filter(([tm, tn]) => tm * tn === area).sort((a, b) => padded(...a) - padded(...b))[0];
    return { tm: best[0], tn: best[1], splits: 1 };
  }
  const splits = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / grid(32, 32)), MAX_SPLITS, Math.floor(k / MIN_SPLIT_K)));
  return { tm: 32, tn: 32, splits };
}

const forcedTilings = new WeakMap<Runtime, ConvTiling>();

/** Tests and benchmarks: run every tiled conv of `rt` with this tiling (null: back to the rule). */
export function forceConv2dTiling(rt: Runtime, tiling: ConvTiling | null): void {
  if (tiling) forcedTilings.set(rt, tiling);
  else forcedTilings.delete(rt);
}

/** The launch of a tiled entry point: tiling, K chunk (a multiple of BK) and the real split count. */
function tiledLaunch(rt: Runtime, m: number, p: number, k: number, batches: number) {
  const t = forcedTilings.get(rt) ?? conv2dTiling(m, p, k, batches);
  const kChunk = Math.ceil(k / t.splits / BK) * BK;
  return { tm: t.tm, tn: t.tn, kChunk, splits: Math.ceil(k / kChunk) };
}

/** Overrides of a tiled entry point; TX and TY (its workgroup size) are given so profiles see them. */
const tileConstants = (tm: number, tn: number) => ({ BK, TM: tm, TN: tn, TX: tn / 4, TY: tm / 4 });

/** The part_* uniforms of conv2d.wgsl for launches with no parts (the direct entry points ignore them). */
const NO_PARTS = { part_cout: [0, 0, 0, 0], part_kernel: [0, 0, 0, 0], part_flags: [0, 0, 0, 0], part_w_base: [0, 0, 0, 0], part_b_base: [0, 0, 0, 0], part_y_base: [0, 0, 0, 0], part_y_stride: [0, 0, 0, 0] };
/** Uniforms of an unsplit launch of conv2d.wgsl (direct entry points ignore them). */
const UNSPLIT = { splits: 1, split_stride: 0 };
/** The same for conv2d_backward_input.wgsl, whose tiled entry point takes its K chunk as a uniform. */
const UNSPLIT_DX = { ...UNSPLIT, k_chunk: 0 };

/** Everything the kernels need to know about one convolution, derived from checked shapes. */
export interface ConvGeometry {
  n: number; cin: number; h: number; w: number;
  cout: number; oh: number; ow: number;
  kh: number; kw: number; sh: number; sw: number;
  /** Top and left padding (bottom and right only shape OH and OW). */
  pt: number; pl: number;
  groups: number;
}

const ceil = (a: number, b: number) => Math.ceil(a / b);

/** Multiply-adds x 2 of the convolution (forward, backward to the input and to the weights alike). */
export function conv2dFlops(g: ConvGeometry): number {
  return 2 * g.n * g.cout * g.oh * g.ow * (g.cin / g.groups) * g.kh * g.kw;
}

function shared(g: ConvGeometry) {
  const { cin, h, w, cout, oh, ow, kh, kw, sh, sw, pt, pl } = g;
  return { cin, h, w, cout, oh, ow, kh, kw, sh, sw, pt, pl, cin_g: cin / g.groups, cout_g: cout / g.groups };
}

export function conv2dVariant(rt: Runtime): Conv2dVariant {
  const v = rt.variant<string>('conv2d', { cpu: 'direct', gpu: 'tiled' });
  if (!(CONV2D_VARIANTS as readonly string[]).includes(v)) throw new Error(`conv2d: unknown variant '${v}' (${CONV2D_VARIANTS.join(', ')})`);
  return v as Conv2dVariant;
}

/** y = conv(x, w) + b (+ ReLU). A 1x1, stride-1, unpadded conv runs as a plain matrix product on the direct path. */
export function dispatchConv2d(rt: Runtime, g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, relu: boolean): void {
  if (conv2dVariant(rt) === 'tiled' && conv2dTiledTakes(g.cout / g.groups, g.kh, g.kw, g.pt, g.pl)) {
    dispatchTiled(rt, x, [{ g, w, b, y, relu }]);
    return;
  }
  // Uniforms as a list of parts (packed in order, see engine/uniforms.ts): in V8 an object spread
  // followed by new keys costs ~0.5 us each, and these structs have 30-40 members.
  const base = [shared(g), { has_bias: b ? 1 : 0, relu: relu ? 1 : 0, w_base: w.boundBase, b_base: b ? b.boundBase : 0 }, x.layout('x'), y.layout('y'), directWeights(g, false)];
  dispatchDirect(rt, g, base, { x, wt: w, b: b ?? w, y }, cost(conv2dFlops(g), [x, w, b, y], 'direct'));
}

/** One conv of a tiled launch: its geometry, weights, bias, output and fused ReLU. */
export interface ConvPart { g: ConvGeometry; w: Tensor; b: Tensor | null; y: Tensor; relu: boolean }

/** Most convs one tiled launch runs (the WGSL's part_* vectors have 4 lanes, and 4 output slots). */
export const MAX_CONV_PARTS = 4;

/** Whether conv2d_tiled takes a conv of coutG channels per group, kernel kh x kw, top / left padding pt, pl (packed a byte each). */
export function conv2dTiledTakes(coutG: number, kh: number, kw: number, pt: number, pl: number): boolean {
  return coutG >= TILED_MIN_CHANNELS && Math.max(kh, kw, pt, pl) <= 255;
}

/** Whether convs of one x can share a tiled launch: the 'tiled' variant, at most MAX_CONV_PARTS, one group, one stride and output size. */
export function conv2dFusable(rt: Runtime, gs: readonly ConvGeometry[]): boolean {
  const a = gs[0];
  const same = (g: ConvGeometry) => g.n === a.n && g.cin === a.cin && g.h === a.h && g.w === a.w && g.oh === a.oh && g.ow === a.ow && g.sh === a.sh && g.sw === a.sw;
  return conv2dVariant(rt) === 'tiled' && gs.length >= 1 && gs.length <= MAX_CONV_PARTS && gs.every((g) => g.groups === 1 && same(g) && conv2dTiledTakes(g.cout, g.kh, g.kw, g.pt, g.pl));
}

/**
 * Several convs of the same x: one tiled launch (plus a split-sum pass when K is split) where
 * conv2dFusable allows it and their weights, and their biases, each share one bindable buffer (the
 * weight arena); otherwise one dispatchConv2d each.
 */
export function dispatchConv2dMulti(rt: Runtime, x: Tensor, parts: readonly ConvPart[]): void {
  const biases = parts.flatMap((p) => (p.b ? [p.b] : []));
  if (parts.length > 1 && conv2dFusable(rt, parts.map((p) => p.g)) && span(rt, parts.map((p) => p.w)) && (!biases.length || span(rt, biases))) dispatchTiled(rt, x, parts);
  else for (const p of parts) dispatchConv2d(rt, p.g, x, p.w, p.b, p.y, p.relu);
}

/** One binding over tensors of one buffer and each one's base in it; null across buffers or past the binding limit. */
function span(rt: Runtime, ts: readonly Tensor[]): { binding: GPUBufferBinding; base: (t: Tensor) => number } | null {
  const buffer = ts[0].buffer;
  if (ts.some((t) => t.buffer !== buffer)) return null;
  const bs = ts.map((t) => t.binding());
  const offset = Math.min(...bs.map((b) => b.offset));
  const size = Math.max(...bs.map((b) => b.offset + b.size)) - offset;
  if (size > rt.device.limits.maxStorageBufferBindingSize) return null;
  return { binding: { buffer, offset, size }, base: (t) => t.base - offset / 4 };
}

const unusedSlots = new WeakMap<Runtime, GPUBuffer>();
/** Output slot i (1..3) that a launch leaves unused: its own 256-byte range of one small never-written buffer per runtime. */
function unusedSlot(rt: Runtime, i: number): GPUBufferBinding {
  let buffer = unusedSlots.get(rt);
  if (!buffer) unusedSlots.set(rt, (buffer = rt.device.createBuffer({ label: 'conv2d unused output slots', size: 4 * 256, usage: Usage.STORAGE })));
  return { buffer, offset: 256 * i, size: 16 };
}

/**
 * conv2d_tiled over parts sharing x, stride, groups and output size (one part: a plain conv).
 * One tiling for all: conv2dTiling over the parts' stacked channel blocks with the deepest part's
 * K; every part runs the same split count (its own K chunk in the WGSL). Parts writing one buffer
 * (channel slices of one concat) share an output slot.
 */
function dispatchTiled(rt: Runtime, x: Tensor, parts: readonly ConvPart[]): void {
  const g = parts[0].g;
  const npix = g.oh * g.ow;
  const ms = parts.map((p) => p.g.cout / g.groups);
  const ks = parts.map((p) => (g.cin / g.groups) * p.g.kh * p.g.kw);
  const t = forcedTilings.get(rt) ?? conv2dTiling(ms, npix, Math.max(...ks), g.n * g.groups);
  const splits = Math.max(...ks.map((k) => ceil(k, ceil(k, t.splits * BK) * BK)));
  const program = rt.program({ ...conv2dKernel, entryPoint: 'conv2d_tiled', constants: tileConstants(t.tm, t.tn) });
  const cBlocks = ms.reduce((s, m) => s + ceil(m, t.tm), 0);
  const grid = [ceil(npix, t.tn), g.groups * cBlocks, g.n * splits];
  const total = parts.reduce((s, p) => s + p.g.cout, 0);
  const unused = { has_bias: 0, relu: 0, y_base: 0, y_stride: 0, w_base: 0, b_base: 0, w_group: 0, w_row: 0, w_chan: 0, flip: 0 };
  const common = [shared(g), x.layout('x'), unused, { cout: total, x_blocks: grid[0], c_blocks: cBlocks, splits }];
  const ws = span(rt, parts.map((p) => p.w))!;
  const biases = parts.flatMap((p) => (p.b ? [p.b] : []));
  const bs = biases.length ? span(rt, biases)! : ws;
  // Output slots: one per buffer written.
  const slots: Tensor[][] = [];
  const slotOf = parts.map((p) => {
    let s = slots.findIndex((ts) => ts[0].buffer === p.y.buffer);
    if (s < 0) s = slots.push([]) - 1;
    slots[s].push(p.y);
    return s;
  });
  const outs = slots.map((ts) => span(rt, ts)!);
  const lanes = (f: (p: ConvPart, i: number) => number) => [0, 1, 2, 3].map((i) => (i < parts.length ? f(parts[i], i) : 0));
  const geometry = {
    part_cout: ms.concat([0, 0, 0]).slice(0, 4),
    part_kernel: lanes((p) => p.g.kh + (p.g.kw << 8) + (p.g.pt << 16) + p.g.pl * 0x1000000),
    part_w_base: lanes((p) => ws.base(p.w)),
    part_b_base: lanes((p) => (p.b ? bs.base(p.b) : 0)),
  };
  const final = {
    ...geometry,
    part_flags: lanes((p, i) => (p.b ? 1 : 0) + (p.relu ? 2 : 0) + 4 * slotOf[i]),
    part_y_base: lanes((p, i) => outs[slotOf[i]].base(p.y)),
    part_y_stride: lanes((p) => p.y.batchStride),
  };
  const outputs = { y: outs[0].binding, y1: outs[1]?.binding ?? unusedSlot(rt, 1), y2: outs[2]?.binding ?? unusedSlot(rt, 2), y3: outs[3]?.binding ?? unusedSlot(rt, 3) };
  const flops = parts.reduce((s, p) => s + conv2dFlops(p.g), 0);
  const touched = [x, ...parts.flatMap((p) => [p.w, p.b])];
  if (splits === 1) {
    dispatchFolded(rt, program, { params: [...common, final, { split_stride: 0 }], x, wt: ws.binding, b: bs.binding, ...outputs }, grid, cost(flops, [...touched, ...parts.map((p) => p.y)], 'tiled'));
    return;
  }
  // Partial sums of every split into a dense (S, N, sum of Cout, OH*OW) scratch tensor (slot y), then summed into the outputs.
  const perSample = total * npix;
  const part = Tensor.empty(rt, [splits * g.n, total, g.oh, g.ow], 'conv2d.split_k');
  let c0 = 0;
  const scratch = { ...geometry, part_flags: [0, 0, 0, 0], part_y_base: lanes((p) => ((c0 += p.g.cout) - p.g.cout) * npix), part_y_stride: lanes(() => perSample) };
  const empty = { y1: unusedSlot(rt, 1), y2: unusedSlot(rt, 2), y3: unusedSlot(rt, 3) };
  dispatchFolded(rt, program, { params: [...common, scratch, { split_stride: g.n * perSample }], x, wt: ws.binding, b: bs.binding, y: part, ...empty }, grid, cost(flops, [...touched, part], 'tiled'));
  const sum = rt.program({ ...conv2dKernel, entryPoint: 'conv2d_split_sum', constants: { WG } });
  const sumCost = cost(part.size, [part, ...parts.flatMap((p) => [p.b, p.y])], 'tiled');
  dispatchFolded(rt, sum, { params: [...common, final, { split_stride: g.n * perSample }], b: bs.binding, ...outputs, part }, sampleGrid(perSample, g.n, WG, rt.maxGroups), sumCost);
  part.dispose();
}

/**
 * How the direct entry points read w (Cout, Cin/G, KH, KW) for geometry g: elements between groups,
 * between output-channel rows and between input channels, and whether the taps run backwards.
 * The forward reads w as it lies; the stride-1 backward to the input (`transposed`) runs a forward
 * conv whose output channels are w's input channels and whose input channels are w's outputs.
 */
function directWeights(g: ConvGeometry, transposed: boolean) {
  const kk = g.kh * g.kw;
  const cinG = g.cin / g.groups;
  const group = (g.cout / g.groups) * cinG * kk;
  return transposed ? { w_group: group, w_row: kk, w_chan: cinG * kk, flip: 1 } : { w_group: group, w_row: cinG * kk, w_chan: kk, flip: 0 };
}

/**
 * conv2d_direct, or conv2d_1x1 for a pointwise conv, over the forward geometry g; where the device
 * has subgroups of at least 4 lanes, their conv2d_direct_subgroup.wgsl versions (conv2d_direct3_sg
 * or conv2d_direct5_sg for a 3- or 5-wide kernel at stride 1 along x).
 */
function dispatchDirect(rt: Runtime, g: ConvGeometry, params: readonly UniformValues[], buffers: Resources, c: DispatchCost): void {
  const pointwise = g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.oh === g.h && g.ow === g.w;
  const xBlocks = pointwise ? ceil(g.h * g.w, DIRECT_XB) : ceil(g.ow, DIRECT_XB);
  const cBlocks = ceil(g.cout / g.groups, DIRECT_CB);
  const blocks = pointwise ? xBlocks : g.oh * xBlocks;
  const grid = [ceil(blocks, DIRECT_WG), g.groups * cBlocks, g.n];
  if (conv2dDirectSubgroups(rt)) {
    // Same blocks; a 3- or 5-wide kernel at stride 1 along x also shares its row's input loads.
    const entryPoint = pointwise ? 'conv2d_1x1_sg' : (g.sw === 1 && ROW_SHARED_SG[g.kw]) || 'conv2d_direct_sg';
    const wg = directSgWorkgroup(blocks);
    const program = rt.program({ ...conv2dDirectSubgroupKernel, entryPoint, constants: { WG: wg } });
    dispatchFolded(rt, program, { params: [...params, { x_blocks: xBlocks, c_blocks: cBlocks }], ...buffers }, [ceil(blocks, wg), grid[1], grid[2]], c);
    return;
  }
  const program = rt.program({ ...conv2dKernel, entryPoint: pointwise ? 'conv2d_1x1' : 'conv2d_direct', constants: { WG: DIRECT_WG } });
  const all = [...params, UNSPLIT, NO_PARTS, { x_blocks: xBlocks, c_blocks: cBlocks }];
  dispatchFolded(rt, program, { params: all, ...buffers }, grid, c);
}

/**
 * Whether the direct path runs conv2d_direct_subgroup.wgsl (weights loaded once per subgroup and
 * broadcast): the device has 'subgroups' and its subgroups have at least 4 lanes (the WGSL
 * broadcasts from lanes 0..3). SwiftShader: subgroups of 4, 1.3-1.9x less CPU time per conv.
 */
export function conv2dDirectSubgroups(rt: Runtime): boolean {
  return rt.gpu.features.subgroups && rt.gpu.features.subgroupMinSize >= 4;
}

/**
 * dx of y = conv(x, w). Stride 1 (and no tiled launch): the direct forward entry points with the
 * flipped, transposed weights. Otherwise a gather over the taps that reach each input element.
 */
export function dispatchConv2dBackwardInput(rt: Runtime, g: ConvGeometry, dy: Tensor, w: Tensor, dx: Tensor): void {
  const cinG = g.cin / g.groups;
  const base = [shared(g), dy.layout('dy'), dx.layout('dx'), { w_base: w.boundBase }];
  const flops = conv2dFlops(g);
  if (conv2dVariant(rt) === 'tiled' && cinG >= TILED_MIN_CHANNELS && g.sh === 1 && g.sw === 1) {
    const plane = g.h * g.w;
    const { tm, tn, kChunk, splits } = tiledLaunch(rt, cinG, plane, (g.cout / g.groups) * g.kh * g.kw, g.n * g.groups);
    const program = rt.program({ ...conv2dBackwardInputKernel, entryPoint: 'backward_input_tiled', constants: tileConstants(tm, tn) });
    const tiles = { x_blocks: ceil(plane, tn), c_blocks: ceil(cinG, tm), k_chunk: kChunk, splits };
    const grid = [tiles.x_blocks, g.groups * tiles.c_blocks, g.n * splits];
    if (splits === 1) {
      dispatchFolded(rt, program, { params: [...base, tiles, { split_stride: 0 }], dy, wt: w, dx }, grid, cost(flops, [dy, w, dx], 'tiled'));
      return;
    }
    // Partial sums of every split into a dense (S, N, Cin, H*W) stack, then the stack sum into dx.
    const part = Tensor.empty(rt, [splits * g.n, g.cin, g.h, g.w], 'conv2d.dx.split_k');
    const partLayout = { dx_base: 0, dx_stride: dx.sampleSize, split_stride: dx.size };
    dispatchFolded(rt, program, { params: [...base, tiles, partLayout], dy, wt: w, dx: part }, grid, cost(flops, [dy, w, part], 'tiled'));
    dispatchSumStack(rt, part, splits, dx);
    part.dispose();
    return;
  }
  if (g.sh === 1 && g.sw === 1) {
    // Stride 1: dx is the forward conv of dy with the flipped, transposed weights and padding
    // K - 1 - pad (top/left; may be negative), run on the direct forward entry points.
    const t: ConvGeometry = {
      n: g.n, cin: g.cout, h: g.oh, w: g.ow, cout: g.cin, oh: g.h, ow: g.w, kh: g.kh, kw: g.kw, sh: 1, sw: 1,
      pt: g.kh - 1 - g.pt, pl: g.kw - 1 - g.pl, groups: g.groups,
    };
    const params = [shared(t), { has_bias: 0, relu: 0, w_base: w.boundBase, b_base: 0 }, dy.layout('x'), dx.layout('y'), directWeights(g, true)];
    dispatchDirect(rt, t, params, { x: dy, wt: w, b: w, y: dx }, cost(flops, [dy, w, dx], 'direct'));
    return;
  }
  const xBlocks = ceil(ceil(g.w, g.sw), BLOCK);
  const program = rt.program({ ...conv2dBackwardInputKernel, entryPoint: 'backward_input_direct', constants: { WG } });
  const cBlocks = ceil(cinG, BLOCK);
  dispatchFolded(rt, program, { params: [...base, UNSPLIT_DX, { x_blocks: xBlocks, c_blocks: cBlocks }], dy, wt: w, dx }, [ceil(g.h * g.sw * xBlocks, WG), g.groups * cBlocks, g.n], cost(flops, [dy, w, dx], 'direct'));
}

/** Split the backward to the weights' reduction into chunks of at least this many rows. */
const MIN_SPLIT_ROWS = 4;

/**
 * dw (dense, Cout x Cin/G x KH x KW) and db (dense, Cout) of y = conv(x, w) + b, summed over the
 * batch. On the 'tiled' (GPU) variant a grid short of TARGET_WORKGROUPS splits the N*OH rows of
 * the reduction (at most MAX_SPLITS chunks of at least MIN_SPLIT_ROWS) and sums the partial dw.
 */
export function dispatchConv2dBackwardWeights(rt: Runtime, g: ConvGeometry, x: Tensor, dy: Tensor, dw: Tensor, db: Tensor | null): void {
  const ksize = (g.cin / g.groups) * g.kh * g.kw;
  const xBlocks = ceil(ksize, BLOCK);
  const cBlocks = ceil(g.cout / g.groups, BLOCK);
  const grid = [ceil(xBlocks, WG), g.groups * cBlocks];
  const rows = g.n * g.oh;
  const wanted = conv2dVariant(rt) === 'tiled' ? ceil(TARGET_WORKGROUPS, grid[0] * grid[1]) : 1;
  const rowChunk = ceil(rows, Math.max(1, Math.min(wanted, MAX_SPLITS, Math.floor(rows / MIN_SPLIT_ROWS))));
  const splits = ceil(rows, rowChunk);
  const params = [shared(g), { x_blocks: xBlocks, c_blocks: cBlocks, n: g.n, row_chunk: rowChunk, split_stride: dw.size }, x.layout('x'), dy.layout('dy')];
  const weights = rt.program({ ...conv2dBackwardWeightsKernel, entryPoint: 'backward_weights', constants: { WG } });
  const flops = conv2dFlops(g);
  if (splits === 1) {
    dispatchFolded(rt, weights, { params: [...params, { split_stride: 0 }], x, dy, dw }, grid, cost(flops, [x, dy, dw]));
  } else {
    const part = Tensor.empty(rt, [splits * dw.n, dw.c, dw.h, dw.w], 'conv2d.dw.split_k');
    dispatchFolded(rt, weights, { params, x, dy, dw: part }, [...grid, splits], cost(flops, [x, dy, part]));
    dispatchSumStack(rt, part, splits, dw);
    part.dispose();
  }
  if (db) {
    const bias = rt.program({ ...conv2dBackwardWeightsKernel, entryPoint: 'backward_bias', constants: { WG } });
    dispatchFolded(rt, bias, { params, dy, db }, [ceil(g.cout, WG)], cost(dy.size, [dy, db]));
  }
}
