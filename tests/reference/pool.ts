// Float64 references for pooling, written the way Caffe's pooling_layer.cpp and PyTorch's
// AdaptiveAvgPool2d loop: forwards over output windows, backwards as scatters from each output
// (the GPU backwards gather over inputs, so the two are independent). Dense NCHW arrays.

export type Shape = readonly [number, number, number, number];

export interface PoolRefParams {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  pad: readonly [number, number, number, number]; // top, bottom, left, right
  ceil: boolean;
  countIncludePad?: boolean;
}

function axisOut(len: number, k: number, s: number, p0: number, p1: number, ceil: boolean): number {
  const span = len + p0 + p1 - k;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= len + p0) o--;
  return o;
}

export function poolOutShape(x: Shape, p: PoolRefParams): Shape {
  const [n, c, h, w] = x;
  return [n, c, axisOut(h, p.kernel[0], p.stride[0], p.pad[0], p.pad[1], p.ceil), axisOut(w, p.kernel[1], p.stride[1], p.pad[2], p.pad[3], p.ceil)];
}

/** Calls f(plane, oPlane, oh, ow, hs, he, ws, we, divisor) for each output window (clipped). */
function eachWindow(x: Shape, p: PoolRefParams, f: (plane: number, oPlane: number, o: number, hs: number, he: number, ws: number, we: number, div: number) => void): Shape {
  const [n, c, h, w] = x;
  const y = poolOutShape(x, p);
  const [, , oh, ow] = y;
  for (let pl = 0; pl < n * c; pl++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let hs = i * p.stride[0] - p.pad[0];
        let ws = j * p.stride[1] - p.pad[2];
        let he = Math.min(hs + p.kernel[0], h + p.pad[1]);
        let we = Math.min(ws + p.kernel[1], w + p.pad[3]);
        const padded = (he - hs) * (we - ws);
        hs = Math.max(hs, 0);
        ws = Math.max(ws, 0);
        he = Math.min(he, h);
        we = Math.min(we, w);
        const div = p.countIncludePad === false ? (he - hs) * (we - ws) : padded;
        f(pl * h * w, pl * oh * ow, i * ow + j, hs, he, ws, we, div);
      }
    }
  }
  return y;
}

export function maxPoolForward(x: ArrayLike<number>, shape: Shape, p: PoolRefParams): { y: Float64Array; argmax: Uint32Array; shape: Shape } {
  const out = poolOutShape(shape, p);
  const y = new Float64Array(out[0] * out[1] * out[2] * out[3]);
  const argmax = new Uint32Array(y.length);
  const w = shape[3];
  eachWindow(shape, p, (plane, oPlane, o, hs, he, ws, we) => {
    let best = -Infinity;
    let at = 0;
    for (let a = hs; a < he; a++) for (let b = ws; b < we; b++) {
      if (x[plane + a * w + b] > best) {
        best = x[plane + a * w + b];
        at = a * w + b;
      }
    }
    y[oPlane + o] = best;
    argmax[oPlane + o] = at;
  });
  return { y, argmax, shape: out };
}

/** Scatter: dx[argmax] += dy, plane by plane. */
export function maxPoolBackward(dy: ArrayLike<number>, argmax: ArrayLike<number>, xShape: Shape, yShape: Shape): Float64Array {
  const [n, c, h, w] = xShape;
  const per = yShape[2] * yShape[3];
  const dx = new Float64Array(n * c * h * w);
  for (let pl = 0; pl < n * c; pl++) {
    for (let o = 0; o < per; o++) dx[pl * h * w + argmax[pl * per + o]] += dy[pl * per + o];
  }
  return dx;
}

export function avgPoolForward(x: ArrayLike<number>, shape: Shape, p: PoolRefParams): Float64Array {
  const out = poolOutShape(shape, p);
  const y = new Float64Array(out[0] * out[1] * out[2] * out[3]);
  const w = shape[3];
  eachWindow(shape, p, (plane, oPlane, o, hs, he, ws, we, div) => {
    let s = 0;
    for (let a = hs; a < he; a++) for (let b = ws; b < we; b++) s += x[plane + a * w + b];
    y[oPlane + o] = s / div;
  });
  return y;
}

export function avgPoolBackward(dy: ArrayLike<number>, xShape: Shape, p: PoolRefParams): Float64Array {
  const dx = new Float64Array(xShape[0] * xShape[1] * xShape[2] * xShape[3]);
  const w = xShape[3];
  eachWindow(xShape, p, (plane, oPlane, o, hs, he, ws, we, div) => {
    for (let a = hs; a < he; a++) for (let b = ws; b < we; b++) dx[plane + a * w + b] += dy[oPlane + o] / div;
  });
  return dx;
}

/** PyTorch adaptive windows: cell o of OL over L covers [floor(o L / OL), ceil((o + 1) L / OL)). */
function adaptiveWindows(x: Shape, out: readonly [number, number], f: (plane: number, oPlane: number, o: number, hs: number, he: number, ws: number, we: number) => void): void {
  const [n, c, h, w] = x;
  const [oh, ow] = out;
  for (let pl = 0; pl < n * c; pl++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const hs = Math.floor((i * h) / oh);
        const he = Math.ceil(((i + 1) * h) / oh);
        const ws = Math.floor((j * w) / ow);
        const we = Math.ceil(((j + 1) * w) / ow);
        f(pl * h * w, pl * oh * ow, i * ow + j, hs, he, ws, we);
      }
    }
  }
}

export function adaptiveAvgPoolForward(x: ArrayLike<number>, shape: Shape, out: readonly [number, number]): Float64Array {
  const y = new Float64Array(shape[0] * shape[1] * out[0] * out[1]);
  const w = shape[3];
  adaptiveWindows(shape, out, (plane, oPlane, o, hs, he, ws, we) => {
    let s = 0;
    for (let a = hs; a < he; a++) for (let b = ws; b < we; b++) s += x[plane + a * w + b];
    y[oPlane + o] = s / ((he - hs) * (we - ws));
  });
  return y;
}

export function adaptiveAvgPoolBackward(dy: ArrayLike<number>, xShape: Shape, out: readonly [number, number]): Float64Array {
  const dx = new Float64Array(xShape[0] * xShape[1] * xShape[2] * xShape[3]);
  const w = xShape[3];
  adaptiveWindows(xShape, out, (plane, oPlane, o, hs, he, ws, we) => {
    const g = dy[oPlane + o] / ((he - hs) * (we - ws));
    for (let a = hs; a < he; a++) for (let b = ws; b < we; b++) dx[plane + a * w + b] += g;
  });
  return dx;
}
