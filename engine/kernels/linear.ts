// Fully connected kernels: pipelines, variant choice and dispatch arithmetic. Shapes are checked
// by engine/ops/linear.ts. x is read as (N, In) with In = C*H*W; weights (Out, In) row-major.

import registerCode from '../../shaders/linear.wgsl?raw';
import gemvCode from '../../shaders/linear_gemv.wgsl?raw';
import gemvSubgroupCode from '../../shaders/linear_gemv_subgroup.wgsl?raw';
import tiledCode from '../../shaders/linear_tiled.wgsl?raw';
import backwardInputCode from '../../shaders/linear_backward_input.wgsl?raw';
import backwardWeightsCode from '../../shaders/linear_backward_weights.wgsl?raw';
import type { Runtime } from '../runtime';
import { BIND_ALIGN, Tensor } from '../tensor';
import { cost, defineKernel, dispatchFolded } from './kernel';
import { dispatchSumStack } from './sum';

/**
 * 'register': register-tiled GEMV/GEMM with no workgroup memory (CPU adapters);
 * 'gemv': coalesced workgroup-per-rows GEMV for small batches on GPUs;
 * 'tiled': workgroup-memory GEMM tiles for larger batches on GPUs;
 * 'gemv_subgroup': the GEMV with one subgroup per output row reduced by subgroupAdd (only on
 * devices with the 'subgroups' feature: see linearVariantsFor; autotuning decides whether it wins).
 * The backward passes have two paths: 'register' keeps the CPU kernels, the others all use the GPU
 * ones (split-K backward to the input, column-coalesced backward to the weights).
 */
export const LINEAR_VARIANTS = ['register', 'tiled', 'gemv', 'gemv_subgroup'] as const;
export type LinearVariant = (typeof LINEAR_VARIANTS)[number];
/** Variants that need a device feature (engine/device.ts DeviceFeatures), by variant. */
export const LINEAR_NEEDS: Partial<Record<LinearVariant, 'subgroups'>> = { gemv_subgroup: 'subgroups' };

/** The variants this runtime's device can run (what benchmarks and autotuning should try). */
export function linearVariantsFor(rt: Runtime): LinearVariant[] {
  return LINEAR_VARIANTS.filter((v) => !LINEAR_NEEDS[v] || rt.gpu.features[LINEAR_NEEDS[v]]);
}

export const linearRegisterKernel = defineKernel({ name: 'linear', code: registerCode, entryPoints: ['forward', 'forward_vec4'], variants: LINEAR_VARIANTS });
export const linearTiledKernel = defineKernel({ name: 'linear_tiled', code: tiledCode, entryPoints: ['forward'], variants: LINEAR_VARIANTS });
export const linearGemvKernel = defineKernel({ name: 'linear_gemv', code: gemvCode, entryPoints: ['forward', 'forward_vec4'], variants: LINEAR_VARIANTS });
export const linearGemvSubgroupKernel = defineKernel({
  name: 'linear_gemv_subgroup', code: gemvSubgroupCode, entryPoints: ['forward', 'forward_vec4'], variants: LINEAR_VARIANTS,
});
export const linearBackwardInputKernel = defineKernel({ name: 'linear_backward_input', code: backwardInputCode, entryPoints: ['main', 'split_k', 'split_k_vec4'] });
export const linearBackwardWeightsKernel = defineKernel({
  name: 'linear_backward_weights',
  code: backwardWeightsCode,
  entryPoints: ['weights', 'weights_cols', 'weights_cols_vec4', 'bias'],
});

/**
 * Largest batch the GPU default runs as 'gemv'. Up to here the layer is a matrix-vector product
 * bound by reading the weights once (fc6: 151 MB); past it 'tiled' reuses each weight tile across
 * 16 samples from workgroup memory.
 */
export const GEMV_MAX_BATCH = 8;
/** Samples per invocation of the register-tiled kernels (each weight load feeds this many FMAs). */
const samplesPerInvocation = (n: number): number => Math.min(4, n);
/** Samples per workgroup of the tiled kernel: 1, 4 or 16. */
const tiledSamples = (n: number): number => (n >= 16 ? 16 : n > 1 ? 4 : 1);
/**
 * Samples per workgroup of the gemv and split-K kernels: n rounded up to 1, 2, 4 or 8 (their
 * register accumulators hold 8), so few pipelines exist; surplus samples are clamped and skipped.
 */
const gpuSamples = (n: number): number => Math.min(8, 2 ** Math.ceil(Math.log2(n)));
/**
 * Output rows per gemv workgroup: 4, or 8 where Out is large enough to still give >= 512
 * workgroups and the batch is large enough that halving the re-reads of x matters.
 */
const gemvRows = (n: number, outF: number): number => (n > 2 && outF / 8 >= 512 ? 8 : 4);
/** Output rows per gemv_subgroup workgroup (each taken whole by one subgroup of its 64 lanes). */
const SUBGROUP_ROWS = 16;
/** Split-K sizing for the GPU backward to the input: aim for this many workgroups... */
const SPLIT_TARGET_WORKGROUPS = 1024;
/** ...but give each split at least this many rows of w. */
const SPLIT_MIN_ROWS = 32;
/** Columns per workgroup of the split-K and column-coalesced kernels. */
const COLS = 256;

/**
 * The variant for a batch of n: a forced one (Runtime.create({ variants: { linear } })), else
 * 'register' on CPU adapters, and on GPUs 'gemv' for n <= GEMV_MAX_BATCH, 'tiled' above.
 */
export function linearVariant(rt: Runtime, n: number): LinearVariant {
  const v = rt.variant<LinearVariant>('linear', { cpu: 'register', gpu: n <= GEMV_MAX_BATCH ? 'gemv' : 'tiled' });
  if (!LINEAR_VARIANTS.includes(v)) throw new Error(`linear: unknown variant '${v}' (${LINEAR_VARIANTS.join(', ')})`);
  const need = LINEAR_NEEDS[v];
  if (need && !rt.gpu.features[need]) {
    throw new Error(`linear: variant '${v}' needs the WebGPU feature '${need}', which this device does not have (${rt.describe()}); variants here: ${linearVariantsFor(rt).join(', ')}`);
  }
  return v;
}

const aligned4 = (...v: number[]): boolean => v.every((e) => e % 4 === 0);
/** Whether x's samples start on vec4 boundaries (its stride matters only past one sample). */
const xAligned = (x: Tensor): boolean => aligned4(x.sampleSize, x.base) && (x.n === 1 || aligned4(x.batchStride));

/**
 * Output rows of w per dispatch so that one row block's binding fits the device's
 * maxStorageBufferBindingSize (fc6 of AlexNet is 151 MB, over the 128 MiB spec default): all of
 * them when w fits, else a multiple of 64 (so every block starts on a 256-byte boundary when w is
 * dense from one) with room for the alignment slack of the binding offset.
 */
function rowBlock(rt: Runtime, w: Tensor): number {
  const max = rt.device.limits.maxStorageBufferBindingSize;
  if (w.binding().size <= max) return w.n;
  const rows = Math.floor((max - BIND_ALIGN) / (4 * w.c) / 64) * 64;
  if (rows < 64) throw new Error(`linear: one 64-row block of ${w.label} (${64 * 4 * w.c} bytes) is over maxStorageBufferBindingSize ${max}`);
  return rows;
}

/** Rows [o0, o0 + rows) of the (Out, In, 1, 1) weights w, as a view. */
const wRows = (rt: Runtime, w: Tensor, o0: number, rows: number): Tensor =>
  Tensor.view(rt, w.buffer, [rows, w.c, 1, 1], `${w.label}[rows ${o0}:${o0 + rows}]`, w.base + o0 * w.c);

/** Run `each(o0, rows)` over the row blocks of w. */
function overRowBlocks(rt: Runtime, w: Tensor, each: (o0: number, rows: number) => void): void {
  const block = rowBlock(rt, w);
  for (let o0 = 0; o0 < w.n; o0 += block) each(o0, Math.min(block, w.n - o0));
}

/** y = act(x W^T + b); `b` null means no bias. Weights over the binding limit run in row blocks. */
export function dispatchLinear(rt: Runtime, x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, relu: boolean): void {
  if (rowBlock(rt, w) === w.n) return linearBlock(rt, x, w, b, y, relu);
  overRowBlocks(rt, w, (o0, rows) => linearBlock(rt, x, wRows(rt, w, o0, rows), b && b.channels(o0, rows), y.channels(o0, rows), relu));
}

function linearBlock(rt: Runtime, x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, relu: boolean): void {
  const n = x.n;
  const inF = x.sampleSize;
  const outF = w.n;
  const params = {
    n, in_features: inF, out_features: outF, relu: relu ? 1 : 0, has_bias: b ? 1 : 0,
    ...x.layout('x'), w_base: w.boundBase, b_base: b ? b.boundBase : 0, ...y.layout('y'),
  };
  // x4 and w4 alias x and w as vec4s over the same binding: boundBase keeps base's alignment to 4.
  const resources = { params, x, w, b: b ?? w, y, x4: x, w4: w };
  const variant = linearVariant(rt, n);
  const c = cost(2 * n * inF * outF, [x, w, b, y], variant);
  if (variant === 'gemv_subgroup') {
    const NB = gpuSamples(n);
    const entryPoint = xAligned(x) && aligned4(w.base) ? 'forward_vec4' : 'forward';
    const program = rt.program({ ...linearGemvSubgroupKernel, entryPoint, constants: { R: SUBGROUP_ROWS, NB } });
    dispatchFolded(rt, program, resources, [Math.ceil(outF / SUBGROUP_ROWS), Math.ceil(n / NB)], c);
  } else if (variant === 'gemv') {
    const [R, NB] = [gemvRows(n, outF), gpuSamples(n)];
    const entryPoint = xAligned(x) && aligned4(w.base) ? 'forward_vec4' : 'forward';
    dispatchFolded(rt, rt.program({ ...linearGemvKernel, entryPoint, constants: { R, NB } }), resources, [Math.ceil(outF / R), Math.ceil(n / NB)], c);
  } else if (variant === 'tiled') {
    const BS = tiledSamples(n);
    dispatchFolded(rt, rt.program({ ...linearTiledKernel, constants: { BS } }), resources, [Math.ceil(outF / 64), Math.ceil(n / BS)], c);
  } else {
    const TN = samplesPerInvocation(n);
    const entryPoint = TN === 1 && xAligned(x) && aligned4(w.base) ? 'forward_vec4' : 'forward';
    dispatchFolded(rt, rt.program({ ...linearRegisterKernel, entryPoint, constants: { TN } }), resources, [Math.ceil(outF / 4 / 64), Math.ceil(n / TN)], c);
  }
}

/**
 * dx = dy W, written into dx (any (N, C, H, W) with C*H*W = In). Weights over the binding limit:
 * each row block's dy_b W_b into a dense stack, then the stack sum into dx.
 */
export function dispatchLinearBackwardInput(rt: Runtime, dy: Tensor, w: Tensor, dx: Tensor): void {
  if (rowBlock(rt, w) === w.n) return linearBackwardInputBlock(rt, dy, w, dx);
  const [n, inF] = [dy.n, w.c];
  const blocks = Math.ceil(w.n / rowBlock(rt, w));
  const partials = Tensor.empty(rt, [blocks * n, inF, 1, 1], 'linear.dx row blocks');
  let k = 0;
  overRowBlocks(rt, w, (o0, rows) => {
    const part = Tensor.view(rt, partials.buffer, [n, inF, 1, 1], `linear.dx row block ${k}`, k++ * n * inF);
    linearBackwardInputBlock(rt, dy.channels(o0, rows), wRows(rt, w, o0, rows), part);
  });
  dispatchSumStack(rt, partials, blocks, dx);
  partials.dispose();
}

function linearBackwardInputBlock(rt: Runtime, dy: Tensor, w: Tensor, dx: Tensor): void {
  const n = dy.n;
  const [inF, outF] = [w.c, w.n];
  const flops = 2 * n * inF * outF;
  const base = { n, in_features: inF, out_features: outF, ...dy.layout('dy'), w_base: w.boundBase };
  if (linearVariant(rt, n) === 'register') {
    const TN = samplesPerInvocation(n);
    const params = { ...base, ...dx.layout('dx'), o_chunk: outF, dx_split: 0 };
    dispatchFolded(rt, rt.program({ ...linearBackwardInputKernel, constants: { TN } }), { params, dy, w, dx }, [Math.ceil(inF / 4 / 64), Math.ceil(n / TN)], cost(flops, [dy, w, dx], 'register'));
    return;
  }
  const NB = gpuSamples(n);
  const grid = [Math.ceil(inF / COLS), 1, Math.ceil(n / NB)];
  const wanted = Math.ceil(SPLIT_TARGET_WORKGROUPS / (grid[0] * grid[2]));
  const chunk = Math.ceil(outF / Math.max(1, Math.min(wanted, Math.ceil(outF / SPLIT_MIN_ROWS))));
  grid[1] = Math.ceil(outF / chunk);
  const entryPoint = aligned4(inF, w.base) ? 'split_k_vec4' : 'split_k';
  const program = rt.program({ ...linearBackwardInputKernel, entryPoint, constants: { NB } });
  if (grid[1] === 1) {
    const params = { ...base, ...dx.layout('dx'), o_chunk: chunk, dx_split: 0 };
    dispatchFolded(rt, program, { params, dy, w, w4: w, dx }, grid, cost(flops, [dy, w, dx], 'split_k'));
    return;
  }
  // Partial sums of each split, (S, N, In) dense, then added in split order into dx.
  const partials = Tensor.empty(rt, [grid[1] * n, inF, 1, 1], 'linear.dx partials');
  const params = { ...base, dx_base: 0, dx_stride: inF, o_chunk: chunk, dx_split: n * inF };
  dispatchFolded(rt, program, { params, dy, w, w4: w, dx: partials }, grid, cost(flops, [dy, w, partials], 'split_k'));
  dispatchSumStack(rt, partials, grid[1], dx);
  // Commands run in order: the pool may hand this buffer out again at once.
  partials.dispose();
}

/**
 * dw = dy^T x into dense dw (Out, In, 1, 1); db = sum_n dy into dense db (1, Out, 1, 1) when given.
 * A dw over the binding limit is written in row blocks (each starts on a 256-byte boundary).
 */
export function dispatchLinearBackwardWeights(rt: Runtime, x: Tensor, dy: Tensor, dw: Tensor, db: Tensor | null): void {
  if (rowBlock(rt, dw) === dw.n) return linearBackwardWeightsBlock(rt, x, dy, dw, db);
  overRowBlocks(rt, dw, (o0, rows) => linearBackwardWeightsBlock(rt, x, dy.channels(o0, rows), wRows(rt, dw, o0, rows), db && db.channels(o0, rows)));
}

function linearBackwardWeightsBlock(rt: Runtime, x: Tensor, dy: Tensor, dw: Tensor, db: Tensor | null): void {
  // dw and db are written dense from their binding's start (the WGSL has no base for them).
  for (const t of [dw, db]) if (t && t.boundBase !== 0) throw new Error(`linear backward: ${t.label} must start on a ${BIND_ALIGN}-byte boundary (element ${t.base})`);
  const inF = x.sampleSize;
  const outF = dy.c;
  const params = { n: x.n, in_features: inF, out_features: outF, ...x.layout('x'), ...dy.layout('dy') };
  const resources = { params, x, x4: x, dy, dw, dw4: dw };
  const entryPoint = linearVariant(rt, x.n) === 'register' ? 'weights' : xAligned(x) ? 'weights_cols_vec4' : 'weights_cols';
  dispatchFolded(rt, rt.program({ ...linearBackwardWeightsKernel, entryPoint }), resources, [Math.ceil(inF / COLS), Math.ceil(outF / 4)], cost(2 * x.n * inF * outF, [x, dy, dw]));
  if (db) dispatchFolded(rt, rt.program({ ...linearBackwardWeightsKernel, entryPoint: 'bias' }), { params, dy, db }, [Math.ceil(outF / 64)], cost(dy.size, [dy, db]));
}
