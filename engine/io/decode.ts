// Image decoding to RGBA bytes, in Node and in the browser. JPEG goes through jpeg-js in BOTH
// environments so that both see identical pixels (grayscale JPEGs come out as R = G = B); on a
// page it runs in a worker (jpeg_worker.ts), so decoding never blocks the page's main thread, and
// in this thread where workers are not available (or the worker cannot start). PNG uses pngjs in
// Node (imported on demand, so browser bundles do without it) and createImageBitmap +
// OffscreenCanvas in a browser (the browser's decoder, off the main thread already).

import { canUseWorkers, WorkerCalls, WorkerLostError } from '../worker_calls';
import { decodeJpegBytes, type DecodedImage } from './jpeg';

export type { DecodedImage };

export interface DecodeOptions {
  /**
   * On a page, decode JPEG in the decoding worker (default true); false decodes in this thread.
   * Ignored in Node and wherever workers are not available (always this thread).
   */
  worker?: boolean;
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

/** JPEGs decoded so far, by where: the page's worker or this thread (for tests and the console). */
export const decodeStats = { worker: 0, thread: 0 };

/** The page's decoding worker. */
const jpegWorker = new WorkerCalls<Uint8Array, DecodedImage>(
  () => new Worker(new URL('./jpeg_worker.ts', import.meta.url), { type: 'module', name: 'cnnvis jpeg' }),
  'the JPEG decoding worker',
);
/** Set when the worker failed: this JPEG and every later one decode in this thread. */
let workerBroken = false;

/** In the worker (the bytes are cloned: the caller keeps them); in this thread if the worker fails. */
async function decodeJpegInWorker(bytes: Uint8Array): Promise<DecodedImage> {
  try {
    const d = await jpegWorker.call(bytes);
    decodeStats.worker++;
    return d;
  } catch (e) {
    if (!(e instanceof WorkerLostError)) throw e;
    workerBroken = true;
    decodeStats.thread++;
    return decodeJpegBytes(bytes);
  }
}

/** Decode a JPEG or PNG (recognised by its signature bytes, not its name) to RGBA. */
export async function decodeImage(bytes: Uint8Array, name: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const isPng = bytes.length > 8 && PNG_MAGIC.every((b, i) => bytes[i] === b);
  if (!isJpeg && !isPng) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${name}: unknown image format (first bytes ${head || 'none'}; expected JPEG or PNG)`);
  }
  try {
    if (isPng) return await decodePng(bytes, name);
    if ((options.worker ?? true) && canUseWorkers() && !workerBroken) return await decodeJpegInWorker(bytes);
    decodeStats.thread++;
    return decodeJpegBytes(bytes);
  } catch (e) {
    throw new Error(`${name}: corrupt ${isPng ? 'PNG' : 'JPEG'} data (${(e as Error).message})`);
  }
}
