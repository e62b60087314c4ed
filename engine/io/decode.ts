// Image decoding to RGBA bytes, in Node and in the browser. JPEG goes through jpeg-js in BOTH
// environments so that both see identical pixels (grayscale JPEGs come out as R = G = B); on a
// page it runs in a worker (jpeg_worker.ts), so decoding never blocks the page's main thread, and
// in this thread where workers are not available (or the worker cannot start). PNG uses pngjs in
// Node (imported on demand, so browser bundles do without it) and createImageBitmap +
// OffscreenCanvas in a browser (the browser's decoder, off the main thread already).

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

type Call = { bytes: Uint8Array; done: (d: DecodedImage) => void; fail: (e: Error) => void };
/** The page's decoding worker (started on first use, kept) and its calls in flight. */
let worker: { w: Worker; calls: Map<number, Call> } | null = null;
/** Set when the worker could not start: later JPEGs decode in this thread. */
let workerBroken = false;
let nextCall = 0;

const canUseWorker = (): boolean => typeof document !== 'undefined' && typeof Worker === 'function' && !workerBroken;

function decodeJpegInWorker(bytes: Uint8Array): Promise<DecodedImage> {
  if (!worker) {
    const w = new Worker(new URL('./jpeg_worker.ts', import.meta.url), { type: 'module', name: 'cnnvis jpeg' });
    const state = { w, calls: new Map<number, Call>() };
    w.onmessage = (e: MessageEvent<{ id: number; width?: number; height?: number; rgba?: Uint8Array; error?: string }>) => {
      const call = state.calls.get(e.data.id);
      state.calls.delete(e.data.id);
      const { width, height, rgba, error } = e.data;
      if (rgba && width !== undefined && height !== undefined) {
        decodeStats.worker++;
        call?.done({ width, height, rgba });
      }
      else call?.fail(new Error(error ?? 'the decoding worker answered nothing'));
    };
    w.onerror = (e: ErrorEvent) => {
      // The worker could not start (or threw outside a call): decode what is in flight here, and
      // every later JPEG too, rather than lose the user's images.
      e.preventDefault();
      workerBroken = true;
      for (const c of state.calls.values()) {
        try {
          decodeStats.thread++;
          c.done(decodeJpegBytes(c.bytes));
        } catch (err) {
          c.fail(err as Error);
        }
      }
      state.calls.clear();
      w.terminate();
      if (worker === state) worker = null;
    };
    worker = state;
  }
  const { w, calls } = worker;
  const id = nextCall++;
  return new Promise((done, fail) => {
    // A copy goes to the worker (transferred): the caller keeps its bytes, and so does the fallback.
    const copy = bytes.slice();
    calls.set(id, { bytes, done, fail });
    w.postMessage({ id, bytes: copy }, [copy.buffer]);
  });
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
    if ((options.worker ?? true) && canUseWorker()) return await decodeJpegInWorker(bytes);
    decodeStats.thread++;
    return decodeJpegBytes(bytes);
  } catch (e) {
    throw new Error(`${name}: corrupt ${isPng ? 'PNG' : 'JPEG'} data (${(e as Error).message})`);
  }
}
