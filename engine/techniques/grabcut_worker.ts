// The page's GrabCut worker (a module worker, started by grabcut.ts): OpenCV's WebAssembly build
// (7.6 MB of script: about half a second of parsing, compiling and binding registration) loads
// here, off the page's main thread, once; each message is one GrabCut.
//
//   in:  { id, job: CutJob }           out: { id, mask: Uint8Array } or { id, error: string }

import { cutWithOpenCv, type CutJob } from './grabcut_cut';
import { loadOpenCv } from './opencv';

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ id: number; job: CutJob }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (e) => {
  const { id, job } = e.data;
  try {
    const { cv } = await loadOpenCv();
    const mask = cutWithOpenCv(cv, job);
    scope.postMessage({ id, mask }, [mask.buffer]);
  } catch (err) {
    scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
