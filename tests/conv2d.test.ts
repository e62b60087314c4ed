import { afterAll, describe, expect, it } from 'vitest';
import { CONV2D_VARIANTS, conv2dTiling, forceConv2dTiling, TARGET_WORKGROUPS, type Conv2dVariant, type ConvTiling } from '../engine/kernels/conv2d';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeights, conv2dOutputShape, type Conv2dParams } from '../engine/ops/conv2d';
import { Runtime } from '../engine/runtime';
import { Tensor, type Shape4 } from '../engine/tensor';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import { expectView } from './helpers/view_writes';
import * as ref from './reference/conv2d';

// One runtime per variant, both on whatever adapter this machine has (SwiftShader in CI).
const runtimes = Object.fromEntries(CONV2D_VARIANTS.map((v) => [v, Runtime.create({ variants: { conv2d: v } })])) as Record<Conv2dVariant, Promise<Runtime>>;
afterAll(async () => {
  for (const rt of Object.values(runtimes)) (await rt).destroy();
});

interface Case {
  name: string;
  n: number; cin: number; h: number; w: number;
  cout: number; kh: number; kw: number;
  stride?: [number, number];
  pad?: [number, number, number, number];
  groups?: number;
  relu?: boolean;
  bias?: boolean;
}

function geom(c: Case): ref.ConvGeom {
  return { n: c.n, cin: c.cin, h: c.h, w: c.w, cout: c.cout, kh: c.kh, kw: c.kw, sh: c.stride?.[0] ?? 1, sw: c.stride?.[1] ?? 1, pad: c.pad ?? [0, 0, 0, 0], groups: c.groups ?? 1 };
}

function params(c: Case): Conv2dParams {
  return { stride: c.stride ?? [1, 1], pad: c.pad ?? [0, 0, 0, 0], groups: c.groups ?? 1, relu: c.relu };
}

/** Seeded data for a case, scaled so outputs and gradients are O(1) whatever the fan-in. */
function data(c: Case, seed: number) {
  const g = geom(c);
  const [oh, ow] = ref.outSize(g);
  const xShape: Shape4 = [c.n, c.cin, c.h, c.w];
  const wShape: Shape4 = [c.cout, c.cin / g.groups, c.kh, c.kw];
  const yShape: Shape4 = [c.n, c.cout, oh, ow];
  return {
    g, xShape, wShape, yShape,
    x: randomArray(size(xShape), seed),
    w: randomArray(size(wShape), seed + 1, 1 / Math.sqrt(size(wShape) / c.cout)),
    b: c.bias === false ? null : randomArray(c.cout, seed + 2),
    dy: randomArray(size(yShape), seed + 3, 1 / Math.sqrt(c.n * oh * ow)),
  };
}

/** Every `step`-th flat index (always including the last): where the real-layer tests look. */
function strided(total: number, want: number): number[] {
  const step = Math.max(1, Math.floor(total / want));
  const out: number[] = [];
  for (let i = 0; i < total; i += step) out.push(i);
  if (out[out.length - 1] !== total - 1) out.push(total - 1);
  return out;
}

/** Copy `src` (N, C, H, W dense) into channels [c0, c0 + C) of `dst` (N, total, H, W). */
const embed = <T extends Float32Array | Float64Array>(dst: T, total: number, c0: number, src: ArrayLike<number>, shape: Shape4): T => {
  const per = shape[1] * shape[2] * shape[3];
  const hw = shape[2] * shape[3];
  for (let n = 0; n < shape[0]; n++) for (let i = 0; i < per; i++) dst[(n * total + c0) * hw + i] = src[n * per + i];
  return dst;
};

const GRID: Case[] = [
  { name: '3x3 pad 1, 3->5 on 7x5', n: 1, cin: 3, h: 7, w: 5, cout: 5, kh: 3, kw: 3, pad: [1, 1, 1, 1] },
  { name: '5x5 pad 2, 17->33 on 13x11, N=3, relu', n: 3, cin: 17, h: 13, w: 11, cout: 33, kh: 5, kw: 5, pad: [2, 2, 2, 2], relu: true },
  { name: '1x1, 33->17 on 13x11, N=3', n: 3, cin: 33, h: 13, w: 11, cout: 17, kh: 1, kw: 1 },
  { name: '1x1 stride 2, 5->17 on 13x11', n: 1, cin: 5, h: 13, w: 11, cout: 17, kh: 1, kw: 1, stride: [2, 2] },
  { name: '1x1 with asymmetric pad, 3->5 on 7x5, no bias', n: 1, cin: 3, h: 7, w: 5, cout: 5, kh: 1, kw: 1, pad: [1, 0, 0, 2], bias: false },
  { name: '1x1 groups 3, 9->6 on 7x5, N=3', n: 3, cin: 9, h: 7, w: 5, cout: 6, kh: 1, kw: 1, groups: 3 },
  { name: '7x7 stride 2 pad 3, 3->5 on 13x11', n: 1, cin: 3, h: 13, w: 11, cout: 5, kh: 7, kw: 7, stride: [2, 2], pad: [3, 3, 3, 3] },
  { name: '11x11 stride 4 pad 2, 3->17 on 31x27', n: 1, cin: 3, h: 31, w: 27, cout: 17, kh: 11, kw: 11, stride: [4, 4], pad: [2, 2, 2, 2] },
  { name: '3x3 groups 2, asymmetric pad, 6->10 on 9x7, N=3, relu', n: 3, cin: 6, h: 9, w: 7, cout: 10, kh: 3, kw: 3, groups: 2, pad: [0, 2, 1, 0], relu: true },
  { name: '3x2 stride (2, 1) pad (2, 0, 0, 1), 5->3 on 8x9', n: 1, cin: 5, h: 8, w: 9, cout: 3, kh: 3, kw: 2, stride: [2, 1], pad: [2, 0, 0, 1] },
  { name: '5x5 groups 2 stride 3, 34->66 on 13x11, no bias', n: 1, cin: 34, h: 13, w: 11, cout: 66, kh: 5, kw: 5, stride: [3, 3], pad: [1, 2, 2, 1], groups: 2, bias: false },
  { name: '3x3 groups 2, asymmetric pad, 40->36 on 9x7, N=2 (tiled-sized groups)', n: 2, cin: 40, h: 9, w: 7, cout: 36, kh: 3, kw: 3, groups: 2, pad: [2, 0, 1, 2] },
  { name: 'kernel as large as the padded input, 5x5 on 3x4 pad 1', n: 1, cin: 4, h: 3, w: 4, cout: 5, kh: 5, kw: 5, pad: [1, 1, 1, 0] },
  { name: '2x3 pad (0, 1, 0, 2), 5->12 on 6x19, N=2 (several column blocks, flipped taps backward)', n: 2, cin: 5, h: 6, w: 19, cout: 12, kh: 2, kw: 3, pad: [0, 1, 0, 2] },
  { name: '3x3 stride (1, 2) pad (1, 1, 0, 1), 6->9 on 7x19', n: 1, cin: 6, h: 7, w: 19, cout: 9, kh: 3, kw: 3, stride: [1, 2], pad: [1, 1, 0, 1] },
];

const GRID_CASES = CONV2D_VARIANTS.flatMap((v) => GRID.map((c) => [v, c.name, c] as const));

describe('conv2d forward', () => {
  it.each(GRID_CASES)('%s: %s', async (variant, _name, c) => {
    const rt = await runtimes[variant];
    const d = data(c, 10);
    const b = d.b && upload(rt, d.b, [1, c.cout, 1, 1], 'bias');
    const y = track(conv2d(upload(rt, d.x, d.xShape, 'x'), upload(rt, d.w, d.wShape, 'w'), b, params(c)));
    expect(y.shape).toEqual(d.yShape);
    expectClose(await y.read(), ref.conv2dForward(d.x, d.w, d.b, d.g, c.relu), FORWARD_TOL, d.yShape, `${variant} y`);
  });
});

describe('conv2d backward to the input', () => {
  it.each(GRID_CASES)('%s: %s', async (variant, _name, c) => {
    const rt = await runtimes[variant];
    const d = data(c, 20);
    const dx = track(conv2dBackwardInput(upload(rt, d.dy, d.yShape, 'dy'), upload(rt, d.w, d.wShape, 'w'), d.xShape, params(c)));
    expectClose(await dx.read(), ref.conv2dBackwardInput(d.dy, d.w, d.g), GRAD_TOL, d.xShape, `${variant} dx`);
  });
});

describe('conv2d backward to the weights and bias', () => {
  it.each(GRID_CASES)('%s: %s', async (variant, _name, c) => {
    const rt = await runtimes[variant];
    const d = data(c, 30);
    const hasBias = c.bias !== false;
    const { dw, db } = conv2dBackwardWeights(upload(rt, d.x, d.xShape, 'x'), upload(rt, d.dy, d.yShape, 'dy'), d.wShape, params(c), hasBias);
    track(dw);
    expectClose(await dw.read(), ref.conv2dBackwardWeights(d.x, d.dy, d.g), GRAD_TOL, d.wShape, `${variant} dw`);
    if (hasBias) expectClose(await track(db!).read(), ref.conv2dBackwardBias(d.dy, d.g), GRAD_TOL, [1, c.cout, 1, 1], `${variant} db`);
    else expect(db).toBeNull();
  });
});

describe('conv2d on channel views and arena weights', () => {
  // x is channels [2, 2+Cin) of a 9-channel tensor, y goes to channels [5, 5+Cout) of a 12-channel
  // one; the weight and bias sit at odd element offsets of one arena buffer.
  const c: Case = { name: 'views', n: 2, cin: 3, h: 7, w: 6, cout: 5, kh: 3, kw: 3, stride: [2, 1], pad: [1, 0, 1, 1], relu: true };
  const arenaLayout = (d: ReturnType<typeof data>) => {
    const arena = randomArray(37 + d.w.length + 11 + c.cout, 99);
    arena.set(d.w, 37);
    arena.set(d.b!, 37 + d.w.length + 11);
    return arena;
  };
  const big = (d: ReturnType<typeof data>, channels: number, seed: number): [Float32Array, Shape4] => {
    const shape: Shape4 = [c.n, channels, d.yShape[2], d.yShape[3]];
    return [randomArray(size(shape), seed), shape];
  };
  it.each(CONV2D_VARIANTS)('%s: forward reads and writes slices, leaves other channels untouched', async (variant) => {
    const rt = await runtimes[variant];
    const d = data(c, 40);
    const xBig = embed(randomArray(c.n * 9 * c.h * c.w, 41), 9, 2, d.x, d.xShape);
    const x = upload(rt, xBig, [c.n, 9, c.h, c.w], 'xBig').channels(2, c.cin);
    const arena = upload(rt, arenaLayout(d), [1, 1, 1, 37 + d.w.length + 11 + c.cout], 'arena');
    const w = Tensor.view(rt, arena.buffer, d.wShape, 'w', 37);
    const b = Tensor.view(rt, arena.buffer, [1, c.cout, 1, 1], 'b', 37 + d.w.length + 11);
    const [yInit, yShape] = big(d, 12, 42);
    const yBig = upload(rt, yInit, yShape, 'yBig');
    conv2d(x, w, b, params(c), yBig.channels(5, c.cout));
    expectView(await yBig.read(), yShape, 5, c.cout, ref.conv2dForward(d.x, d.w, d.b, d.g, true), yInit, FORWARD_TOL, `${variant} y`);
  });

  it.each(CONV2D_VARIANTS)('%s: backward reads dy from a slice, writes dx into a slice, weights from the arena', async (variant) => {
    const rt = await runtimes[variant];
    const d = data(c, 50);
    const [dyBigData, dyBigShape] = big(d, 12, 51);
    embed(dyBigData, 12, 5, d.dy, d.yShape);
    const dy = upload(rt, dyBigData, dyBigShape, 'dyBig').channels(5, c.cout);
    const arena = upload(rt, arenaLayout(d), [1, 1, 1, 37 + d.w.length + 11 + c.cout], 'arena');
    const w = Tensor.view(rt, arena.buffer, d.wShape, 'w', 37);
    const dxInit = randomArray(c.n * 9 * c.h * c.w, 52);
    const dxBig = upload(rt, dxInit, [c.n, 9, c.h, c.w], 'dxBig');
    conv2dBackwardInput(dy, w, d.xShape, params(c), dxBig.channels(2, c.cin));
    expectView(await dxBig.read(), dxBig.shape, 2, c.cin, ref.conv2dBackwardInput(d.dy, d.w, d.g), dxInit, GRAD_TOL, `${variant} dx`);

    const x = upload(rt, embed(randomArray(c.n * 9 * c.h * c.w, 53), 9, 4, d.x, d.xShape), [c.n, 9, c.h, c.w], 'xBig').channels(4, c.cin);
    const { dw, db } = conv2dBackwardWeights(x, dy, d.wShape, params(c), true);
    track(dw);
    track(db!);
    expectClose(await dw.read(), ref.conv2dBackwardWeights(d.x, d.dy, d.g), GRAD_TOL, d.wShape, `${variant} dw from views`);
    expectClose(await db!.read(), ref.conv2dBackwardBias(d.dy, d.g), GRAD_TOL, [1, c.cout, 1, 1], `${variant} db from views`);
  });
});

describe('conv2d tile rule', () => {
  // (M, pixels, K, N * groups) of real layers at batch 1 (and one at N = 2), and what the rule picks.
  const RULE: [string, [number, number, number, number], ConvTiling][] = [
    ['GoogLeNet conv2/3x3 192x64x3x3 on 56, N=2: 64x64 tiles fill the GPU', [192, 3136, 576, 2], { tm: 64, tn: 64, splits: 1 }],
    ['GoogLeNet conv2/3x3 at N=1: half tiles do (64x32 ties 32x64 on padding)', [192, 3136, 576, 1], { tm: 64, tn: 32, splits: 1 }],
    ['96 channels on 56x56 at N=2: 32x64 pads less than 64x32', [96, 3136, 864, 2], { tm: 32, tn: 64, splits: 1 }],
    ['GoogLeNet inception_4e/3x3 320x160x3x3 on 14: 32x32, split-K 4', [320, 196, 1440, 1], { tm: 32, tn: 32, splits: 4 }],
    ['GoogLeNet inception_5a/3x3 320x160x3x3 on 7: 32x32, split-K 14', [320, 49, 1440, 1], { tm: 32, tn: 32, splits: 14 }],
    ['GoogLeNet inception_5b/1x1 384x832 on 7: 32x32, split capped at 16', [384, 49, 832, 1], { tm: 32, tn: 32, splits: 11 }],
    ['AlexNet conv5 256x384x3x3 on 13, groups 2: 32x32, split-K 6', [128, 169, 1728, 2], { tm: 32, tn: 32, splits: 6 }],
    ['a short K is never split below 64', [64, 49, 100, 1], { tm: 32, tn: 32, splits: 1 }],
  ];
  it.each(RULE)('%s', (_name, [m, p, k, batches], want) => {
    const t = conv2dTiling(m, p, k, batches);
    expect(t).toEqual(want);
    const grid = Math.ceil(m / t.tm) * Math.ceil(p / t.tn) * batches * t.splits;
    // Either the launch fills the GPU, or splitting more would break the chunk limits.
    expect(grid >= TARGET_WORKGROUPS || t.splits === 16 || t.splits === Math.max(1, Math.floor(k / 64))).toBe(true);
  });
});

// Every tile configuration of the tiled entry points, forced, on channel views with weights at
// arena offsets: tails in both tile dimensions, groups, N = 3, and split-K with a short last chunk.
describe('conv2d tiled tile configurations', () => {
  const TILINGS: ConvTiling[] = [
    { tm: 64, tn: 64, splits: 1 }, { tm: 64, tn: 32, splits: 1 }, { tm: 32, tn: 64, splits: 2 }, { tm: 32, tn: 32, splits: 3 },
  ];
  const FWD: Case = { name: 'fwd', n: 3, cin: 40, h: 15, w: 13, cout: 70, kh: 3, kw: 5, stride: [2, 1], pad: [1, 0, 2, 1], groups: 2, relu: true };
  const BWD: Case = { name: 'bwd', n: 3, cin: 68, h: 11, w: 9, cout: 40, kh: 3, kw: 5, pad: [2, 0, 1, 3], groups: 2 };
  const POINTWISE: Case = { name: '1x1', n: 1, cin: 80, h: 9, w: 10, cout: 48, kh: 1, kw: 1 };
  const withTiling = async (t: ConvTiling, body: (rt: Runtime) => Promise<void>) => {
    const rt = await runtimes.tiled;
    forceConv2dTiling(rt, t);
    try {
      await body(rt);
    } finally {
      forceConv2dTiling(rt, null);
    }
  };
  /** Weight (and bias) at odd offsets of one arena buffer. */
  const arena = (rt: Runtime, d: ReturnType<typeof data>) => {
    const wAt = 5;
    const bAt = wAt + d.w.length + 3;
    const data64 = randomArray(bAt + d.g.cout, 7);
    data64.set(d.w, wAt);
    if (d.b) data64.set(d.b, bAt);
    const buf = upload(rt, data64, [1, 1, 1, data64.length], 'arena').buffer;
    return { w: Tensor.view(rt, buf, d.wShape, 'w', wAt), b: Tensor.view(rt, buf, [1, d.g.cout, 1, 1], 'b', bAt) };
  };
  const forward = async (rt: Runtime, c: Case, label: string) => {
    const d = data(c, 80);
    const { w, b } = arena(rt, d);
    const x = upload(rt, embed(randomArray(c.n * (c.cin + 3) * c.h * c.w, 81), c.cin + 3, 2, d.x, d.xShape), [c.n, c.cin + 3, c.h, c.w], 'xBig').channels(2, c.cin);
    const yShape: Shape4 = [c.n, c.cout + 4, d.yShape[2], d.yShape[3]];
    const yInit = randomArray(size(yShape), 82);
    const yBig = upload(rt, yInit, yShape, 'yBig');
    conv2d(x, w, b, params(c), yBig.channels(1, c.cout));
    expectView(await yBig.read(), yShape, 1, c.cout, ref.conv2dForward(d.x, d.w, d.b, d.g, c.relu), yInit, FORWARD_TOL, `${label} y`);
  };
  const backward = async (rt: Runtime, c: Case, label: string) => {
    const d = data(c, 90);
    const { w } = arena(rt, d);
    const dyShape: Shape4 = [c.n, c.cout + 2, d.yShape[2], d.yShape[3]];
    const dy = upload(rt, embed(randomArray(size(dyShape), 91), c.cout + 2, 2, d.dy, d.yShape), dyShape, 'dyBig').channels(2, c.cout);
    const dxShape: Shape4 = [c.n, c.cin + 5, c.h, c.w];
    const dxInit = randomArray(size(dxShape), 92);
    const dxBig = upload(rt, dxInit, dxShape, 'dxBig');
    conv2dBackwardInput(dy, w, d.xShape, params(c), dxBig.channels(3, c.cin));
    expectView(await dxBig.read(), dxShape, 3, c.cin, ref.conv2dBackwardInput(d.dy, d.w, d.g), dxInit, GRAD_TOL, `${label} dx`);
  };
  const name = (t: ConvTiling) => `${t.tm}x${t.tn}, ${t.splits} split${t.splits > 1 ? 's' : ''}`;
  it.each(TILINGS.map((t) => [name(t), t] as const))('%s: forward, groups 2, 3x5 stride (2, 1), N=3, relu, views', async (label, t) => {
    await withTiling(t, (rt) => forward(rt, FWD, label));
  });
  it.each(TILINGS.map((t) => [name(t), t] as const))('%s: backward to the input, groups 2, 3x5 asymmetric pad, N=3, views', async (label, t) => {
    await withTiling(t, (rt) => backward(rt, BWD, label));
  });
  it.each(TILINGS.map((t) => [name(t), t] as const))('%s: 1x1 forward and backward to the input', async (label, t) => {
    await withTiling(t, async (rt) => {
      await forward(rt, POINTWISE, label);
      await backward(rt, POINTWISE, label);
    });
  });
});

describe('conv2d reference backward vs finite differences', () => {
  const FD_CASES: Case[] = [
    { name: '3x3 stride 2, asymmetric pad, N=2', n: 2, cin: 3, h: 6, w: 5, cout: 4, kh: 3, kw: 3, stride: [2, 2], pad: [1, 0, 2, 1] },
    { name: '3x2 groups 2, stride (1, 2)', n: 1, cin: 4, h: 5, w: 6, cout: 6, kh: 3, kw: 2, stride: [1, 2], pad: [0, 1, 1, 0], groups: 2 },
    { name: '1x1 stride 3 pad 1', n: 1, cin: 2, h: 7, w: 7, cout: 3, kh: 1, kw: 1, stride: [3, 3], pad: [1, 1, 1, 1] },
  ];
  it.each(FD_CASES.map((c) => [c.name, c] as const))('%s: dx, dw, db', (_name, c) => {
    const d = data(c, 60);
    const x = toF64(d.x);
    const w = toF64(d.w);
    const b = toF64(d.b!);
    const [ix, nx] = numericGrad(lossFn((v) => ref.conv2dForward(v, w, b, d.g), d.dy), x);
    expectClose(pick(ref.conv2dBackwardInput(d.dy, w, d.g), ix), nx, FD_TOL, undefined, 'dx vs fd');
    const [iw, nw] = numericGrad(lossFn((v) => ref.conv2dForward(x, v, b, d.g), d.dy), w);
    expectClose(pick(ref.conv2dBackwardWeights(x, d.dy, d.g), iw), nw, FD_TOL, undefined, 'dw vs fd');
    const [ib, nb] = numericGrad(lossFn((v) => ref.conv2dForward(x, w, v, d.g), d.dy), b);
    expectClose(pick(ref.conv2dBackwardBias(d.dy, d.g), ib), nb, FD_TOL, undefined, 'db vs fd');
  });
});

// Real layers of the four networks at N = 1. The GPU runs the full shape; the float64 reference
// is evaluated on a strided subset of each result.
const REAL: Case[] = [
  { name: 'AlexNet (torchvision) conv1 64x3x11x11 s4 p2 on 224', n: 1, cin: 3, h: 224, w: 224, cout: 64, kh: 11, kw: 11, stride: [4, 4], pad: [2, 2, 2, 2], relu: true },
  { name: 'AlexNet (Caffe) conv2 256x48x5x5 g2 p2 on 27', n: 1, cin: 96, h: 27, w: 27, cout: 256, kh: 5, kw: 5, pad: [2, 2, 2, 2], groups: 2, relu: true },
  { name: 'SqueezeNet conv1 64x3x3x3 s2 on 227', n: 1, cin: 3, h: 227, w: 227, cout: 64, kh: 3, kw: 3, stride: [2, 2], relu: true },
  { name: 'SqueezeNet fire2/squeeze1x1 16x64 on 56', n: 1, cin: 64, h: 56, w: 56, cout: 16, kh: 1, kw: 1, relu: true },
  { name: 'SqueezeNet fire2/expand3x3 64x16x3x3 p1 on 56', n: 1, cin: 16, h: 56, w: 56, cout: 64, kh: 3, kw: 3, pad: [1, 1, 1, 1], relu: true },
  { name: 'GoogLeNet conv1/7x7_s2 64x3x7x7 s2 p3 on 224', n: 1, cin: 3, h: 224, w: 224, cout: 64, kh: 7, kw: 7, stride: [2, 2], pad: [3, 3, 3, 3], relu: true },
  { name: 'GoogLeNet inception_3a/3x3 128x96x3x3 p1 on 28', n: 1, cin: 96, h: 28, w: 28, cout: 128, kh: 3, kw: 3, pad: [1, 1, 1, 1], relu: true },
  { name: 'GoogLeNet inception_4e/5x5 128x32x5x5 p2 on 14', n: 1, cin: 32, h: 14, w: 14, cout: 128, kh: 5, kw: 5, pad: [2, 2, 2, 2], relu: true },
  { name: 'TinyVGG conv 10x10x3x3 on 64', n: 1, cin: 10, h: 64, w: 64, cout: 10, kh: 3, kw: 3, relu: true },
];

// Full-size real layers are costly on a CPU adapter, so they run once, on the variant this
// adapter picks by default ('direct' on SwiftShader, 'tiled' on a GPU); the grid above covers both.
describe('conv2d on real layer shapes', () => {
  it.each(REAL.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const probe = await runtimes.direct;
    const variant = probe.kind === 'cpu' ? 'direct' : 'tiled';
    const rt = await runtimes[variant];
    const d = data(c, 70);
    const x = upload(rt, d.x, d.xShape, 'x');
    const w = upload(rt, d.w, d.wShape, 'w');
    const y = track(conv2d(x, w, upload(rt, d.b!, [1, c.cout, 1, 1], 'b'), params(c)));
    const dx = track(conv2dBackwardInput(upload(rt, d.dy, d.yShape, 'dy'), w, d.xShape, params(c)));
    const { dw, db } = conv2dBackwardWeights(x, upload(rt, d.dy, d.yShape, 'dy'), d.wShape, params(c), true);
    track(dw);
    track(db!);
    const atY = strided(size(d.yShape), 3000);
    expectClose(pick(await y.read(), atY), ref.conv2dForward(d.x, d.w, d.b, d.g, true, atY), FORWARD_TOL, undefined, `${variant} y (strided)`);
    const atX = strided(size(d.xShape), 3000);
    expectClose(pick(await dx.read(), atX), ref.conv2dBackwardInput(d.dy, d.w, d.g, atX), GRAD_TOL, undefined, `${variant} dx (strided)`);
    const atW = strided(size(d.wShape), 500);
    expectClose(pick(await dw.read(), atW), ref.conv2dBackwardWeights(d.x, d.dy, d.g, atW), GRAD_TOL, undefined, `${variant} dw (strided)`);
    expectClose(await db!.read(), ref.conv2dBackwardBias(d.dy, d.g), GRAD_TOL, [1, c.cout, 1, 1], `${variant} db`);
  });
});

describe('conv2d validation errors', () => {
  const p = (over: Partial<Conv2dParams> = {}): Conv2dParams => ({ stride: [1, 1], pad: [1, 1, 1, 1], groups: 1, ...over });
  const setup = async (xShape: Shape4, wShape: Shape4) => {
    const rt = await runtimes.direct;
    return { rt, x: upload(rt, randomArray(size(xShape), 1), xShape, 'x'), w: upload(rt, randomArray(size(wShape), 2), wShape, 'w') };
  };

  it('weight with the wrong Cin/groups', async () => {
    const { x, w } = await setup([1, 6, 5, 5], [4, 6, 3, 3]);
    expect(() => conv2d(x, w, null, p({ groups: 2 }))).toThrow(/conv2d: weight has shape \(4, 6, 3, 3\), expected \(4, 3, 3, 3\)/);
  });
  it('Cin not divisible by groups', async () => {
    const { x, w } = await setup([1, 3, 5, 5], [4, 1, 3, 3]);
    expect(() => conv2d(x, w, null, p({ groups: 2 }))).toThrow(/conv2d: x has 3 channels, not divisible by groups 2/);
  });
  it('Cout not divisible by groups', async () => {
    const { x, w } = await setup([1, 4, 5, 5], [5, 2, 3, 3]);
    expect(() => conv2d(x, w, null, p({ groups: 2 }))).toThrow(/conv2d: weight has 5 output channels, not divisible by groups 2/);
  });
  it('bias of the wrong shape', async () => {
    const { rt, x, w } = await setup([1, 3, 5, 5], [4, 3, 3, 3]);
    const b = upload(rt, randomArray(3, 3), [1, 3, 1, 1], 'b');
    expect(() => conv2d(x, w, b, p())).toThrow(/conv2d: bias has shape \(1, 3, 1, 1\), expected \(1, 4, 1, 1\)/);
  });
  it('zero or negative stride, negative pad, zero groups', async () => {
    const { x, w } = await setup([1, 3, 5, 5], [4, 3, 3, 3]);
    expect(() => conv2d(x, w, null, p({ stride: [1, 0] }))).toThrow(/conv2d: stride\[1\] must be a positive integer, got 0/);
    expect(() => conv2d(x, w, null, p({ stride: [-2, 1] }))).toThrow(/conv2d: stride\[0\] must be a positive integer, got -2/);
    expect(() => conv2d(x, w, null, p({ pad: [0, 0, -1, 0] }))).toThrow(/conv2d: pad\[2\] must be a non-negative integer, got -1/);
    expect(() => conv2d(x, w, null, p({ groups: 0 }))).toThrow(/conv2d: groups must be a positive integer, got 0/);
  });
  it('kernel larger than the padded input', async () => {
    const { x, w } = await setup([1, 3, 4, 6], [4, 3, 7, 7]);
    expect(() => conv2d(x, w, null, p())).toThrow(/conv2d: weight kernel 7x7 is larger than the padded input 6x8 of x \(1, 3, 4, 6\)/);
  });
  it('out of the wrong shape', async () => {
    const { rt, x, w } = await setup([1, 3, 5, 5], [4, 3, 3, 3]);
    const out = upload(rt, randomArray(80, 4), [1, 4, 5, 4], 'out');
    expect(() => conv2d(x, w, null, p(), out)).toThrow(/conv2d: out has shape \(1, 4, 5, 4\), expected \(1, 4, 5, 5\)/);
  });
  it('backward dy and dx of the wrong shape', async () => {
    const { rt, x, w } = await setup([1, 3, 5, 5], [4, 3, 3, 3]);
    const dy = upload(rt, randomArray(4 * 25, 5), [1, 4, 25, 1], 'dy');
    expect(() => conv2dBackwardInput(dy, w, x.shape, p())).toThrow(/conv2dBackwardInput: dy has shape \(1, 4, 25, 1\), expected \(1, 4, 5, 5\)/);
    expect(() => conv2dBackwardWeights(x, dy, w.shape, p(), true)).toThrow(/conv2dBackwardWeights: dy has shape \(1, 4, 25, 1\), expected \(1, 4, 5, 5\)/);
    const good = upload(rt, randomArray(4 * 25, 6), [1, 4, 5, 5], 'dy');
    expect(() => conv2dBackwardInput(good, w, x.shape, p(), good)).toThrow(/conv2dBackwardInput: out has shape \(1, 4, 5, 5\), expected \(1, 3, 5, 5\)/);
    expect(() => conv2dBackwardInput(good, w, x.shape, p({ stride: [0, 1] }))).toThrow(/conv2dBackwardInput: stride\[0\] must be a positive integer/);
  });
  it('a buffer over the device binding limit', async () => {
    const { rt, w } = await setup([1, 3, 5, 5], [4, 3, 3, 3]);
    const max = rt.device.limits.maxStorageBufferBindingSize;
    const huge = { size: max + 1024, label: 'huge' } as GPUBuffer;
    // Tensors bind only their extent: this view's two samples span max + 300 bytes.
    const x = Tensor.view(rt, huge, [2, 3, 5, 5], 'x', 0, max / 4);
    expect(() => conv2d(x, w, null, p())).toThrow(new RegExp(`conv2d: x \\(x\\) spans ${max + 300} bytes, over the device's maxStorageBufferBindingSize ${max}`));
  });
  it('an unknown forced variant', async () => {
    const rt = await Runtime.create({ variants: { conv2d: 'winograd' } });
    try {
      const x = Tensor.fromData(rt, randomArray(75, 1), [1, 3, 5, 5], 'x');
      const w = Tensor.fromData(rt, randomArray(108, 2), [4, 3, 3, 3], 'w');
      expect(() => conv2d(x, w, null, p())).toThrow(/conv2d: unknown variant 'winograd' \(direct, tiled\)/);
      x.dispose();
      w.dispose();
    } finally {
      rt.destroy();
    }
  });
  it('reports the output shape', () => {
    expect(conv2dOutputShape([2, 3, 224, 224], [64, 3, 11, 11], { stride: [4, 4], pad: [2, 2, 2, 2], groups: 1 })).toEqual([2, 64, 55, 55]);
    expect(conv2dOutputShape([1, 96, 27, 27], [256, 48, 5, 5], { stride: [1, 1], pad: [2, 2, 2, 2], groups: 2 })).toEqual([1, 256, 27, 27]);
    expect(conv2dOutputShape([1, 3, 8, 9], [3, 3, 3, 2], { stride: [2, 1], pad: [2, 0, 0, 1], groups: 1 })).toEqual([1, 3, 4, 9]);
  });
});
