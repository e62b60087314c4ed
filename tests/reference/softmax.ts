// Float64 references for softmax and log-softmax over channels, for each (n, h, w). Dense NCHW.

export type Shape = readonly [number, number, number, number];

function eachPixel(shape: Shape, f: (at: (c: number) => number) => void): void {
  const [n, c, h, w] = shape;
  const hw = h * w;
  for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) f((ch) => (b * c + ch) * hw + i);
}

export function softmaxForward(x: ArrayLike<number>, shape: Shape, log = false): Float64Array {
  const y = new Float64Array(x.length);
  const c = shape[1];
  eachPixel(shape, (at) => {
    let m = -Infinity;
    for (let ch = 0; ch < c; ch++) m = Math.max(m, x[at(ch)]);
    let sum = 0;
    for (let ch = 0; ch < c; ch++) sum += Math.exp(x[at(ch)] - m);
    for (let ch = 0; ch < c; ch++) y[at(ch)] = log ? x[at(ch)] - m - Math.log(sum) : Math.exp(x[at(ch)] - m) / sum;
  });
  return y;
}

/** From the forward output y: softmax dx = y (dy - <dy, y>), log-softmax dx = dy - exp(y) sum dy. */
export function softmaxBackward(y: ArrayLike<number>, dy: ArrayLike<number>, shape: Shape, log = false): Float64Array {
  const dx = new Float64Array(y.length);
  const c = shape[1];
  eachPixel(shape, (at) => {
    let dot = 0;
    for (let ch = 0; ch < c; ch++) dot += log ? dy[at(ch)] : dy[at(ch)] * y[at(ch)];
    for (let ch = 0; ch < c; ch++) {
      const i = at(ch);
      dx[i] = log ? dy[i] - Math.exp(y[i]) * dot : y[i] * (dy[i] - dot);
    }
  });
  return dx;
}
