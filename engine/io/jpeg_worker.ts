// The page's JPEG decoding worker (a module worker, started by decode.ts): jpeg-js runs here, off
// the page's main thread, so that a large photo or a gallery of samples does not freeze the page
// while it decodes (a 500 x 375 ImageNet sample takes tens of ms in jpeg-js, a phone photo
// seconds). The same decoder as in Node, so the pixels are the same everywhere.
//
//   in:  { id, bytes: Uint8Array }     out: { id, width, height, rgba: Uint8Array } or { id, error: string }

import { decodeJpegBytes } from './jpeg';

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ id: number; bytes: Uint8Array }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  const { id, bytes } = e.data;
  try {
    const { width, height, rgba } = decodeJpegBytes(bytes);
    scope.postMessage({ id, width, height, rgba }, [rgba.buffer]);
  } catch (err) {
    scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
