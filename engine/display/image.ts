// RGBA8 pictures and float maps: creation, resizing (nearest / bilinear), drawing one picture into
// another. Plain TypeScript, no DOM and no node: imports, so the CLI and the app share it.

/** An RGBA8 picture, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

export type ResizeMode = 'nearest' | 'bilinear';

/** A width x height picture filled with one colour (default opaque black). */
export function createImage(width: number, height: number, fill: readonly number[] = [0, 0, 0, 255]): RgbaImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) {
    throw new Error(`createImage: size must be positive integers, got ${width}x${height}`);
  }
  const rgba = new Uint8ClampedArray(width * height * 4);
  rgba.set(fill.length === 4 ? fill : [...fill.slice(0, 3), 255], 0);
  // The first pixel copied over the rest, doubling each time (a few memcpys, not a call per pixel).
  for (let filled = 4; filled < rgba.length; filled *= 2) rgba.copyWithin(filled, 0, Math.min(filled, rgba.length - filled));
  return { width, height, rgba };
}

/** Checks that `values` holds w * h numbers; `what` names the caller in the error. */
export function checkMap(what: string, values: ArrayLike<number>, w: number, h: number): void {
  if (!(Number.isInteger(w) && Number.isInteger(h) && w >= 1 && h >= 1)) throw new Error(`${what}: size must be positive integers, got ${w}x${h}`);
  if (values.length !== w * h) throw new Error(`${what}: ${values.length} values, expected ${w} x ${h} = ${w * h}`);
}

/**
 * Source coordinate of destination pixel `d` when `n` pixels are stretched to `m`, pixel centres
 * aligned (half-pixel convention, as OpenCV's and PyTorch's align_corners=false).
 */
function srcCoord(d: number, n: number, m: number): number {
  return Math.min(n - 1, Math.max(0, ((d + 0.5) * n) / m - 0.5));
}

/** For each of the m output positions: the nearest of n source pixels (pixel centres aligned). */
function nearestIndex(n: number, m: number): Int32Array {
  const idx = new Int32Array(m);
  for (let d = 0; d < m; d++) idx[d] = Math.min(n - 1, Math.floor(((d + 0.5) * n) / m));
  return idx;
}

/** For each of the m output positions: the two source pixels and the weight of the second (bilinear). */
function bilinearTaps(n: number, m: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(m);
  const i1 = new Int32Array(m);
  const f = new Float64Array(m);
  for (let d = 0; d < m; d++) {
    const s = srcCoord(d, n, m);
    i0[d] = Math.floor(s);
    i1[d] = Math.min(n - 1, i0[d] + 1);
    f[d] = s - i0[d];
  }
  return { i0, i1, f };
}

/** A float map (w x h, row-major) resized to outW x outH. */
export function resizeMap(values: ArrayLike<number>, w: number, h: number, outW: number, outH: number, mode: ResizeMode = 'bilinear'): Float32Array {
  checkMap('resizeMap', values, w, h);
  checkMap('resizeMap output', { length: outW * outH }, outW, outH);
  const out = new Float32Array(outW * outH);
  if (mode === 'nearest') {
    const xs = nearestIndex(w, outW);
    const ys = nearestIndex(h, outH);
    for (let y = 0; y < outH; y++) {
      const row = ys[y] * w;
      const o = y * outW;
      for (let x = 0; x < outW; x++) out[o + x] = values[row + xs[x]];
    }
    return out;
  }
  const tx = bilinearTaps(w, outW);
  const ty = bilinearTaps(h, outH);
  for (let y = 0; y < outH; y++) {
    const r0 = ty.i0[y] * w, r1 = ty.i1[y] * w, fy = ty.f[y];
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      const x0 = tx.i0[x], x1 = tx.i1[x], fx = tx.f[x];
      const top = values[r0 + x0] * (1 - fx) + values[r0 + x1] * fx;
      const bottom = values[r1 + x0] * (1 - fx) + values[r1 + x1] * fx;
      out[o + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** A picture resized to outW x outH (each RGBA channel resized as a map, rounded to bytes). */
export function resize(img: RgbaImage, outW: number, outH: number, mode: ResizeMode = 'bilinear'): RgbaImage {
  if (img.width === outW && img.height === outH) return { width: outW, height: outH, rgba: new Uint8ClampedArray(img.rgba) };
  const { width: w, height: h, rgba: src } = img;
  const out = createImage(outW, outH);
  const dst = out.rgba;
  if (mode === 'nearest') {
    // Whole pixels: each output row is gathered once, then repeated rows are copied.
    const xs = nearestIndex(w, outW);
    const ys = nearestIndex(h, outH);
    const rowBytes = outW * 4;
    for (let y = 0; y < outH; y++) {
      const o = y * rowBytes;
      if (y > 0 && ys[y] === ys[y - 1]) {
        dst.copyWithin(o, o - rowBytes, o);
        continue;
      }
      const row = ys[y] * w;
      for (let x = 0; x < outW; x++) {
        const s = (row + xs[x]) * 4;
        const d = o + x * 4;
        dst[d] = src[s];
        dst[d + 1] = src[s + 1];
        dst[d + 2] = src[s + 2];
        dst[d + 3] = src[s + 3];
      }
    }
    return out;
  }
  const tx = bilinearTaps(w, outW);
  const ty = bilinearTaps(h, outH);
  for (let y = 0; y < outH; y++) {
    const r0 = ty.i0[y] * w, r1 = ty.i1[y] * w, fy = ty.f[y];
    for (let x = 0; x < outW; x++) {
      const a = (r0 + tx.i0[x]) * 4, b = (r0 + tx.i1[x]) * 4, c = (r1 + tx.i0[x]) * 4, d = (r1 + tx.i1[x]) * 4;
      const fx = tx.f[x];
      const o = (y * outW + x) * 4;
      for (let k = 0; k < 4; k++) {
        const top = src[a + k] * (1 - fx) + src[b + k] * fx;
        const bottom = src[c + k] * (1 - fx) + src[d + k] * fx;
        // Through float32, as a resized float map would be, then to the nearest byte.
        dst[o + k] = Math.round(Math.fround(top * (1 - fy) + bottom * fy));
      }
    }
  }
  return out;
}

/** Draws `src` into `dst` with its top-left corner at (x, y), clipped to `dst`. */
export function blit(dst: RgbaImage, src: RgbaImage, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    const x0 = Math.max(0, -x);
    const x1 = Math.min(src.width, dst.width - x);
    if (x1 <= x0) continue;
    dst.rgba.set(src.rgba.subarray((sy * src.width + x0) * 4, (sy * src.width + x1) * 4), (dy * dst.width + x + x0) * 4);
  }
}

/** An integer factor that brings the picture's larger side near `target` pixels (at least 1). */
export function upscaleFactor(width: number, height: number, target: number): number {
  return Math.max(1, Math.floor(target / Math.max(width, height)));
}
