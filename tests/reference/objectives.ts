// Float64 references of the optvis objective terms (engine/techniques/optvis/objectives.ts): the
// value per sample of each term on a dense (N, C, H, W) activation, weight included. Gradients are
// checked against central finite differences of these values.

import { gram, gramLoss } from './gram';

export type Shape = readonly [number, number, number, number];

/** T = sum A * mask, per sample. */
function linear(shape: Shape, a: ArrayLike<number>, mask: (c: number, y: number, x: number, s: number) => number): Float64Array {
  const [n, ch, h, w] = shape;
  return Float64Array.from({ length: n }, (_, s) => {
    let acc = 0;
    for (let c = 0; c < ch; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) acc += a[((s * ch + c) * h + y) * w + x] * mask(c, y, x, s);
    return acc;
  });
}

export function neuron(shape: Shape, a: ArrayLike<number>, c0: number, y0: number, x0: number, weight: number): Float64Array {
  return linear(shape, a, (c, y, x) => (c === c0 && y === y0 && x === x0 ? weight : 0));
}

export function channelMean(shape: Shape, a: ArrayLike<number>, c0: number, weight: number): Float64Array {
  return linear(shape, a, (c) => (c === c0 ? weight / (shape[2] * shape[3]) : 0));
}

export function dot(shape: Shape, a: ArrayLike<number>, f: ArrayLike<number>, weight: number): Float64Array {
  const [, ch, h, w] = shape;
  return linear(shape, a, (c, y, x, s) => weight * f[((s * ch + c) * h + y) * w + x]);
}

export function layerL2(shape: Shape, a: ArrayLike<number>, weight: number): Float64Array {
  return linear(shape, a, () => 0).map((_, s) => {
    const per = shape[1] * shape[2] * shape[3];
    let acc = 0;
    for (let i = 0; i < per; i++) acc += a[s * per + i] ** 2;
    return (weight * acc) / 2;
  });
}

export function featureMatch(shape: Shape, a: ArrayLike<number>, f: ArrayLike<number>, weight: number): Float64Array {
  const per = shape[1] * shape[2] * shape[3];
  return Float64Array.from({ length: shape[0] }, (_, s) => {
    let d = 0;
    let t = 0;
    for (let i = s * per; i < (s + 1) * per; i++) {
      d += (a[i] - f[i]) ** 2;
      t += f[i] ** 2;
    }
    return (weight * d) / t;
  });
}

export function gramMatch(shape: Shape, a: ArrayLike<number>, target: ArrayLike<number>, weight: number): Float64Array {
  const [n, c, h, w] = shape;
  return gramLoss(n, gram(n, c, h * w, a), target, weight);
}
