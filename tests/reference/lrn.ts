// Float64 reference for Caffe LRN (ACROSS_CHANNELS), as Caffe's CrossChannelForward_cpu /
// CrossChannelBackward_cpu compute it, but with plain loops. Dense NCHW arrays.
//   s_c = k + alpha / size * sum_{c' in [c - pre, c - pre + size) ∩ [0, C)} x_{c'}^2,  pre = floor((size - 1) / 2)
//   y_c = x_c * s_c^-beta
//   dx_c = dy_c * s_c^-beta - 2 alpha beta / size * x_c * sum_{c' : c in window(c')} dy_c' y_c' / s_c'

export type Shape = readonly [number, number, number, number];

export interface LrnRefParams {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

function scales(x: ArrayLike<number>, shape: Shape, p: LrnRefParams): Float64Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const pre = Math.floor((p.size - 1) / 2);
  const s = new Float64Array(n * c * hw);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) {
    let sum = 0;
    for (let cc = Math.max(0, ch - pre); cc < Math.min(c, ch - pre + p.size); cc++) sum += x[(b * c + cc) * hw + i] ** 2;
    s[(b * c + ch) * hw + i] = p.k + (p.alpha / p.size) * sum;
  }
  return s;
}

export function lrnForward(x: ArrayLike<number>, shape: Shape, p: LrnRefParams): Float64Array {
  const s = scales(x, shape, p);
  return Float64Array.from(s, (v, i) => x[i] * v ** -p.beta);
}

export function lrnBackward(x: ArrayLike<number>, dy: ArrayLike<number>, shape: Shape, p: LrnRefParams): Float64Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const pre = Math.floor((p.size - 1) / 2);
  const s = scales(x, shape, p);
  const y = lrnForward(x, shape, p);
  const dx = new Float64Array(s.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) {
    const at = (b * c + ch) * hw + i;
    let acc = 0;
    // Every c2 whose window [c2 - pre, c2 - pre + size) contains ch (only c2 within size of ch can).
    for (let c2 = Math.max(0, ch - p.size); c2 < Math.min(c, ch + p.size + 1); c2++) {
      if (ch >= c2 - pre && ch < c2 - pre + p.size) {
        const j = (b * c + c2) * hw + i;
        acc += (dy[j] * y[j]) / s[j];
      }
    }
    dx[at] = dy[at] * s[at] ** -p.beta - ((2 * p.alpha * p.beta) / p.size) * x[at] * acc;
  }
  return dx;
}
