// Float64 reference for the fully connected layer and its backward. x is dense (N, In), w dense
// (Out, In) row-major, b (Out) or null; every result is dense.

export function linearForward(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, n: number, inF: number, outF: number, relu = false): Float64Array {
  const y = new Float64Array(n * outF);
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < outF; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) acc += x[s * inF + i] * w[o * inF + i];
      y[s * outF + o] = relu ? Math.max(acc, 0) : acc;
    }
  }
  return y;
}

/** dx[n, i] = sum_o dy[n, o] w[o, i]. */
export function linearBackwardInput(dy: ArrayLike<number>, w: ArrayLike<number>, n: number, inF: number, outF: number): Float64Array {
  const dx = new Float64Array(n * inF);
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < outF; o++) {
      const g = dy[s * outF + o];
      for (let i = 0; i < inF; i++) dx[s * inF + i] += g * w[o * inF + i];
    }
  }
  return dx;
}

/** dw[o, i] = sum_n dy[n, o] x[n, i];  db[o] = sum_n dy[n, o]. */
export function linearBackwardWeights(x: ArrayLike<number>, dy: ArrayLike<number>, n: number, inF: number, outF: number): { dw: Float64Array; db: Float64Array } {
  const dw = new Float64Array(outF * inF);
  const db = new Float64Array(outF);
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < outF; o++) {
      const g = dy[s * outF + o];
      db[o] += g;
      for (let i = 0; i < inF; i++) dw[o * inF + i] += g * x[s * inF + i];
    }
  }
  return { dw, db };
}
