// Plain per-pixel references for the display resizes and fills (engine/display/image.ts,
// heatmap.ts), written as the definitions read: the pixel-centre source coordinate of every
// output pixel, each channel on its own, no precomputed tables or row copies.

/** Source coordinate of output pixel d when n pixels are stretched to m (half-pixel centres, clamped). */
function src(d: number, n: number, m: number): number {
  return Math.min(n - 1, Math.max(0, ((d + 0.5) * n) / m - 0.5));
}

/** A (h, w) map resized to (outH, outW), nearest or bilinear, as float32. */
export function resizeMap(v: ArrayLike<number>, w: number, h: number, outW: number, outH: number, mode: 'nearest' | 'bilinear'): Float32Array {
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      if (mode === 'nearest') {
        const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH));
        const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW));
        out[y * outW + x] = v[sy * w + sx];
        continue;
      }
      const sy = src(y, h, outH), sx = src(x, w, outW);
      const y0 = Math.floor(sy), x0 = Math.floor(sx);
      const y1 = Math.min(h - 1, y0 + 1), x1 = Math.min(w - 1, x0 + 1);
      const fy = sy - y0, fx = sx - x0;
      const top = v[y0 * w + x0] * (1 - fx) + v[y0 * w + x1] * fx;
      const bottom = v[y1 * w + x0] * (1 - fx) + v[y1 * w + x1] * fx;
      out[y * outW + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** RGBA bytes (h, w) resized channel by channel through float32 maps, rounded to bytes. */
export function resizeRgba(rgba: ArrayLike<number>, w: number, h: number, outW: number, outH: number, mode: 'nearest' | 'bilinear'): Uint8ClampedArray {
  const out = new Uint8ClampedArray(outW * outH * 4);
  for (let c = 0; c < 4; c++) {
    const plane = Float32Array.from({ length: w * h }, (_, i) => rgba[i * 4 + c]);
    const r = resizeMap(plane, w, h, outW, outH, mode);
    for (let i = 0; i < r.length; i++) out[i * 4 + c] = Math.round(r[i]);
  }
  return out;
}

/** width * height pixels of one colour (alpha 255 when three components are given). */
export function filled(width: number, height: number, fill: readonly number[]): Uint8ClampedArray {
  const px = fill.length === 4 ? fill : [...fill.slice(0, 3), 255];
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 4; c++) out[i * 4 + c] = px[c];
  return out;
}
