// The image-optimization toolkit (engine/techniques/optvis/), each piece alone, then the loop:
//   - every objective term's value matches its float64 reference and its gradient matches central
//     finite differences of that reference; terms at two layers are backpropagated and summed;
//   - the transforms' backward is the adjoint of their forward (<T x, y> = <x, T* y>);
//   - the Fourier parameterization (with a BGR, mean / std model input) matches the float64
//     composition of the references, and its backward matches finite differences;
//   - the loop raises its objective, equal seeds give bit-identical images and other seeds differ,
//     a setting changed mid-run takes effect at the next step, an AbortSignal stops it, and
//     10,000 iterations leave the pool's byte counters flat (TinyVGG 16 x 16, `until`).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, Tensor, type Model } from '../engine/index';
import { colorDecorrelation } from '../engine/ops/fft';
import {
  bindObjective, bindTransforms, channelMean, classLogit, dot, featureMatch, fourierParam, gramMatch, layerL2, LUCID_TRANSFORMS, loopSettings,
  makeOptimizer, maximize, neuron, optimize, pixelParam, type LoopOptions, type Term, type TransformStep,
} from '../engine/techniques/optvis/index';
import { uniformStream } from '../engine/techniques/attribution';
import type { Runtime } from '../engine/runtime';
import { expectClose, FORWARD_TOL, GRAD_TOL, type Tolerance } from './helpers/close';
import { numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import * as fftRef from './reference/fft';
import * as ref from './reference/objectives';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** A float32 inner product of ~1000 terms against its float64 value. */
const ADJOINT_TOL: Tolerance = { atol: 1e-4, rtol: 1e-4 };

type Shape = readonly [number, number, number, number];
const SHAPE: Shape = [2, 4, 3, 5];

/** Each term with its float64 value: [name, term factory (given a target tensor), reference]. */
function termCases(rt: Runtime): [string, Shape, () => Term, (a: ArrayLike<number>) => Float64Array][] {
  const f = randomArray(size(SHAPE), 11, 0.8);
  const g0 = randomArray(2 * 16, 12, 0.3);
  const F = () => upload(rt, f, SHAPE, 'features');
  return [
    ['neuron', SHAPE, () => neuron('L', 2, 1, 3, { weight: 1.5 }), (a) => ref.neuron(SHAPE, a, 2, 1, 3, 1.5)],
    ['channelMean', SHAPE, () => channelMean('L', 1, { weight: -2 }), (a) => ref.channelMean(SHAPE, a, 1, -2)],
    ['layerL2', SHAPE, () => layerL2('L', { weight: 0.7 }), (a) => ref.layerL2(SHAPE, a, 0.7)],
    ['dot', SHAPE, () => dot('L', F(), { weight: 0.5 }), (a) => ref.dot(SHAPE, a, f, 0.5)],
    ['featureMatch', SHAPE, () => featureMatch('L', F(), { weight: 3 }), (a) => ref.featureMatch(SHAPE, a, f, 3)],
    ['gramMatch', SHAPE, () => gramMatch('L', upload(rt, g0, [2, 1, 4, 4], 'gram target'), { weight: 2 }), (a) => ref.gramMatch(SHAPE, a, g0, 2)],
  ];
}

describe('objective terms', () => {
  it.each(['neuron', 'channelMean', 'layerL2', 'dot', 'featureMatch', 'gramMatch'])('%s: value = float64 reference, gradient = finite differences of it (accumulating too)', async (which) => {
    const rt = await gpu();
    const [, shape, make, value] = termCases(rt).find((c) => c[0] === which)!;
    const a = randomArray(size(shape), 3);
    const act = upload(rt, a, shape, 'act');
    const bound = make().bind(rt, shape);
    try {
      expectClose(await bound.value(act).read(), value(a), FORWARD_TOL, [shape[0]], `${which} value`);
      const grad = track(Tensor.empty(rt, shape, 'grad'));
      bound.gradient(act, grad, false);
      const loss = (x: Float64Array) => value(x).reduce((s, v) => s + v, 0);
      const [idx, num] = numericGrad(loss, toF64(a), 60, 1e-6);
      expectClose(pick(await grad.read(), idx), num, GRAD_TOL, undefined, `${which} gradient vs finite differences`);
      // accumulate adds: grad = 2 * dT/dA
      const once = await grad.read();
      bound.gradient(act, grad, true);
      expectClose(await grad.read(), once.map((v) => 2 * v), FORWARD_TOL, shape, `${which} accumulated gradient`);
    } finally {
      bound.dispose();
    }
  });
});

describe('objectives on a model', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
  });

  it('a sum of terms at two layers: forward stops at the deepest, the input gradient is the sum of each term\'s backward', async () => {
    const rt = model.rt;
    const x = upload(rt, randomArray(3 * 64 * 64, 5, 0.5).map((v) => v + 0.5), [1, 3, 64, 64]);
    const terms = [classLogit(model, 2), channelMean('conv_2_1', 4, { weight: 0.5 })];
    const both = bindObjective(model, maximize(...terms), 1, 64, 64);
    expect(both.until).toBe('output');
    const single = terms.map((t) => bindObjective(model, maximize(t), 1, 64, 64));
    try {
      const grads: Float32Array[] = [];
      for (const b of [both, ...single]) {
        model.forward(x, { until: b.until });
        const g = track(Tensor.empty(rt, [1, 3, 64, 64], 'g'));
        b.backward(g, false);
        grads.push(await g.read());
      }
      const sum = grads[1].map((v, i) => v + grads[2][i]);
      expectClose(grads[0], sum, GRAD_TOL, [1, 3, 64, 64], 'two-layer objective gradient');
      expect(Math.max(...grads[2].map(Math.abs))).toBeGreaterThan(0);
    } finally {
      [both, ...single].forEach((b) => b.dispose());
    }
  });

  it('a wrong layer or an empty objective fails naming the problem', () => {
    expect(() => bindObjective(model, maximize(neuron('conv9', 0, 0, 0)), 1, 64, 64)).toThrow(/objective term 'neuron conv9\[0, 0, 0\]': model 'tinyvgg' has no layer 'conv9' \(layers: conv_1_1, relu_1_1/);
    expect(() => bindObjective(model, maximize(), 1, 64, 64)).toThrow(/objective: no terms/);
    expect(() => bindObjective(model, maximize(neuron('conv_2_2', 3, 9, 0)), 1, 16, 16)).toThrow(/neuron conv_2_2\[3, 9, 0\] y: 9 is outside \[0, 2\)/);
  });
});

describe('optimizers', () => {
  it.each([['ascent', true], ['normalized', false], ['l2norm', true], ['adam', false]] as const)('%s (ascend %s): one step equals the float64 update', async (kind, up) => {
    const rt = await gpu();
    const shape: Shape = [2, 3, 4, 5];
    const xs = randomArray(size(shape), 31);
    const gs = randomArray(size(shape), 32);
    const x = upload(rt, xs, shape);
    const opt = makeOptimizer(kind, x);
    try {
      opt.step(x, upload(rt, gs, shape, 'g'), 0.1, up);
      const per = size(shape) / 2;
      const expected = Array.from(xs, (v, i) => {
        const s = Math.floor(i / per);
        const g = gs.subarray(s * per, (s + 1) * per);
        const d = kind === 'ascent' ? gs[i]
          : kind === 'normalized' ? gs[i] / (g.reduce((a, b) => a + Math.abs(b), 0) / per + 1e-8)
          : kind === 'l2norm' ? gs[i] / Math.hypot(...g)
          : gs[i] / (Math.abs(gs[i]) + 1e-8); // Adam's first step: m / sqrt(v) after bias correction
        return v + (up ? 0.1 : -0.1) * d;
      });
      expectClose(await x.read(), expected, FORWARD_TOL, shape, `${kind} step`);
    } finally {
      opt.dispose();
    }
  });
});

describe('transforms', () => {
  it.each<[string, TransformStep[]]>([
    ['roll', [{ kind: 'roll', max: 3 }]],
    ['pad + jitter + scale + rotate + jitter', [{ kind: 'pad', pad: 3 }, { kind: 'jitter', max: 2 }, { kind: 'scale', choices: [0.9, 1.1] }, { kind: 'rotate', choices: [-10, 7] }, { kind: 'jitter', max: 1 }]],
    ['roll then Lucid\'s', [{ kind: 'roll', max: 2 }, ...LUCID_TRANSFORMS]],
  ])('%s: backward is the adjoint of the drawn forward', async (_name, steps) => {
    const rt = await gpu();
    const shape: Shape = [2, 3, 9, 11];
    const xs = randomArray(size(shape), 21);
    const x = upload(rt, xs, shape);
    const tr = bindTransforms(x, steps, { padValue: 0 });
    try {
      const rand = uniformStream(4);
      const y = tr.apply(x, rand);
      const [ch, cw] = tr.canvas;
      expect(y.shape).toEqual([2, 3, ch, cw]);
      const dys = randomArray(2 * 3 * ch * cw, 22);
      const yv = await y.read();
      const dx = await tr.backward(upload(rt, dys, y.shape)).read();
      const lhs = yv.reduce((s, v, i) => s + v * dys[i], 0);
      const rhs = dx.reduce((s, v, i) => s + v * xs[i], 0);
      expectClose([lhs], [rhs], ADJOINT_TOL, undefined, '<T x, dy> vs <x, T* dy>');
    } finally {
      tr.dispose();
    }
  });

  it('Lucid\'s canvas is the image + 2 x 12 - 8 - 4; bad steps fail naming them', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(3 * 20 * 20, 1), [1, 3, 20, 20]);
    const tr = bindTransforms(x, LUCID_TRANSFORMS);
    expect(tr.canvas).toEqual([32, 32]);
    tr.dispose();
    expect(() => bindTransforms(x, [{ kind: 'scale', choices: [0] }])).toThrow(/transform scale: choices must be positive finite numbers, got \[0\]/);
    expect(() => bindTransforms(x, [{ kind: 'jitter', max: 30 }])).toThrow(/canvas of a 20x20 image would be -10x-10/);
  });
});

describe('Fourier parameterization', () => {
  it('equals the float64 irfft2 -> decorrelate -> sigmoid -> BGR mean / std preprocessing, and its backward matches finite differences', async () => {
    const rt = await gpu();
    const input = { name: 'data', channels: 3, height: 6, width: 5, channelOrder: 'bgr', scale: 1, mean: [104, 117, 123], std: [1, 1, 1] };
    const fake = { rt, spec: { name: 'fake', input } } as unknown as Model;
    const [h, w] = [6, 5];
    const p = fourierParam(fake, { height: h, width: w, std: 0.5, seed: 3 });
    try {
      const spec = toF64(await p.params.read());
      const render = (s: Float64Array): Float64Array => {
        const t = fftRef.irfft2(3, h, w, s, 1, 0.25);
        const rgb = fftRef.toRgb(1, h * w, t, colorDecorrelation(true), [0, 0, 0], true);
        return Float64Array.from({ length: 3 * h * w }, (_, i) => {
          const c = Math.floor(i / (h * w));
          return 255 * rgb[(2 - c) * h * w + (i % (h * w))] - input.mean[c];
        });
      };
      expectClose(await p.render().read(), render(spec), { atol: 1e-3, rtol: 1e-5 }, [1, 3, h, w], 'fourier image');
      const dy = randomArray(3 * h * w, 9);
      const dS = await p.backward(upload(rt, dy, [1, 3, h, w])).read();
      const loss = (s: Float64Array) => render(s).reduce((a, v, i) => a + v * dy[i], 0);
      const [idx, num] = numericGrad(loss, spec, 40, 1e-6);
      expectClose(pick(dS, idx), num, { atol: 1e-3, rtol: 1e-3 }, undefined, 'd spectrum vs finite differences');
    } finally {
      p.dispose();
    }
  });
});

describe('the loop', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
  });

  const fourierRun = async (seed: number, steps = 40) => {
    const param = fourierParam(model, { height: 20, width: 20, seed });
    try {
      const r = await optimize({
        model, param, objective: maximize(channelMean('conv_2_2', 3)), optimizer: 'adam', steps, seed,
        transforms: [{ kind: 'pad', pad: 2 }, { kind: 'jitter', max: 2 }, { kind: 'scale', choices: [0.95, 1, 1.05] }, { kind: 'rotate', choices: [-5, 0, 5] }, { kind: 'jitter', max: 2 }],
        settings: loopSettings({ lr: 0.05, redirectSteps: 8 }), objectiveEvery: 8,
      });
      return { r, image: await param.render().read() };
    } finally {
      param.dispose();
    }
  };

  it('raises a channel\'s mean many-fold (Fourier, Adam, Lucid-style transforms); equal seeds give bit-identical images, other seeds differ', async () => {
    const a = await fourierRun(1);
    const b = await fourierRun(1);
    const c = await fourierRun(2);
    expect(a.r.iterations).toBe(40);
    expect(a.r.history.map((e) => e.iteration)).toEqual([1, 8, 16, 24, 32, 40]);
    expect(a.r.last!).toBeGreaterThan(4 * Math.max(a.r.first!, 1e-3));
    expect(Buffer.from(b.image.buffer).equals(Buffer.from(a.image.buffer))).toBe(true);
    expect(b.r.history).toEqual(a.r.history);
    expect(Buffer.from(c.image.buffer).equals(Buffer.from(a.image.buffer))).toBe(false);
  });

  it('a setting changed in onStep takes effect at the next step; an AbortSignal stops the loop', async () => {
    const param = pixelParam(model, { height: 16, width: 16, init: 'noise', std: 0.1, seed: 2 });
    const settings = loopSettings({ lr: 0.5, clipRange: false });
    const frames = new Map<number, Float32Array>();
    const stop = new AbortController();
    try {
      const r = await optimize({
        model, param, objective: maximize(neuron('conv_2_1', 1, 2, 2)), optimizer: 'normalized', steps: 50, settings, signal: stop.signal, imageEvery: 1,
        transforms: [{ kind: 'roll', max: 2 }],
        onStep: (s) => {
          frames.set(s.iteration, s.image!);
          if (s.iteration === 3) settings.lr = 0;
          if (s.iteration === 6) stop.abort();
        },
      });
      expect(r.aborted).toBe(true);
      expect(r.iterations).toBe(6);
      expect(frames.get(2)).not.toEqual(frames.get(3));
      expect(frames.get(6)).toEqual(frames.get(3));
      expect(await param.params.read()).toEqual(frames.get(3));
    } finally {
      param.dispose();
    }
  });

  /** The pool's allocation counters (bytesInUse moves within a step; what was created must not). */
  const allocated = (m: Model) => {
    const c = m.rt.pool.counters;
    return { bytesAllocated: c.bytesAllocated, buffersAllocated: c.buffersAllocated };
  };
  const flatRun = async (steps: number, objective: LoopOptions['objective'], settings: LoopOptions['settings'], size: number) => {
    const param = pixelParam(model, { height: size, width: size, init: 'noise', std: 0.1, seed: 4 });
    const seen: Record<number, ReturnType<typeof allocated>> = {};
    try {
      const r = await optimize({
        model, param, objective, optimizer: 'ascent', steps, seed: 1, objectiveEvery: steps / 20, transforms: [{ kind: 'roll', max: 3 }], settings,
        onStep: (s) => {
          if (s.iteration === 40 || s.iteration === steps) seen[s.iteration] = allocated(model);
        },
      });
      expect(r.iterations).toBe(steps);
      expect(r.history.length).toBe(21);
      expect(r.history.every((e) => Number.isFinite(e.value))).toBe(true);
      return seen;
    } finally {
      param.dispose();
    }
  };

  it('10,000 iterations leave the pool\'s allocation counters flat (pixels, roll, range clip, ascent; TinyVGG 8 x 8 until conv_1_1)', async () => {
    const seen = await flatRun(10_000, maximize(neuron('conv_1_1', 3, 2, 2)), loopSettings({ lr: 0.01 }), 8);
    expect(seen[10_000]).toEqual(seen[40]);
  }, 300_000);

  it('and so does every regularizer: decay, blur every 4, norm and contribution clipping, L2, TV, pre-ReLU redirect, terms at two layers (400 steps)', async () => {
    const settings = loopSettings({ lr: 0.01, l2: 1e-3, decay: 1e-4, blurSigma: 0.5, blurEvery: 4, normPercentile: 10, contribPercentile: 10, tvWeight: 1e-3, redirectSteps: 16 });
    const seen = await flatRun(400, maximize(neuron('conv_2_2', 3, 1, 1), channelMean('conv_1_2', 2, { weight: 0.1 })), settings, 16);
    expect(seen[400]).toEqual(seen[40]);
  }, 120_000);
});
