// Float64 reference for a whole ModelSpec: forward of every layer and a backward from any layer,
// with plain naive loops written independently of the GPU engine (its own shape arithmetic,
// pooling windows, LRN windows). Tensors are dense NCHW Float64Arrays; weights are the file's
// tensors by name (conv OIHW, linear (out, in), bias (out)).

import type { LayerSpec, ModelSpec, PoolLayer } from '../../engine/models/spec';
import type { ReluRule } from './relu';

export interface RefTensor {
  shape: [number, number, number, number];
  data: Float64Array;
}
export type RefWeights = Map<string, ArrayLike<number>>;

type Shape = [number, number, number, number];
const size = (s: Shape) => s[0] * s[1] * s[2] * s[3];

function weightOf(w: RefWeights, name: string): ArrayLike<number> {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing weight '${name}'`);
  return t;
}

/** Output extent of a pooling window sweep: floor, or ceil with Caffe/PyTorch's last-window rule. */
function pooledSize(len: number, k: number, s: number, padLo: number, padHi: number, ceil: boolean): number {
  const span = len + padLo + padHi - k;
  if (!ceil) return Math.floor(span / s) + 1;
  let out = Math.ceil(span / s) + 1;
  if ((out - 1) * s >= len + padLo) out--;
  return out;
}

// ---- forward, one function per layer type --------------------------------------------------

function conv(x: RefTensor, l: Extract<LayerSpec, { type: 'conv' }>, w: RefWeights): RefTensor {
  const [n, ci, h, wd] = x.shape;
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const [pt, pb, pl, pr] = l.pad;
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - kw) / sw) + 1;
  const co = l.outChannels;
  const cig = ci / l.groups;
  const cog = co / l.groups;
  const W = weightOf(w, `${l.name}.weight`);
  const B = l.bias ? weightOf(w, `${l.name}.bias`) : null;
  const y = new Float64Array(n * co * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      const g = Math.floor(o / cog);
      const yo = (b * co + o) * oh * ow;
      if (B) for (let i = 0; i < oh * ow; i++) y[yo + i] = B[o];
      for (let c = 0; c < cig; c++) {
        const xc = (b * ci + g * cig + c) * h * wd;
        for (let a = 0; a < kh; a++) {
          for (let e = 0; e < kw; e++) {
            const wv = W[((o * cig + c) * kh + a) * kw + e];
            for (let p = 0; p < oh; p++) {
              const iy = p * sh - pt + a;
              if (iy < 0 || iy >= h) continue;
              for (let q = 0; q < ow; q++) {
                const ix = q * sw - pl + e;
                if (ix >= 0 && ix < wd) y[yo + p * ow + q] += wv * x.data[xc + iy * wd + ix];
              }
            }
          }
        }
      }
    }
  }
  return { shape: [n, co, oh, ow], data: y };
}

function convBackward(dy: RefTensor, xShape: Shape, l: Extract<LayerSpec, { type: 'conv' }>, w: RefWeights): Float64Array {
  const [n, ci, h, wd] = xShape;
  const [, co, oh, ow] = dy.shape;
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const [pt, , pl] = l.pad;
  const cig = ci / l.groups;
  const cog = co / l.groups;
  const W = weightOf(w, `${l.name}.weight`);
  const dx = new Float64Array(size(xShape));
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      const g = Math.floor(o / cog);
      const yo = (b * co + o) * oh * ow;
      for (let c = 0; c < cig; c++) {
        const xc = (b * ci + g * cig + c) * h * wd;
        for (let a = 0; a < kh; a++) {
          for (let e = 0; e < kw; e++) {
            const wv = W[((o * cig + c) * kh + a) * kw + e];
            for (let p = 0; p < oh; p++) {
              const iy = p * sh - pt + a;
              if (iy < 0 || iy >= h) continue;
              for (let q = 0; q < ow; q++) {
                const ix = q * sw - pl + e;
                if (ix >= 0 && ix < wd) dx[xc + iy * wd + ix] += wv * dy.data[yo + p * ow + q];
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

function linear(x: RefTensor, l: Extract<LayerSpec, { type: 'linear' }>, w: RefWeights): RefTensor {
  const n = x.shape[0];
  const fin = x.data.length / n;
  const W = weightOf(w, `${l.name}.weight`);
  const B = l.bias ? weightOf(w, `${l.name}.bias`) : null;
  const y = new Float64Array(n * l.outFeatures);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < l.outFeatures; o++) {
      let s = B ? B[o] : 0;
      for (let i = 0; i < fin; i++) s += W[o * fin + i] * x.data[b * fin + i];
      y[b * l.outFeatures + o] = s;
    }
  }
  return { shape: [n, l.outFeatures, 1, 1], data: y };
}

function linearBackward(dy: RefTensor, xShape: Shape, l: Extract<LayerSpec, { type: 'linear' }>, w: RefWeights): Float64Array {
  const n = xShape[0];
  const fin = size(xShape) / n;
  const W = weightOf(w, `${l.name}.weight`);
  const dx = new Float64Array(size(xShape));
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < l.outFeatures; o++) {
      const g = dy.data[b * l.outFeatures + o];
      for (let i = 0; i < fin; i++) dx[b * fin + i] += W[o * fin + i] * g;
    }
  }
  return dx;
}

/** Windows of a pooling layer: for each output cell, the clipped input range and the divisor. */
function poolWindows(x: Shape, l: PoolLayer) {
  const [, , h, w] = x;
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const [pt, pb, pl, pr] = l.pad;
  const oh = pooledSize(h, kh, sh, pt, pb, l.ceil);
  const ow = pooledSize(w, kw, sw, pl, pr, l.ceil);
  const win: { y0: number; y1: number; x0: number; x1: number; count: number }[] = [];
  for (let p = 0; p < oh; p++) {
    for (let q = 0; q < ow; q++) {
      const ys = p * sh - pt;
      const xs = q * sw - pl;
      const ye = Math.min(ys + kh, h + pb);
      const xe = Math.min(xs + kw, w + pr);
      const y0 = Math.max(ys, 0), y1 = Math.min(ye, h), x0 = Math.max(xs, 0), x1 = Math.min(xe, w);
      const count = l.countIncludePad === false ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs);
      win.push({ y0, y1, x0, x1, count });
    }
  }
  return { oh, ow, win };
}

/** Max pooling; `arg` receives the flat input index of each output's first maximum (row-major scan). */
function maxpool(x: RefTensor, l: PoolLayer): RefTensor & { arg: Int32Array } {
  const [n, c, h, w] = x.shape;
  const { oh, ow, win } = poolWindows(x.shape, l);
  const y = new Float64Array(n * c * oh * ow);
  const arg = new Int32Array(y.length);
  for (let bc = 0; bc < n * c; bc++) {
    win.forEach((wi, k) => {
      let best = -Infinity;
      let at = -1;
      for (let iy = wi.y0; iy < wi.y1; iy++) {
        for (let ix = wi.x0; ix < wi.x1; ix++) {
          const v = x.data[bc * h * w + iy * w + ix];
          if (v > best) { best = v; at = bc * h * w + iy * w + ix; }
        }
      }
      y[bc * oh * ow + k] = best;
      arg[bc * oh * ow + k] = at;
    });
  }
  return { shape: [n, c, oh, ow], data: y, arg };
}

function avgpool(x: RefTensor, l: PoolLayer): RefTensor {
  const [n, c, h, w] = x.shape;
  const { oh, ow, win } = poolWindows(x.shape, l);
  const y = new Float64Array(n * c * oh * ow);
  for (let bc = 0; bc < n * c; bc++) {
    win.forEach((wi, k) => {
      let s = 0;
      for (let iy = wi.y0; iy < wi.y1; iy++) for (let ix = wi.x0; ix < wi.x1; ix++) s += x.data[bc * h * w + iy * w + ix];
      y[bc * oh * ow + k] = s / wi.count;
    });
  }
  return { shape: [n, c, oh, ow], data: y };
}

function avgpoolBackward(dy: RefTensor, xShape: Shape, l: PoolLayer): Float64Array {
  const [n, c, h, w] = xShape;
  const { oh, ow, win } = poolWindows(xShape, l);
  const dx = new Float64Array(size(xShape));
  for (let bc = 0; bc < n * c; bc++) {
    win.forEach((wi, k) => {
      const g = dy.data[bc * oh * ow + k] / wi.count;
      for (let iy = wi.y0; iy < wi.y1; iy++) for (let ix = wi.x0; ix < wi.x1; ix++) dx[bc * h * w + iy * w + ix] += g;
    });
  }
  return dx;
}

/** PyTorch AdaptiveAvgPool2d cells: [floor(i*H/OH), ceil((i+1)*H/OH)). */
function adaptiveCells(len: number, out: number): [number, number][] {
  return Array.from({ length: out }, (_, i) => [Math.floor((i * len) / out), Math.ceil(((i + 1) * len) / out)]);
}

function adaptiveAvg(x: RefTensor, oh: number, ow: number): RefTensor {
  const [n, c, h, w] = x.shape;
  const ry = adaptiveCells(h, oh);
  const rx = adaptiveCells(w, ow);
  const y = new Float64Array(n * c * oh * ow);
  for (let bc = 0; bc < n * c; bc++) {
    for (let p = 0; p < oh; p++) {
      for (let q = 0; q < ow; q++) {
        let s = 0;
        for (let iy = ry[p][0]; iy < ry[p][1]; iy++) for (let ix = rx[q][0]; ix < rx[q][1]; ix++) s += x.data[bc * h * w + iy * w + ix];
        y[(bc * oh + p) * ow + q] = s / ((ry[p][1] - ry[p][0]) * (rx[q][1] - rx[q][0]));
      }
    }
  }
  return { shape: [n, c, oh, ow], data: y };
}

function adaptiveAvgBackward(dy: RefTensor, xShape: Shape): Float64Array {
  const [n, c, h, w] = xShape;
  const [, , oh, ow] = dy.shape;
  const ry = adaptiveCells(h, oh);
  const rx = adaptiveCells(w, ow);
  const dx = new Float64Array(size(xShape));
  for (let bc = 0; bc < n * c; bc++) {
    for (let p = 0; p < oh; p++) {
      for (let q = 0; q < ow; q++) {
        const g = dy.data[(bc * oh + p) * ow + q] / ((ry[p][1] - ry[p][0]) * (rx[q][1] - rx[q][0]));
        for (let iy = ry[p][0]; iy < ry[p][1]; iy++) for (let ix = rx[q][0]; ix < rx[q][1]; ix++) dx[bc * h * w + iy * w + ix] += g;
      }
    }
  }
  return dx;
}

/** Caffe ACROSS_CHANNELS window of channel c: [c - floor((size-1)/2), that + size). */
function lrnWindow(c: number, size: number, channels: number): [number, number] {
  const lo = c - Math.floor((size - 1) / 2);
  return [Math.max(lo, 0), Math.min(lo + size, channels)];
}

function lrnScale(x: RefTensor, l: Extract<LayerSpec, { type: 'lrn' }>): Float64Array {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const s = new Float64Array(x.data.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const [lo, hi] = lrnWindow(ch, l.size, c);
      for (let i = 0; i < hw; i++) {
        let sum = 0;
        for (let j = lo; j < hi; j++) sum += x.data[(b * c + j) * hw + i] ** 2;
        s[(b * c + ch) * hw + i] = l.k + (l.alpha / l.size) * sum;
      }
    }
  }
  return s;
}

function lrn(x: RefTensor, l: Extract<LayerSpec, { type: 'lrn' }>): RefTensor {
  const s = lrnScale(x, l);
  return { shape: x.shape, data: x.data.map((v, i) => v * s[i] ** -l.beta) };
}

function lrnBackward(x: RefTensor, dy: RefTensor, l: Extract<LayerSpec, { type: 'lrn' }>): Float64Array {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const s = lrnScale(x, l);
  const dx = new Float64Array(x.data.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const [lo, hi] = lrnWindow(ch, l.size, c);
      for (let i = 0; i < hw; i++) {
        const at = (b * c + ch) * hw + i;
        dx[at] += dy.data[at] * s[at] ** -l.beta;
        // y_ch depends on x_j for every j in its window through s_ch.
        const common = -2 * l.beta * (l.alpha / l.size) * dy.data[at] * x.data[at] * s[at] ** (-l.beta - 1);
        for (let j = lo; j < hi; j++) dx[(b * c + j) * hw + i] += common * x.data[(b * c + j) * hw + i];
      }
    }
  }
  return dx;
}

/** Softmax over channels at each (n, h, w). */
function softmax(x: RefTensor): RefTensor {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const y = new Float64Array(x.data.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < hw; i++) {
      let m = -Infinity;
      for (let ch = 0; ch < c; ch++) m = Math.max(m, x.data[(b * c + ch) * hw + i]);
      let z = 0;
      for (let ch = 0; ch < c; ch++) z += Math.exp(x.data[(b * c + ch) * hw + i] - m);
      for (let ch = 0; ch < c; ch++) y[(b * c + ch) * hw + i] = Math.exp(x.data[(b * c + ch) * hw + i] - m) / z;
    }
  }
  return { shape: x.shape, data: y };
}

function softmaxBackward(y: RefTensor, dy: RefTensor): Float64Array {
  const [n, c, h, w] = y.shape;
  const hw = h * w;
  const dx = new Float64Array(y.data.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < hw; i++) {
      let dot = 0;
      for (let ch = 0; ch < c; ch++) dot += y.data[(b * c + ch) * hw + i] * dy.data[(b * c + ch) * hw + i];
      for (let ch = 0; ch < c; ch++) {
        const at = (b * c + ch) * hw + i;
        dx[at] = y.data[at] * (dy.data[at] - dot);
      }
    }
  }
  return dx;
}

function concat(xs: RefTensor[]): RefTensor {
  const [n, , h, w] = xs[0].shape;
  const c = xs.reduce((a, t) => a + t.shape[1], 0);
  const y = new Float64Array(n * c * h * w);
  for (let b = 0; b < n; b++) {
    let at = b * c * h * w;
    for (const t of xs) {
      const per = t.shape[1] * h * w;
      y.set(t.data.subarray(b * per, (b + 1) * per), at);
      at += per;
    }
  }
  return { shape: [n, c, h, w], data: y };
}

// ---- whole network ------------------------------------------------------------------------------

export interface RefForward {
  /** Every layer's output (and the input) by name. Conv outputs are pre-ReLU here. */
  acts: Map<string, RefTensor>;
  /** Max-pool argmax (flat input index per output) by layer name. */
  argmax: Map<string, Int32Array>;
}

export function networkForward(spec: ModelSpec, weights: RefWeights, input: ArrayLike<number>, n: number): RefForward {
  const { channels, height, width } = spec.input;
  const acts = new Map<string, RefTensor>();
  const argmax = new Map<string, Int32Array>();
  acts.set(spec.input.name, { shape: [n, channels, height, width], data: Float64Array.from(input) });
  for (const l of spec.layers) {
    const xs = l.inputs.map((i) => acts.get(i)!);
    const x = xs[0];
    let y: RefTensor;
    switch (l.type) {
      case 'conv': y = conv(x, l, weights); break;
      case 'linear': y = linear(x, l, weights); break;
      case 'relu': y = { shape: x.shape, data: x.data.map((v) => Math.max(v, 0)) }; break;
      case 'maxpool': {
        const r = maxpool(x, l);
        argmax.set(l.name, r.arg);
        y = { shape: r.shape, data: r.data };
        break;
      }
      case 'avgpool': y = avgpool(x, l); break;
      case 'globalavgpool': y = adaptiveAvg(x, 1, 1); break;
      case 'adaptiveavgpool': y = adaptiveAvg(x, l.output[0], l.output[1]); break;
      case 'lrn': y = lrn(x, l); break;
      case 'concat': y = concat(xs); break;
      case 'dropout': y = x; break;
      case 'flatten': y = { shape: [x.shape[0], x.data.length / x.shape[0], 1, 1], data: x.data }; break;
      case 'softmax': y = softmax(x); break;
    }
    acts.set(l.name, y);
  }
  return { acts, argmax };
}

/**
 * Gradient at the input of `seedGrad` placed at layer `seedLayer`'s output, with the given ReLU
 * rule. Every layer's gradient contributions are summed where a tensor feeds several layers.
 */
export function networkBackward(...args: Parameters<typeof networkGradients>): Float64Array {
  const [spec, , fwd] = args;
  const gin = networkGradients(...args).get(spec.input.name);
  return gin ?? new Float64Array(fwd.acts.get(spec.input.name)!.data.length);
}

/**
 * The gradient of `seedGrad` at `seedLayer` with respect to the output of every layer it reaches
 * (the seed layer and the input included), by layer name. Conv outputs are pre-ReLU here, so a
 * fused conv's post-ReLU gradient is its ReLU layer's entry.
 */
export function networkGradients(
  spec: ModelSpec,
  weights: RefWeights,
  fwd: RefForward,
  seedLayer: string,
  seedGrad: Float64Array,
  rule: ReluRule,
): Map<string, Float64Array> {
  const grads = new Map<string, Float64Array>();
  const add = (name: string, g: Float64Array) => {
    const acc = grads.get(name);
    if (!acc) grads.set(name, Float64Array.from(g));
    else for (let i = 0; i < g.length; i++) acc[i] += g[i];
  };
  grads.set(seedLayer, Float64Array.from(seedGrad));
  const seedAt = spec.layers.findIndex((l) => l.name === seedLayer);
  if (seedAt < 0 && seedLayer !== spec.input.name) throw new Error(`reference: no layer '${seedLayer}'`);
  for (let k = seedAt; k >= 0; k--) {
    const l = spec.layers[k];
    const g = grads.get(l.name);
    if (!g) continue;
    const dy: RefTensor = { shape: fwd.acts.get(l.name)!.shape, data: g };
    const x = fwd.acts.get(l.inputs[0])!;
    switch (l.type) {
      case 'conv': add(l.inputs[0], convBackward(dy, x.shape, l, weights)); break;
      case 'linear': add(l.inputs[0], linearBackward(dy, x.shape, l, weights)); break;
      case 'relu':
        add(l.inputs[0], g.map((v, i) => {
          const keepX = x.data[i] > 0;
          if (rule === 'vanilla') return keepX ? v : 0;
          if (rule === 'guided') return keepX && v > 0 ? v : 0;
          return v > 0 ? v : 0;
        }));
        break;
      case 'maxpool': {
        const dx = new Float64Array(x.data.length);
        fwd.argmax.get(l.name)!.forEach((at, i) => (dx[at] += g[i]));
        add(l.inputs[0], dx);
        break;
      }
      case 'avgpool': add(l.inputs[0], avgpoolBackward(dy, x.shape, l)); break;
      case 'globalavgpool':
      case 'adaptiveavgpool': add(l.inputs[0], adaptiveAvgBackward(dy, x.shape)); break;
      case 'lrn': add(l.inputs[0], lrnBackward(x, dy, l)); break;
      case 'concat': {
        const [n, , h, w] = dy.shape;
        const c = dy.shape[1];
        let c0 = 0;
        for (const name of l.inputs) {
          const ci = fwd.acts.get(name)!.shape[1];
          const part = new Float64Array(n * ci * h * w);
          for (let b = 0; b < n; b++) part.set(g.subarray((b * c + c0) * h * w, (b * c + c0 + ci) * h * w), b * ci * h * w);
          add(name, part);
          c0 += ci;
        }
        break;
      }
      case 'dropout':
      case 'flatten': add(l.inputs[0], g); break;
      case 'softmax': add(l.inputs[0], softmaxBackward(fwd.acts.get(l.name)!, dy)); break;
    }
  }
  return grads;
}
