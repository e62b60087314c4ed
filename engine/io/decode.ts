// Image decoding to RGBA bytes, in Node and in the browser. JPEG goes through jpeg-js in BOTH
// environments so that both see identical pixels (grayscale JPEGs come out as R = G = B). PNG uses
// pngjs in Node (imported on demand, so browser bundles do without it) and createImageBitmap +
// OffscreenCanvas in a browser.

import { decode as decodeJpeg } from 'jpeg-js';

export interface DecodedImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, row-major RGBA. */
  rgba: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

async function decodePng(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  if (isNode()) {
    const modName = 'pngjs';
    const { PNG } = (await import(/* @vite-ignore */ modName)) as typeof import('pngjs');
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  }
  const bitmap = await createImageBitmap(new Blob([bytes as BlobPart], { type: 'image/png' }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error(`${name}: no 2D canvas context to decode PNG`);
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  bitmap.close();
  return { width: canvas.width, height: canvas.height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Decode a JPEG or PNG (recognised by its signature bytes, not its name) to RGBA. */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const isPng = bytes.length > 8 && PNG_MAGIC.every((b, i) => bytes[i] === b);
  if (!isJpeg && !isPng) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${name}: unknown image format (first bytes ${head || 'none'}; expected JPEG or PNG)`);
  }
  try {
    if (isPng) return await decodePng(bytes, name);
    const img = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new Error(`${name}: corrupt ${isPng ? 'PNG' : 'JPEG'} data (${(e as Error).message})`);
  }
}
