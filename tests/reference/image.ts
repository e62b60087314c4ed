// Float64 references for the image kernels: preprocess (crop, bilinear resize with half-pixel
// centres, channel reorder, normalize), deprocess (denormalize, round half up, clamp, RGBA) and
// the separable Gaussian blur with clamp-to-edge borders.

export interface Norm {
  channelOrder: 'rgb' | 'bgr';
  scale: number;
  mean: readonly number[];
  std: readonly number[];
}

/** One axis of torch's bilinear (align_corners = false): [lower index, upper index, upper weight]. */
function axis(o: number, crop: number, out: number): [number, number, number] {
  const s = Math.max((o + 0.5) * (crop / out) - 0.5, 0);
  const i0 = Math.min(Math.floor(s), crop - 1);
  return [i0, Math.min(i0 + 1, crop - 1), s - i0];
}

/** RGBA bytes -> dense (3, outH, outW). */
export function preprocess(rgba: ArrayLike<number>, width: number, crop: readonly number[], outH: number, outW: number, p: Norm): Float64Array {
  const [cx, cy, cw, ch] = crop;
  const y = new Float64Array(3 * outH * outW);
  const px = (xx: number, yy: number, c: number) => rgba[((cy + yy) * width + cx + xx) * 4 + c];
  for (let oy = 0; oy < outH; oy++) {
    const [y0, y1, ly] = axis(oy, ch, outH);
    for (let ox = 0; ox < outW; ox++) {
      const [x0, x1, lx] = axis(ox, cw, outW);
      for (let c = 0; c < 3; c++) {
        const src = p.channelOrder === 'bgr' ? 2 - c : c;
        const top = px(x0, y0, src) * (1 - lx) + px(x1, y0, src) * lx;
        const bottom = px(x0, y1, src) * (1 - lx) + px(x1, y1, src) * lx;
        const v = top * (1 - ly) + bottom * ly;
        y[(c * outH + oy) * outW + ox] = (v * p.scale - p.mean[c]) / p.std[c];
      }
    }
  }
  return y;
}

/** Dense (3, H, W) -> RGBA bytes, alpha 255. */
export function deprocess(x: ArrayLike<number>, h: number, w: number, p: Norm): Uint8ClampedArray {
  const out = new Uint8ClampedArray(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(255, Math.max(0, Math.floor((x[c * h * w + i] * p.std[c] + p.mean[c]) / p.scale + 0.5)));
      out[i * 4 + (p.channelOrder === 'bgr' ? 2 - c : c)] = v;
    }
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** Separable Gaussian blur of each of the `planes` (H, W) planes; sigma <= 0 copies. */
export function gaussianBlur(x: ArrayLike<number>, planes: number, h: number, w: number, sigma: number): Float64Array {
  if (sigma <= 0) return Float64Array.from(x);
  const r = Math.ceil(3 * sigma);
  const g = Array.from({ length: 2 * r + 1 }, (_, k) => Math.exp(-((k - r) ** 2) / (2 * sigma * sigma)));
  const sum = g.reduce((a, b) => a + b, 0);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi - 1);
  const tmp = new Float64Array(planes * h * w);
  const out = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    const o = p * h * w;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += g[k + r] * x[o + i * w + clamp(j + k, w)];
      tmp[o + i * w + j] = acc / sum;
    }
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += g[k + r] * tmp[o + clamp(i + k, h) * w + j];
      out[o + i * w + j] = acc / sum;
    }
  }
  return out;
}
