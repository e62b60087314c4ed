// Multi-conv launches (engine/ops/conv2d.ts conv2dMulti -> dispatchConv2dMulti): several convs of
// one x in one conv2d_tiled dispatch (plus one conv2d_split_sum when K is split), each part with
// its own kernel, padding, channel count, bias, ReLU and output. Every part is compared with the
// float64 reference conv, over every tile shape and forced split counts, on channel views of
// shared and separate outputs whose other channels must stay untouched; and the launch count is
// checked: one (or two with split-K) on 'tiled', one per part on 'direct' or where the weights
// do not share a buffer.

import { afterAll, describe, expect, it } from 'vitest';
import { conv2dTiling, forceConv2dTiling, type ConvTiling } from '../engine/kernels/conv2d';
import { conv2dMulti, conv2dOutputShape, type Conv2dParams, type Conv2dPart } from '../engine/ops/conv2d';
import { Runtime } from '../engine/runtime';
import { Tensor, type Shape4 } from '../engine/tensor';
import { expectClose, FORWARD_TOL } from './helpers/close';
import { size, track, upload } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { expectView } from './helpers/view_writes';
import * as ref from './reference/conv2d';

const runtimes = {
  tiled: Runtime.create({ variants: { conv2d: 'tiled' } }),
  direct: Runtime.create({ variants: { conv2d: 'direct' } }),
  /** Grids folded at 17 workgroups per axis (engine/kernels/kernel.ts foldGrid). */
  folded: Runtime.create({ variants: { conv2d: 'tiled' }, maxWorkgroupsPerDimension: 17 }),
};
afterAll(async () => {
  for (const rt of Object.values(runtimes)) (await rt).destroy();
});

/** One conv of a case; `view`: its output is channels [c0, c0 + cout) of output tensor `view.out` (index into the case's outputs). */
interface PartCase {
  cout: number; kh: number; kw: number;
  pad?: [number, number, number, number];
  relu?: boolean;
  bias?: boolean;
  view: { out: number; c0: number };
}

interface Case {
  name: string;
  n: number; cin: number; h: number; w: number;
  stride?: [number, number];
  parts: PartCase[];
  /** Channels of each output tensor (parts write channel views of them). */
  outputs: number[];
}

const CASES: Case[] = [
  {
    name: 'SqueezeNet-like: 1x1 + 3x3 pad 1 into one concat, ReLU on the 3x3 only, N=2',
    n: 2, cin: 13, h: 9, w: 7, outputs: [17 + 20],
    parts: [{ cout: 17, kh: 1, kw: 1, view: { out: 0, c0: 0 } }, { cout: 20, kh: 3, kw: 3, pad: [1, 1, 1, 1], relu: true, view: { out: 0, c0: 17 } }],
  },
  {
    name: 'GoogLeNet-like: three 1x1s into a concat slice and two separate tensors, one without bias, N=3',
    n: 3, cin: 21, h: 6, w: 5, outputs: [16 + 5, 24, 18],
    parts: [
      { cout: 16, kh: 1, kw: 1, relu: true, view: { out: 0, c0: 3 } },
      { cout: 24, kh: 1, kw: 1, bias: false, relu: true, view: { out: 1, c0: 0 } },
      { cout: 18, kh: 1, kw: 1, view: { out: 2, c0: 0 } },
    ],
  },
  {
    name: 'asymmetric pads and a 1x2 kernel, views at odd channels of two tensors',
    n: 1, cin: 9, h: 8, w: 11, outputs: [40, 19],
    parts: [{ cout: 33, kh: 3, kw: 3, pad: [0, 2, 1, 0], relu: true, view: { out: 0, c0: 5 } }, { cout: 17, kh: 1, kw: 2, view: { out: 1, c0: 1 } }],
  },
  {
    name: 'stride 2: 1x1 + 3x3 pad 1 + 5x5 pad 2 + 1x1, four parts (the most), N=2',
    n: 2, cin: 7, h: 11, w: 9, stride: [2, 2], outputs: [16 + 18 + 65, 16],
    parts: [
      { cout: 16, kh: 1, kw: 1, view: { out: 0, c0: 0 } },
      { cout: 18, kh: 3, kw: 3, pad: [1, 1, 1, 1], relu: true, view: { out: 0, c0: 16 } },
      { cout: 65, kh: 5, kw: 5, pad: [2, 2, 2, 2], bias: false, view: { out: 0, c0: 34 } },
      { cout: 16, kh: 1, kw: 1, relu: true, view: { out: 1, c0: 0 } },
    ],
  },
];

const TILINGS: (ConvTiling | null)[] = [
  null, { tm: 64, tn: 64, splits: 1 }, { tm: 64, tn: 32, splits: 2 }, { tm: 32, tn: 64, splits: 1 }, { tm: 32, tn: 32, splits: 3 }, { tm: 32, tn: 32, splits: 16 },
];

const params = (c: Case, p: PartCase): Conv2dParams => ({ stride: c.stride ?? [1, 1], pad: p.pad ?? [0, 0, 0, 0], groups: 1, relu: p.relu });
const geom = (c: Case, p: PartCase): ref.ConvGeom => ({ n: c.n, cin: c.cin, h: c.h, w: c.w, cout: p.cout, kh: p.kh, kw: p.kw, sh: c.stride?.[0] ?? 1, sw: c.stride?.[1] ?? 1, pad: p.pad ?? [0, 0, 0, 0], groups: 1 });

/** Seeded data of a case: x, each part's weights and bias (in one arena buffer at odd offsets, like a model's), pre-filled outputs. */
function setup(rt: Runtime, c: Case, seed: number) {
  const x = randomArray(c.n * c.cin * c.h * c.w, seed);
  const ws = c.parts.map((p, i) => randomArray(p.cout * c.cin * p.kh * p.kw, seed + 10 * i + 1, 1 / Math.sqrt(c.cin * p.kh * p.kw)));
  const bs = c.parts.map((p, i) => (p.bias === false ? null : randomArray(p.cout, seed + 10 * i + 2)));
  const at: { w: number; b: number }[] = [];
  let end = 3;
  for (let i = 0; i < c.parts.length; i++) {
    at.push({ w: end, b: end + ws[i].length + 1 });
    end += ws[i].length + 1 + c.parts[i].cout + 5;
  }
  const arenaData = randomArray(end, seed + 99);
  c.parts.forEach((_, i) => {
    arenaData.set(ws[i], at[i].w);
    if (bs[i]) arenaData.set(bs[i]!, at[i].b);
  });
  const arena = upload(rt, arenaData, [1, 1, 1, end], 'arena').buffer;
  const [oh, ow] = ref.outSize(geom(c, c.parts[0]));
  const outShapes = c.outputs.map((ch): Shape4 => [c.n, ch, oh, ow]);
  const inits = outShapes.map((s, i) => randomArray(size(s), seed + 200 + i));
  const outs = outShapes.map((s, i) => upload(rt, inits[i], s, `out${i}`));
  const parts: Conv2dPart[] = c.parts.map((p, i) => ({
    weight: Tensor.view(rt, arena, [p.cout, c.cin, p.kh, p.kw], `w${i}`, at[i].w),
    bias: bs[i] ? Tensor.view(rt, arena, [1, p.cout, 1, 1], `b${i}`, at[i].b) : null,
    params: params(c, p),
    out: outs[p.view.out].channels(p.view.c0, p.cout),
  }));
  return { xT: upload(rt, x, [c.n, c.cin, c.h, c.w], 'x'), x, ws, bs, parts, outs, outShapes, inits };
}

/** Run a case on rt and compare every output tensor (each part's channels vs the reference, the rest untouched). */
async function check(rt: Runtime, c: Case, label: string): Promise<number> {
  const s = setup(rt, c, 40);
  const before = rt.stats.dispatches;
  const ys = conv2dMulti(s.xT, s.parts);
  const dispatches = rt.stats.dispatches - before;
  expect(ys.map((y) => y.shape)).toEqual(c.parts.map((p) => conv2dOutputShape(s.xT.shape, [p.cout, c.cin, p.kh, p.kw], params(c, p))));
  for (const [o, t] of s.outs.entries()) {
    const got = await t.read();
    // Fold each part's view check into one pass per output: the expected tensor is the initial one with every part's channels replaced.
    const mine = c.parts.map((p, i) => ({ p, i })).filter(({ p }) => p.view.out === o);
    for (const { p, i } of mine) {
      const want = ref.conv2dForward(s.x, s.ws[i], s.bs[i], geom(c, p), p.relu ?? false);
      const others = mine.filter((m) => m.i !== i);
      // Channels of the other parts in this output count as "outside" for this part: give expectView the GPU's values there.
      const init = Float32Array.from(s.inits[o]);
      const [n, ch, h, w] = s.outShapes[o];
      for (const m of others) for (let b = 0; b < n; b++) {
        const from = (b * ch + m.p.view.c0) * h * w;
        init.set(got.subarray(from, from + m.p.cout * h * w), from);
      }
      expectView(got, s.outShapes[o], p.view.c0, p.cout, want, init, FORWARD_TOL, `${label}: part ${i} (${p.kh}x${p.kw}, ${p.cout} channels)`);
    }
  }
  return dispatches;
}

describe('conv2dMulti on the tiled variant', () => {
  for (const c of CASES) {
    it.each(TILINGS.map((t) => ({ t, name: t ? `${t.tm}x${t.tn}, ${t.splits} split(s)` : 'the tiling rule' })))(`${c.name}: $name`, async ({ t }) => {
      const rt = await runtimes.tiled;
      forceConv2dTiling(rt, t);
      try {
        const dispatches = await check(rt, c, c.name);
        // One launch, plus the split-sum pass when K was split (forced splits shrink to what the deepest K allows).
        const ks = c.parts.map((p) => c.cin * p.kh * p.kw);
        const [oh, ow] = ref.outSize(geom(c, c.parts[0]));
        const wanted = t ?? conv2dTiling(c.parts.map((p) => p.cout), oh * ow, Math.max(...ks), c.n);
        const splits = Math.max(...ks.map((k) => Math.ceil(k / (Math.ceil(k / wanted.splits / 16) * 16))));
        expect(dispatches).toBe(splits > 1 ? 2 : 1);
      } finally {
        forceConv2dTiling(rt, null);
      }
    });
  }
});

describe('conv2dMulti on a folded grid', () => {
  // 10 + 8 channel blocks of 32 on y (past 17), 3 splits on z; the split sum's 225 groups fold too.
  const c: Case = {
    name: 'folded', n: 1, cin: 11, h: 5, w: 5, outputs: [325, 256],
    parts: [{ cout: 320, kh: 3, kw: 3, pad: [1, 1, 1, 1], relu: true, view: { out: 0, c0: 5 } }, { cout: 256, kh: 1, kw: 1, view: { out: 1, c0: 0 } }],
  };
  it.each([{ tm: 32, tn: 32, splits: 1 }, { tm: 32, tn: 32, splits: 3 }] as ConvTiling[])('1x1 + 3x3, 32x32 tiles, $splits split(s)', async (t) => {
    const rt = await runtimes.folded;
    forceConv2dTiling(rt, t);
    try {
      expect(await check(rt, c, `folded, ${t.splits} split(s)`)).toBe(t.splits > 1 ? 2 : 1);
    } finally {
      forceConv2dTiling(rt, null);
    }
  });
});

describe('conv2dMulti where one launch does not apply', () => {
  it.each(CASES.map((c) => ({ c, name: c.name })))('direct variant, one dispatch per part: $name', async ({ c }) => {
    expect(await check(await runtimes.direct, c, `direct: ${c.name}`)).toBe(c.parts.length);
  });

  it('weights in separate buffers: one launch per part, same results', async () => {
    const rt = await runtimes.tiled;
    const c = CASES[0];
    const s = setup(rt, c, 50);
    const copy = (t: Tensor, label: string) => {
      const d = track(Tensor.empty(rt, t.shape, label));
      t.copyTo(d);
      return d;
    };
    const parts = s.parts.map((p, i) => ({ ...p, weight: i === 1 ? copy(p.weight, 'w1 apart') : p.weight }));
    const before = rt.stats.dispatches;
    conv2dMulti(s.xT, parts);
    expect(rt.stats.dispatches - before).toBeGreaterThanOrEqual(2);
    const got = await s.outs[0].read();
    const [n, ch, h, w] = s.outShapes[0];
    for (const [i, p] of c.parts.entries()) {
      const want = ref.conv2dForward(s.x, s.ws[i], s.bs[i], geom(c, p), p.relu ?? false);
      const slice = new Float32Array(n * p.cout * h * w);
      for (let b = 0; b < n; b++) slice.set(got.subarray((b * ch + p.view.c0) * h * w, (b * ch + p.view.c0 + p.cout) * h * w), b * p.cout * h * w);
      expectClose(slice, want, FORWARD_TOL, [n, p.cout, h, w], `separate buffers, part ${i}`);
    }
  });

  it('names the part whose shapes do not fit', async () => {
    const rt = await runtimes.tiled;
    const c = CASES[0];
    const s = setup(rt, c, 60);
    expect(() => conv2dMulti(s.xT, [])).toThrow(/conv2dMulti: no convs given/);
    const bad = [s.parts[0], { ...s.parts[1], bias: s.parts[0].bias }];
    expect(() => conv2dMulti(s.xT, bad)).toThrow(/conv2dMulti part 1: bias has shape \(1, 17, 1, 1\), expected \(1, 20, 1, 1\)/);
  });
});

describe('conv2dTiling of stacked parts', () => {
  it('counts every part\'s channel blocks toward the grid', () => {
    // SqueezeNet fire2 at batch 1: alone, expand3x3 (64 channels, 3136 pixels, K 144) needs 2 splits
    // to fill the grid; stacked with expand1x1 the 128 channels fill it unsplit.
    expect(conv2dTiling(64, 3136, 144, 1)).toEqual({ tm: 32, tn: 32, splits: 2 });
    expect(conv2dTiling([64, 64], 3136, 144, 1)).toEqual({ tm: 32, tn: 32, splits: 1 });
    // A single number and a one-part list agree.
    expect(conv2dTiling([96], 784, 192, 8)).toEqual(conv2dTiling(96, 784, 192, 8));
  });
});
