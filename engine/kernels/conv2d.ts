// Conv2d kernels: pipelines, variant choice and dispatch arithmetic for the forward, the backward
// to the input and the backward to the weights and bias. Shapes are checked by engine/ops/conv2d.ts.

import forwardCode from '../../shaders/conv2d.wgsl?raw';
import backwardInputCode from '../../shaders/conv2d_backward_input.wgsl?raw';
import backwardWeightsCode from '../../shaders/conv2d_backward_weights.wgsl?raw';
import type { Runtime } from '../runtime';
import type { Tensor } from '../tensor';
import { defineKernel } from './kernel';

/** 'direct': register-blocked, no workgroup memory (CPU adapters); 'tiled': implicit GEMM in workgroup memory (GPUs). */
export const CONV2D_VARIANTS = ['direct', 'tiled'] as const;
export type Conv2dVariant = (typeof CONV2D_VARIANTS)[number];

export const conv2dKernel = defineKernel({
  name: 'conv2d', code: forwardCode, entryPoints: ['conv2d_direct', 'conv2d_1x1', 'conv2d_tiled'], variants: CONV2D_VARIANTS,
});
export const conv2dBackwardInputKernel = defineKernel({
  name: 'conv2d_backward_input', code: backwardInputCode, entryPoints: ['backward_input_direct', 'backward_input_tiled'], variants: CONV2D_VARIANTS,
});
export const conv2dBackwardWeightsKernel = defineKernel({
  name: 'conv2d_backward_weights', code: backwardWeightsCode, entryPoints: ['backward_weights', 'backward_bias'],
});

/** Workgroup size of the one-dimensional (direct) entry points. */
const WG = 64;
/** Channels x columns of a direct block; channels and pixels of a tiled tile (fixed in the WGSL). */
const BLOCK = 4;
const TILE = 64;
/** K step of the tiled entry points. */
const BK = 16;
/**
 * The 'tiled' variant falls back to the direct entry points where a 64-row tile would be mostly
 * padding: fewer than TILED_MIN_CHANNELS rows (output channels per group forward, input channels
 * per group backward; e.g. a conv1's 3 input channels would waste 95% of every tile) or, for the
 * backward to the input, a stride > 1 (then all but 1/(sh*sw) of the gathered taps are zero).
 */
const TILED_MIN_CHANNELS = 16;

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
  const variant = conv2dVariant(rt);
  const coutG = g.cout / g.groups;
  const pointwise = g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.oh === g.h && g.ow === g.w;
  let entryPoint: string;
  let xBlocks: number;
  let cBlocks: number;
  let groupsX: number;
  if (variant === 'tiled' && coutG >= TILED_MIN_CHANNELS) {
    entryPoint = 'conv2d_tiled';
    xBlocks = ceil(g.oh * g.ow, TILE);
    cBlocks = ceil(coutG, TILE);
    groupsX = xBlocks;
  } else {
    entryPoint = pointwise ? 'conv2d_1x1' : 'conv2d_direct';
    xBlocks = pointwise ? ceil(g.h * g.w, BLOCK) : ceil(g.ow, BLOCK);
    cBlocks = ceil(coutG, BLOCK);
    groupsX = ceil(pointwise ? xBlocks : g.oh * xBlocks, WG);
  }
  const program = rt.program({ ...conv2dKernel, entryPoint, constants: entryPoint === 'conv2d_tiled' ? { BK } : { WG } });
  const params = {
    ...shared(g), x_blocks: xBlocks, c_blocks: cBlocks, has_bias: b ? 1 : 0, relu: relu ? 1 : 0,
    ...x.layout('x'), ...y.layout('y'), w_base: w.base, b_base: b ? b.base : 0,
  };
  rt.dispatch(program, { params, x: x.buffer, wt: w.buffer, b: (b ?? w).buffer, y: y.buffer }, [groupsX, g.groups * cBlocks, g.n]);
}

/** dx of y = conv(x, w): a gather over the taps that reach each input element. */
export function dispatchConv2dBackwardInput(rt: Runtime, g: ConvGeometry, dy: Tensor, w: Tensor, dx: Tensor): void {
  const cinG = g.cin / g.groups;
  const tiled = conv2dVariant(rt) === 'tiled' && cinG >= TILED_MIN_CHANNELS && g.sh === 1 && g.sw === 1;
  const xBlocks = tiled ? ceil(g.h * g.w, TILE) : ceil(ceil(g.w, g.sw), BLOCK);
  const cBlocks = ceil(cinG, tiled ? TILE : BLOCK);
  const program = rt.program({
    ...conv2dBackwardInputKernel,
    entryPoint: tiled ? 'backward_input_tiled' : 'backward_input_direct',
    constants: tiled ? { BK } : { WG },
  });
  const params = { ...shared(g), x_blocks: xBlocks, c_blocks: cBlocks, ...dy.layout('dy'), ...dx.layout('dx'), w_base: w.base };
  const groupsX = tiled ? xBlocks : ceil(g.h * g.sw * xBlocks, WG);
  rt.dispatch(program, { params, dy: dy.buffer, wt: w.buffer, dx: dx.buffer }, [groupsX, g.groups * cBlocks, g.n]);
}

/** dw (dense, Cout x Cin/G x KH x KW) and db (dense, Cout) of y = conv(x, w) + b, summed over the batch. */
export function dispatchConv2dBackwardWeights(rt: Runtime, g: ConvGeometry, x: Tensor, dy: Tensor, dw: Tensor, db: Tensor | null): void {
  const ksize = (g.cin / g.groups) * g.kh * g.kw;
  const xBlocks = ceil(ksize, BLOCK);
  const cBlocks = ceil(g.cout / g.groups, BLOCK);
  const params = { ...shared(g), x_blocks: xBlocks, c_blocks: cBlocks, n: g.n, ...x.layout('x'), ...dy.layout('dy') };
  const weights = rt.program({ ...conv2dBackwardWeightsKernel, entryPoint: 'backward_weights', constants: { WG } });
  rt.dispatch(weights, { params, x: x.buffer, dy: dy.buffer, dw: dw.buffer }, [ceil(xBlocks, WG), g.groups * cBlocks]);
  if (db) {
    const bias = rt.program({ ...conv2dBackwardWeightsKernel, entryPoint: 'backward_bias', constants: { WG } });
    rt.dispatch(bias, { params, dy: dy.buffer, db: db.buffer }, [ceil(g.cout, WG)]);
  }
}
