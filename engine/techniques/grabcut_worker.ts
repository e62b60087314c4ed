// The page's GrabCut worker (a module worker, started by grabcut.ts): OpenCV's WebAssembly build
// (7.6 MB of script: about half a second of parsing, compiling and binding registration) loads
// here, off the page's main thread, once; each call is one GrabCut.
//
//   request: CutJob                  result: the mask (Uint8Array, transferred)

import { serveWorkerCalls } from '../worker_calls';
import { cutWithOpenCv, type CutJob } from './grabcut_cut';
import { loadOpenCv } from './opencv';

serveWorkerCalls<CutJob, Uint8Array>(async (job) => {
  const { cv } = await loadOpenCv();
  const mask = cutWithOpenCv(cv, job);
  return { result: mask, transfer: [mask.buffer] };
});
