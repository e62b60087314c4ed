// JPEG to RGBA with jpeg-js: the one decoder of the project, in Node, on a page's main thread and
// in its decoding worker (jpeg_worker.ts), so every environment sees identical pixels (grayscale
// JPEGs come out as R = G = B).

import { decode } from 'jpeg-js';

export interface DecodedImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, row-major RGBA. */
  rgba: Uint8Array;
}

export function decodeJpegBytes(bytes: Uint8Array): DecodedImage {
  const img = decode(bytes, { useTArray: true, formatAsRGBA: true });
  return { width: img.width, height: img.height, rgba: img.data };
}
