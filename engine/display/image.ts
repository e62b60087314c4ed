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
  for (let i = 0; i < rgba.length; i += 4) rgba.set(fill.length === 4 ? fill : [...fill.slice(0, 3), 255], i);
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

/** A float map (w x h, row-major) resized to outW x outH. */
export function resizeMap(values: ArrayLike<number>, w: number, h: number, outW: number, outH: number, mode: ResizeMode = 'bilinear'): Float32Array {
  checkMap('resizeMap', values, w, h);
  checkMap('resizeMap output', { length: outW * outH }, outW, outH);
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const sy = srcCoord(y, h, outH);
    for (let x = 0; x < outW; x++) {
      const sx = srcCoord(x, w, outW);
      if (mode === 'nearest') {
        out[y * outW + x] = values[Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH)) * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW))];
        continue;
      }
      const y0 = Math.floor(sy), x0 = Math.floor(sx);
      const y1 = Math.min(h - 1, y0 + 1), x1 = Math.min(w - 1, x0 + 1);
      const fy = sy - y0, fx = sx - x0;
      const top = values[y0 * w + x0] * (1 - fx) + values[y0 * w + x1] * fx;
      const bottom = values[y1 * w + x0] * (1 - fx) + values[y1 * w + x1] * fx;
      out[y * outW + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** A picture resized to outW x outH (each RGBA channel resized as a map). */
export function resize(img: RgbaImage, outW: number, outH: number, mode: ResizeMode = 'bilinear'): RgbaImage {
  if (img.width === outW && img.height === outH) return { width: outW, height: outH, rgba: new Uint8ClampedArray(img.rgba) };
  const out = createImage(outW, outH);
  const plane = new Float32Array(img.width * img.height);
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < plane.length; i++) plane[i] = img.rgba[i * 4 + c];
    const r = resizeMap(plane, img.width, img.height, outW, outH, mode);
    for (let i = 0; i < r.length; i++) out.rgba[i * 4 + c] = Math.round(r[i]);
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
