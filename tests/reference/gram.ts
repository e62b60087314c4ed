// Float64 references for Gram matrices (dense NCHW features, dense (N, 1, C, C) Grams).

/** G[n, i, j] = sum_p F[n, i, p] F[n, j, p] / hw. */
export function gram(n: number, c: number, hw: number, f: ArrayLike<number>): Float64Array {
  const g = new Float64Array(n * c * c);
  for (let s = 0; s < n; s++) for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) {
    let acc = 0;
    for (let p = 0; p < hw; p++) acc += f[(s * c + i) * hw + p] * f[(s * c + j) * hw + p];
    g[(s * c + i) * c + j] = acc / hw;
  }
  return g;
}

/** dF[n, i, p] = sum_j (dG[i, j] + dG[j, i]) F[j, p] / hw. */
export function gramBackward(n: number, c: number, hw: number, f: ArrayLike<number>, dg: ArrayLike<number>): Float64Array {
  const df = new Float64Array(n * c * hw);
  for (let s = 0; s < n; s++) for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) {
    const k = (dg[(s * c + i) * c + j] + dg[(s * c + j) * c + i]) / hw;
    for (let p = 0; p < hw; p++) df[(s * c + i) * hw + p] += k * f[(s * c + j) * hw + p];
  }
  return df;
}

/** weight * sum (G - T)^2 per sample. */
export function gramLoss(n: number, g: ArrayLike<number>, t: ArrayLike<number>, weight: number): Float64Array {
  const per = g.length / n;
  return Float64Array.from({ length: n }, (_, s) => {
    let acc = 0;
    for (let i = 0; i < per; i++) acc += (g[s * per + i] - t[s * per + i]) ** 2;
    return weight * acc;
  });
}
