// Float64 references of the Fourier image parameterization: a naive 2-D inverse real DFT (one
// double sum per output pixel, not separated by axis), its adjoint, colour decorrelation and the
// sigmoid. Spectra are dense (N, C, H, 2K), K = floor(W / 2) + 1, (re, im) interleaved.

export function spectralScale(h: number, w: number, ky: number, kx: number, decayPower: number | null): number {
  if (decayPower === null) return 1;
  const fy = (ky <= (h - 1) / 2 ? ky : ky - h) / h;
  const fx = kx / w;
  return Math.sqrt(h * w) / Math.max(Math.hypot(fx, fy), 1 / Math.max(h, w)) ** decayPower;
}

const weight = (kx: number, w: number) => (kx === 0 || 2 * kx === w ? 1 : 2);

/** x[y, x] = outScale / HW sum_{ky, kx} w_kx Re(S X[ky, kx] e^{2 pi i (ky y / H + kx x / W)}), per plane. */
export function irfft2(planes: number, h: number, w: number, spec: ArrayLike<number>, decayPower: number | null, outScale: number): Float64Array {
  const k = Math.floor(w / 2) + 1;
  const x = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
    let acc = 0;
    for (let ky = 0; ky < h; ky++) for (let kx = 0; kx < k; kx++) {
      const at = ((p * h + ky) * k + kx) * 2;
      const s = spectralScale(h, w, ky, kx, decayPower);
      const t = 2 * Math.PI * (ky * y / h + kx * xx / w);
      acc += weight(kx, w) * s * (spec[at] * Math.cos(t) - spec[at + 1] * Math.sin(t));
    }
    x[(p * h + y) * w + xx] = (outScale * acc) / (h * w);
  }
  return x;
}

/** The adjoint of irfft2: dL/dspectrum from dL/dx. */
export function irfft2Backward(planes: number, h: number, w: number, dx: ArrayLike<number>, decayPower: number | null, outScale: number): Float64Array {
  const k = Math.floor(w / 2) + 1;
  const ds = new Float64Array(planes * h * k * 2);
  for (let p = 0; p < planes; p++) for (let ky = 0; ky < h; ky++) for (let kx = 0; kx < k; kx++) {
    let re = 0;
    let im = 0;
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
      const t = 2 * Math.PI * (ky * y / h + kx * xx / w);
      const d = dx[(p * h + y) * w + xx];
      re += d * Math.cos(t);
      im -= d * Math.sin(t);
    }
    const c = (weight(kx, w) * spectralScale(h, w, ky, kx, decayPower) * outScale) / (h * w);
    const at = ((p * h + ky) * k + kx) * 2;
    ds[at] = c * re;
    ds[at + 1] = c * im;
  }
  return ds;
}

/** Per pixel of (N, 3, H, W): y = sigmoid(R t) or R t + offset. */
export function toRgb(n: number, hw: number, t: ArrayLike<number>, r: readonly (readonly number[])[], offset: readonly number[], sigmoid: boolean): Float64Array {
  const y = new Float64Array(n * 3 * hw);
  for (let s = 0; s < n; s++) for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) {
    let u = offset[c];
    for (let j = 0; j < 3; j++) u += r[c][j] * t[(s * 3 + j) * hw + p];
    y[(s * 3 + c) * hw + p] = sigmoid ? 1 / (1 + Math.exp(-u)) : u;
  }
  return y;
}

/** dL/dt = R^T (dy * y (1 - y)) (or R^T dy without the sigmoid). */
export function toRgbBackward(n: number, hw: number, y: ArrayLike<number>, dy: ArrayLike<number>, r: readonly (readonly number[])[], sigmoid: boolean): Float64Array {
  const dt = new Float64Array(n * 3 * hw);
  for (let s = 0; s < n; s++) for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) {
    const i = (s * 3 + c) * hw + p;
    const du = sigmoid ? dy[i] * y[i] * (1 - y[i]) : dy[i];
    for (let j = 0; j < 3; j++) dt[(s * 3 + j) * hw + p] += r[c][j] * du;
  }
  return dt;
}
