// The page's JPEG decoding worker (a module worker, started by decode.ts): jpeg-js runs here, off
// the page's main thread, so that a large photo or a gallery of samples does not freeze the page
// while it decodes (a 500 x 375 ImageNet sample takes tens of ms in jpeg-js, a phone photo
// seconds). The same decoder as in Node, so the pixels are the same everywhere.
//
//   request: the JPEG's bytes        result: DecodedImage (its rgba transferred)

import { serveWorkerCalls } from '../worker_calls';
import { decodeJpegBytes, type DecodedImage } from './jpeg';

serveWorkerCalls<Uint8Array, DecodedImage>((bytes) => {
  const result = decodeJpegBytes(bytes);
  return { result, transfer: [result.rgba.buffer] };
});
