// Seeded inputs for one benchmarked layer, in the engine's layouts (NCHW activations, OIHW conv
// weights, (Out, In) linear weights), and the conversions TF.js needs (NHWC, HWIO). Conversions
// happen once, before timing.

import { randomArray } from '../lib/random';
import type { BenchLayer, ConvShape } from './layers';

export interface LayerData {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  /** Upstream gradient, shaped like the forward output. */
  dy: Float32Array;
}

export function xShape(l: BenchLayer): [number, number, number, number] {
  if (l.conv) return [l.conv.n, l.conv.cin, l.conv.h, l.conv.w];
  return [l.linear!.n, l.linear!.inFeatures, 1, 1];
}

export function yShape(l: BenchLayer): [number, number, number, number] {
  if (l.conv) return [l.conv.n, l.conv.cout, l.conv.oh, l.conv.ow];
  return [l.linear!.n, l.linear!.outFeatures, 1, 1];
}

export function wShape(l: BenchLayer): [number, number, number, number] {
  const c = l.conv;
  if (c) return [c.cout, c.cin / c.groups, c.kh, c.kw];
  return [l.linear!.outFeatures, l.linear!.inFeatures, 1, 1];
}

const count = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export function layerData(l: BenchLayer, seed = 1): LayerData {
  const fanIn = count(wShape(l)) / wShape(l)[0];
  return {
    x: randomArray(count(xShape(l)), seed),
    w: randomArray(count(wShape(l)), seed + 1, 1 / Math.sqrt(fanIn)),
    b: randomArray(wShape(l)[0], seed + 2),
    dy: randomArray(count(yShape(l)), seed + 3),
  };
}

/** (N, C, H, W) -> (N, H, W, C). */
export function nchwToNhwc(a: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) {
    out[(i * h * w + p) * c + ch] = a[(i * c + ch) * h * w + p];
  }
  return out;
}

/** (N, H, W, C) -> (N, C, H, W). */
export function nhwcToNchw(a: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) {
    out[(i * c + ch) * h * w + p] = a[(i * h * w + p) * c + ch];
  }
  return out;
}

/** OIHW (Cout, Cin/g, KH, KW) -> HWIO (KH, KW, Cin/g, Cout). */
export function oihwToHwio(a: Float32Array, c: ConvShape): Float32Array {
  const ci = c.cin / c.groups;
  const out = new Float32Array(a.length);
  for (let o = 0; o < c.cout; o++) for (let i = 0; i < ci; i++) for (let y = 0; y < c.kh; y++) for (let x = 0; x < c.kw; x++) {
    out[((y * c.kw + x) * ci + i) * c.cout + o] = a[((o * ci + i) * c.kh + y) * c.kw + x];
  }
  return out;
}
