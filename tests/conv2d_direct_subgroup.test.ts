// The direct conv path with subgroup-shared weights (shaders/conv2d_direct_subgroup.wgsl:
// conv2d_direct_sg, conv2d_direct3_sg, conv2d_direct5_sg, conv2d_1x1_sg) against the float64 reference, forward and
// the stride-1 backward to the input (which runs the same entry points on flipped, transposed
// weights), beside the plain direct path (a runtime without 'subgroups'). Shapes are chosen to hit
// every edge of the 16-channel x 8-column blocks: Cout and Cin not multiples of 16 or 4, odd Cin,
// OW and OH*OW not multiples of 8, padding on every side (rows outside the input are masked, not
// skipped), groups, stride along y only (the 3-tap window still applies), N > 1, channel views in
// and out, weights at an odd offset of an arena buffer, and grids with surplus invocations.

import { afterAll, describe, expect, it } from 'vitest';
import { conv2dDirectSubgroups, directSgWorkgroup } from '../engine/kernels/conv2d';
import { conv2d, conv2dBackwardInput, type Conv2dParams } from '../engine/ops/conv2d';
import { Runtime } from '../engine/runtime';
import { Tensor, type Shape4 } from '../engine/tensor';
import { expectClose, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { expectView } from './helpers/view_writes';
import * as ref from './reference/conv2d';

const PATHS = ['subgroups', 'plain'] as const;
type Path = (typeof PATHS)[number];
const runtimes: Record<Path, Promise<Runtime>> = {
  subgroups: Runtime.create({ variants: { conv2d: 'direct' } }),
  plain: Runtime.create({ variants: { conv2d: 'direct' }, subgroups: false }),
};
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
  /** The entry point the subgroup path runs forward (and, stride 1, backward to the input). */
  forward: string;
  backward: string;
}

const CASES: Case[] = [
  { name: '3x3 pad 1, 16->64 on 11x13 (fire2/expand3x3 in small)', n: 1, cin: 16, h: 11, w: 13, cout: 64, kh: 3, kw: 3, pad: [1, 1, 1, 1], forward: 'conv2d_direct3_sg', backward: 'conv2d_direct3_sg' },
  { name: '3x3 asymmetric pad, 5->20 on 9x19, N=2, relu', n: 2, cin: 5, h: 9, w: 19, cout: 20, kh: 3, kw: 3, pad: [2, 0, 0, 2], relu: true, forward: 'conv2d_direct3_sg', backward: 'conv2d_direct3_sg' },
  { name: '3x3 groups 2, 34->6 on 7x5, N=3 (3 channels per group)', n: 3, cin: 34, h: 7, w: 5, cout: 6, kh: 3, kw: 3, groups: 2, pad: [1, 1, 1, 1], forward: 'conv2d_direct3_sg', backward: 'conv2d_direct3_sg' },
  { name: '3x3 stride (2, 1) pad (1, 0, 1, 1), 7->17 on 12x21', n: 1, cin: 7, h: 12, w: 21, cout: 17, kh: 3, kw: 3, stride: [2, 1], pad: [1, 0, 1, 1], forward: 'conv2d_direct3_sg', backward: 'backward_input_direct' },
  { name: '3x3 no pad, 33->35 on 4x10 (one output row of 8 columns)', n: 1, cin: 33, h: 4, w: 10, cout: 35, kh: 3, kw: 3, forward: 'conv2d_direct3_sg', backward: 'conv2d_direct3_sg' },
  { name: '3x3 stride (1, 2), 6->9 on 7x19', n: 1, cin: 6, h: 7, w: 19, cout: 9, kh: 3, kw: 3, stride: [1, 2], pad: [1, 1, 0, 1], forward: 'conv2d_direct_sg', backward: 'backward_input_direct' },
  { name: '5x5 pad 2, 17->33 on 13x11, N=2', n: 2, cin: 17, h: 13, w: 11, cout: 33, kh: 5, kw: 5, pad: [2, 2, 2, 2], forward: 'conv2d_direct5_sg', backward: 'conv2d_direct5_sg' },
  { name: '5x5 asymmetric pad (1, 3, 2, 0), 6->19 on 9x21, relu (three column blocks)', n: 1, cin: 6, h: 9, w: 21, cout: 19, kh: 5, kw: 5, pad: [1, 3, 2, 0], relu: true, forward: 'conv2d_direct5_sg', backward: 'conv2d_direct5_sg' },
  { name: '5x5 groups 2, 10->36 on 8x6, N=2 (AlexNet-Caffe conv2 in small)', n: 2, cin: 10, h: 8, w: 6, cout: 36, kh: 5, kw: 5, groups: 2, pad: [2, 2, 2, 2], forward: 'conv2d_direct5_sg', backward: 'conv2d_direct5_sg' },
  { name: '4x5 no pad, 35->5 on 6x13 (window past the row end)', n: 1, cin: 35, h: 6, w: 13, cout: 5, kh: 4, kw: 5, forward: 'conv2d_direct5_sg', backward: 'conv2d_direct5_sg' },
  { name: '5x5 stride (2, 1) pad 2, 7->18 on 11x12', n: 1, cin: 7, h: 11, w: 12, cout: 18, kh: 5, kw: 5, stride: [2, 1], pad: [2, 2, 2, 2], forward: 'conv2d_direct5_sg', backward: 'backward_input_direct' },
  { name: '5x5 stride (1, 2) pad 2, 7->18 on 11x12', n: 1, cin: 7, h: 11, w: 12, cout: 18, kh: 5, kw: 5, stride: [1, 2], pad: [2, 2, 2, 2], forward: 'conv2d_direct_sg', backward: 'backward_input_direct' },
  { name: '2x3 pad (0, 1, 0, 2), 5->12 on 6x19', n: 1, cin: 5, h: 6, w: 19, cout: 12, kh: 2, kw: 3, pad: [0, 1, 0, 2], forward: 'conv2d_direct3_sg', backward: 'conv2d_direct3_sg' },
  { name: '3x2 pad (2, 0, 0, 1), 4->3 on 8x9', n: 1, cin: 4, h: 8, w: 9, cout: 3, kh: 3, kw: 2, pad: [2, 0, 0, 1], forward: 'conv2d_direct_sg', backward: 'conv2d_direct_sg' },
  { name: '1x1, 33->17 on 13x11, N=3 (143 pixels)', n: 3, cin: 33, h: 13, w: 11, cout: 17, kh: 1, kw: 1, forward: 'conv2d_1x1_sg', backward: 'conv2d_1x1_sg' },
  { name: '1x1 groups 3, 9->48 on 5x7, relu', n: 1, cin: 9, h: 5, w: 7, cout: 48, kh: 1, kw: 1, groups: 3, relu: true, forward: 'conv2d_1x1_sg', backward: 'conv2d_1x1_sg' },
  { name: '1x1 stride 2, 5->17 on 13x11', n: 1, cin: 5, h: 13, w: 11, cout: 17, kh: 1, kw: 1, stride: [2, 2], forward: 'conv2d_direct_sg', backward: 'backward_input_direct' },
  // GoogLeNet's 7 x 7 shapes in small: 7 blocks per channel block, run 8 to a workgroup.
  { name: '1x1, 40->20 on 7x7 (inception_5a in small)', n: 1, cin: 40, h: 7, w: 7, cout: 20, kh: 1, kw: 1, forward: 'conv2d_1x1_sg', backward: 'conv2d_1x1_sg' },
  { name: '5x5 pad 2, 12->24 on 7x7, N=2', n: 2, cin: 12, h: 7, w: 7, cout: 24, kh: 5, kw: 5, pad: [2, 2, 2, 2], forward: 'conv2d_direct5_sg', backward: 'conv2d_direct5_sg' },
];

const geom = (c: Case): ref.ConvGeom => ({ n: c.n, cin: c.cin, h: c.h, w: c.w, cout: c.cout, kh: c.kh, kw: c.kw, sh: c.stride?.[0] ?? 1, sw: c.stride?.[1] ?? 1, pad: c.pad ?? [0, 0, 0, 0], groups: c.groups ?? 1 });
const params = (c: Case): Conv2dParams => ({ stride: c.stride ?? [1, 1], pad: c.pad ?? [0, 0, 0, 0], groups: c.groups ?? 1, relu: c.relu });

/** Seeded data, scaled so outputs and gradients are O(1) whatever the fan-in. */
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
    b: randomArray(c.cout, seed + 2),
    dy: randomArray(size(yShape), seed + 3, 1 / Math.sqrt(c.n * oh * ow)),
  };
}

/** Copy dense `src` (N, C, H, W) into channels [c0, c0 + C) of `dst` (N, total, H, W). */
function embed(dst: Float32Array, total: number, c0: number, src: Float32Array, shape: Shape4): Float32Array {
  const hw = shape[2] * shape[3];
  const per = shape[1] * hw;
  for (let n = 0; n < shape[0]; n++) dst.set(src.subarray(n * per, (n + 1) * per), (n * total + c0) * hw);
  return dst;
}

/** The weights (and bias) at odd element offsets of one arena buffer, as the model's weight arena holds them. */
function arena(rt: Runtime, d: ReturnType<typeof data>) {
  const at = 37;
  const all = randomArray(at + d.w.length + 11 + d.b.length, 99);
  all.set(d.w, at);
  all.set(d.b, at + d.w.length + 11);
  const buf = upload(rt, all, [1, 1, 1, all.length], 'arena');
  return { w: Tensor.view(rt, buf.buffer, d.wShape, 'w', at), b: Tensor.view(rt, buf.buffer, [1, d.b.length, 1, 1], 'b', at + d.w.length + 11) };
}

/** Entry points the runtime dispatched while running `pass` (conv2d families only). */
async function entryPoints(rt: Runtime, pass: () => unknown): Promise<string[]> {
  const p = await rt.profile(pass);
  return p.records.filter((r) => r.family.startsWith('conv2d')).map((r) => r.entryPoint);
}

const GRID = PATHS.flatMap((p) => CASES.map((c) => [p, c.name, c] as const));

describe('conv2d direct path with subgroup-shared weights', () => {
  it('is taken exactly where the device has subgroups of at least 4 lanes', async () => {
    const [sg, plain] = [await runtimes.subgroups, await runtimes.plain];
    expect(conv2dDirectSubgroups(sg)).toBe(sg.gpu.features.subgroups && sg.gpu.features.subgroupMinSize >= 4);
    expect(conv2dDirectSubgroups(plain)).toBe(false);
  });

  it('runs 16, 8 or 4 invocations a workgroup, whichever idles fewest lanes (the larger within 10%)', async () => {
    // blocks -> lanes idle at 16 / 8 / 4: 7 -> 9 / 1 / 1; 22 -> 10 / 2 / 2; 25 -> 7 / 7 / 3; 98 -> 14 / 6 / 2; 100 -> 12 / 4 / 0; 64 -> 0.
    expect([1, 4, 7, 22, 25, 28, 64, 98, 100].map(directSgWorkgroup)).toEqual([4, 4, 8, 8, 4, 4, 16, 8, 8]);
    const rt = await runtimes.subgroups;
    if (!conv2dDirectSubgroups(rt)) return;
    // A 7 x 7 pointwise conv, 16 -> 16 channels: 7 pixel blocks, one workgroup of 8.
    const x = upload(rt, randomArray(16 * 49, 3), [1, 16, 7, 7]);
    const w = upload(rt, randomArray(16 * 16, 4), [16, 16, 1, 1]);
    const p = await rt.profile(() => track(conv2d(x, w, null, { stride: [1, 1], pad: [0, 0, 0, 0], groups: 1 })));
    const rec = p.records.find((r) => r.entryPoint === 'conv2d_1x1_sg')!;
    expect(rec.workgroupSize[0]).toBe(8);
    expect(rec.workgroups[0]).toBe(1);
  });

  it.each(GRID)('%s: forward, views in and out, arena weights: %s', async (path, _name, c) => {
    const rt = await runtimes[path];
    const d = data(c, 10);
    const { w, b } = arena(rt, d);
    const xBig = upload(rt, embed(randomArray(c.n * (c.cin + 3) * c.h * c.w, 11), c.cin + 3, 2, d.x, d.xShape), [c.n, c.cin + 3, c.h, c.w], 'xBig');
    const yShape: Shape4 = [c.n, c.cout + 5, d.yShape[2], d.yShape[3]];
    const yInit = randomArray(size(yShape), 12);
    const yBig = upload(rt, yInit, yShape, 'yBig');
    const used = await entryPoints(rt, () => conv2d(xBig.channels(2, c.cin), w, b, params(c), yBig.channels(4, c.cout)));
    expect(used).toEqual([conv2dDirectSubgroups(rt) ? c.forward : c.kh === 1 && c.kw === 1 && !c.stride ? 'conv2d_1x1' : 'conv2d_direct']);
    expectView(await yBig.read(), yShape, 4, c.cout, ref.conv2dForward(d.x, d.w, d.b, d.g, c.relu), yInit, FORWARD_TOL, `${path} y`);
  });

  it.each(GRID)('%s: backward to the input, views in and out, arena weights: %s', async (path, _name, c) => {
    const rt = await runtimes[path];
    const d = data(c, 20);
    const { w } = arena(rt, d);
    const dyBig = upload(rt, embed(randomArray(c.n * (c.cout + 2) * d.yShape[2] * d.yShape[3], 21), c.cout + 2, 1, d.dy, d.yShape), [c.n, c.cout + 2, d.yShape[2], d.yShape[3]], 'dyBig');
    const dxShape: Shape4 = [c.n, c.cin + 4, c.h, c.w];
    const dxInit = randomArray(size(dxShape), 22);
    const dxBig = upload(rt, dxInit, dxShape, 'dxBig');
    const used = await entryPoints(rt, () => conv2dBackwardInput(dyBig.channels(1, c.cout), w, d.xShape, params(c), dxBig.channels(3, c.cin)));
    if (conv2dDirectSubgroups(rt)) expect(used).toEqual([c.backward]);
    else expect(used.some((e) => e.endsWith('_sg'))).toBe(false);
    expectView(await dxBig.read(), dxShape, 3, c.cin, ref.conv2dBackwardInput(d.dy, d.w, d.g), dxInit, GRAD_TOL, `${path} dx`);
  });

  it.each(PATHS)('%s: a folded grid (at most 6 workgroups per axis) gives the same result', async (path) => {
    const rt = await Runtime.create({ variants: { conv2d: 'direct' }, subgroups: path === 'subgroups', maxWorkgroupsPerDimension: 6 });
    try {
      const c = CASES[1];
      const d = data(c, 30);
      const x = track(Tensor.fromData(rt, d.x, d.xShape, 'x'));
      const y = track(conv2d(x, track(Tensor.fromData(rt, d.w, d.wShape, 'w')), track(Tensor.fromData(rt, d.b, [1, c.cout, 1, 1], 'b')), params(c)));
      expectClose(await y.read(), ref.conv2dForward(d.x, d.w, d.b, d.g, c.relu), FORWARD_TOL, d.yShape, `${path} folded y`);
    } finally {
      rt.destroy();
    }
  });
});
