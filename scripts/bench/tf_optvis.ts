// The optimization loop of optvis_cases.ts written with TF.js (tf.valueAndGrad + its ops, NHWC):
// per step render the parameters (pixels, or Lucid's Fourier image: 1/f spectrum, irfft2 as real
// DFT matmuls, colour decorrelation, sigmoid, the model's preprocessing), run the network to the
// deepest layer the objective reads, take the gradient of +-objective - penalties (L2, TV), and
// update with ascent / normalized ascent / Adam (tf.variable.assign), clipping pixels to the valid
// range. The objective is read at step 1, every 10th step and the last, like ours.

import type * as TF from '@tensorflow/tfjs-core';
import { colorDecorrelation, LUCID_FFT } from '../../engine/ops/fft';
import type { Model } from '../../engine/index';
import { inputRange } from '../../engine/techniques/optvis/param';
import { nchwToNhwc } from './data';
import { referenceImage, startNoise, type OptvisCase } from './optvis_cases';
import type { TfModel } from './tf_techniques';
import type { Tf } from './tfjs';

type T4 = TF.Tensor4D;

/** Lucid's Fourier image in TF.js: spectrum (3N, H, K, 2) -> network input (N, H, W, 3). */
function fourierRender(m: TfModel, h: number, w: number): { render(s: TF.Tensor): T4; init(seed: number): TF.Tensor; dispose(): void } {
  const { tf, spec } = m;
  const k = Math.floor(w / 2) + 1;
  const scale = new Float32Array(h * k);
  for (let y = 0; y < h; y++) for (let x = 0; x < k; x++) {
    const fy = (y <= (h - 1) / 2 ? y : y - h) / h;
    const f = Math.max(Math.hypot(x / w, fy), 1 / Math.max(h, w));
    scale[y * k + x] = Math.sqrt(h * w) / f ** (LUCID_FFT.decayPower ?? 0);
  }
  const dft = (rows: number, cols: number, fn: (r: number, c: number) => number) => tf.tensor2d(Float32Array.from({ length: rows * cols }, (_, i) => fn(Math.floor(i / cols), i % cols)), [rows, cols]);
  const ch = dft(h, h, (a, b) => Math.cos((2 * Math.PI * a * b) / h) / h);
  const sh = dft(h, h, (a, b) => Math.sin((2 * Math.PI * a * b) / h) / h);
  // numpy irfft along W: bins 1 .. ceil(W/2)-1 count twice.
  const weight = (v: number) => (v === 0 || 2 * v === w ? 1 : 2) / w;
  const cw = dft(k, w, (v, x) => weight(v) * Math.cos((2 * Math.PI * v * x) / w));
  const sw = dft(k, w, (v, x) => weight(v) * Math.sin((2 * Math.PI * v * x) / w));
  const s = tf.tensor3d(scale, [h, k, 1]);
  const r = tf.tensor2d(colorDecorrelation(true).flat(), [3, 3]);
  const { channelOrder, mean, std } = spec.input;
  const a = tf.tensor4d(std.map((v) => (255 * spec.input.scale) / v), [1, 1, 1, 3]);
  const b = tf.tensor4d(mean.map((v, c) => -v / std[c]), [1, 1, 1, 3]);
  const consts = [ch, sh, cw, sw, s, r, a, b];
  return {
    render(spectrum) {
      const n3 = spectrum.shape[0];
      const [re, im] = tf.unstack(tf.mul(spectrum, s), 3);
      const rows = (t: TF.Tensor) => tf.reshape(tf.transpose(t, [1, 0, 2]), [h, n3 * k]);
      const back = (t: TF.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [h, n3, k]), [1, 0, 2]), [n3 * h, k]);
      const [A, B] = [rows(re), rows(im)];
      const tre = back(tf.sub(tf.matMul(ch, A), tf.matMul(sh, B)));
      const tim = back(tf.add(tf.matMul(sh, A), tf.matMul(ch, B)));
      const img = tf.mul(tf.sub(tf.matMul(tre, cw), tf.matMul(tim, sw)), LUCID_FFT.outScale ?? 1);
      const nhwc = tf.reshape(tf.transpose(tf.reshape(img, [n3 / 3, 3, h, w]), [0, 2, 3, 1]), [-1, 3]);
      const rgb = tf.reshape(tf.sigmoid(tf.matMul(nhwc, r, false, true)), [n3 / 3, h, w, 3]);
      return tf.add(tf.mul(channelOrder === 'bgr' ? tf.reverse(rgb, -1) : rgb, a), b) as T4;
    },
    init: (seed) => tf.randomNormal([3, h, k, 2], 0, 0.01, 'float32', seed),
    dispose: () => consts.forEach((t) => t.dispose()),
  };
}

const gramOf = (tf: Tf, a: TF.Tensor): TF.Tensor => {
  const [n, h, w, c] = a.shape;
  const f = tf.reshape(a, [n, h * w, c]) as TF.Tensor3D;
  return tf.div(tf.matMul(f, f, true, false), h * w);
};

/** The TF.js side of one case: targets computed once, one loop of `steps` per run(). */
export function tfOptvis(m: TfModel, c: OptvisCase, h: number, w: number): { run(steps: number): Promise<{ last: number | null }>; dispose(): void } {
  const { tf, spec } = m;
  const o = c.objective;
  const layers = o.kind === 'class' ? [spec.logits] : o.kind === 'gram' ? o.layers : [o.layer];
  const order = new Map(spec.layers.map((l, i) => [l.name, i]));
  const until = layers.reduce((p, q) => (order.get(q)! > order.get(p)! ? q : p));
  const image = tf.tensor4d(nchwToNhwc(referenceImage({ spec } as Model, h, w), [1, 3, h, w]), [1, h, w, 3]);
  const acts = (x: T4): Map<string, TF.Tensor> => {
    const got = new Map<string, TF.Tensor>();
    m.net.run(x, until, (name, y) => (layers.includes(name) && got.set(name, y), y));
    return got;
  };
  const targets = tf.tidy(() => [...acts(image)].map(([name, a]) => [name, o.kind === 'gram' ? gramOf(tf, a) : a] as const));
  const target = new Map(targets);
  const { lo, hi } = inputRange({ spec } as Model);
  const loT = tf.tensor4d(lo, [1, 1, 1, 3]);
  const hiT = tf.tensor4d(hi, [1, 1, 1, 3]);
  const fourier = c.param === 'fourier' ? fourierRender(m, h, w) : null;

  const objective = (x: T4): TF.Scalar => {
    const a = acts(x);
    switch (o.kind) {
      case 'class': return tf.sum(tf.slice(tf.reshape(a.get(spec.logits)!, [1, -1]), [0, o.index], [1, 1]));
      case 'channel': return tf.mean(tf.slice(a.get(o.layer)!, [0, 0, 0, o.channel], [-1, -1, -1, 1]));
      case 'l2': return tf.mul(0.5, tf.sum(tf.square(a.get(o.layer)!)));
      case 'feature': {
        const t = target.get(o.layer)!;
        return tf.div(tf.sum(tf.squaredDifference(a.get(o.layer)!, t)), tf.sum(tf.square(t)));
      }
      case 'gram': return tf.addN(o.layers.map((l) => tf.sum(tf.squaredDifference(gramOf(tf, a.get(l)!), target.get(l)!)))) as TF.Scalar;
    }
  };
  const penalty = (x: T4): TF.Scalar => {
    let p: TF.Scalar = tf.scalar(0);
    if (c.l2 > 0) p = tf.add(p, tf.mul(c.l2, tf.sum(tf.square(x))));
    if (c.tv > 0) {
      const dy = tf.sub(tf.slice(x, [0, 1, 0, 0], [-1, h - 1, -1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, h - 1, -1, -1]));
      const dx = tf.sub(tf.slice(x, [0, 0, 1, 0], [-1, -1, w - 1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, -1, w - 1, -1]));
      p = tf.add(p, tf.mul(c.tv, tf.add(tf.sum(tf.square(dy)), tf.sum(tf.square(dx)))));
    }
    return p;
  };
  const sign = c.maximize ? 1 : -1;
  // Climb sign * objective - penalty.
  let objectiveValue: TF.Scalar | null = null;
  const grad = tf.grad((p: TF.Tensor) => {
    const x = fourier ? fourier.render(p) : (p as T4);
    const v = objective(x);
    objectiveValue = tf.keep(v);
    return tf.sub(tf.mul(sign, v), penalty(x)) as TF.Scalar;
  });

  return {
    async run(steps) {
      const p = tf.variable(fourier ? fourier.init(1) : c.init === 'image' ? image.clone() : c.init === 'zeros' ? tf.zeros([1, h, w, 3]) : tf.tensor4d(nchwToNhwc(startNoise(h, w), [1, 3, h, w]), [1, h, w, 3]));
      const mom = tf.variable(tf.zerosLike(p));
      const vel = tf.variable(tf.zerosLike(p));
      let last: number | null = null;
      try {
        for (let it = 0; it < steps; it++) {
          tf.tidy(() => {
            const g = grad(p);
            let next: TF.Tensor;
            if (c.optimizer === 'ascent') next = tf.add(p, tf.mul(c.lr, g));
            else if (c.optimizer === 'normalized') next = tf.add(p, tf.div(tf.mul(c.lr, g), tf.add(tf.mean(tf.abs(g)), 1e-8)));
            else {
              const [b1, b2] = [0.9, 0.999];
              mom.assign(tf.add(tf.mul(b1, mom), tf.mul(1 - b1, g)));
              vel.assign(tf.add(tf.mul(b2, vel), tf.mul(1 - b2, tf.square(g))));
              const mh = tf.div(mom, 1 - b1 ** (it + 1));
              const vh = tf.div(vel, 1 - b2 ** (it + 1));
              next = tf.add(p, tf.div(tf.mul(c.lr, mh), tf.add(tf.sqrt(vh), 1e-8)));
            }
            p.assign(fourier ? next : tf.minimum(tf.maximum(next, loT), hiT));
          });
          const value = objectiveValue!;
          if (it === 0 || it === steps - 1 || (it + 1) % 10 === 0) last = (await value.data())[0];
          value.dispose();
        }
        return { last };
      } finally {
        [p, mom, vel].forEach((t) => t.dispose());
      }
    },
    dispose() {
      [image, loT, hiT, ...targets.map(([, t]) => t)].forEach((t) => t.dispose());
      fourier?.dispose();
    },
  };
}
