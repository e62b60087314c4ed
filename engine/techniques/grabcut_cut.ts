// The OpenCV part of GrabCut: one image and its seed mask in, the labelled mask out. Shared by the
// in-process path (Node: CLI, tests) and the page's worker (grabcut_worker.ts), so the two run the
// very same calls. Every cv.Mat created here is freed before returning.

import type { CvMat, OpenCv } from './opencv';

/** What one GrabCut needs: the picture (RGBA, row-major), the GC-coded seeds (H * W), the iterations. */
export interface CutJob {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  seeds: Uint8Array;
  iterations: number;
}

/** cv.grabCut initialized with the seed mask; returns the final mask (GC codes, H * W). */
export function cutWithOpenCv(cv: OpenCv, job: CutJob): Uint8Array {
  const { width, height, rgba, seeds } = job;
  const n = width * height;
  const mats: CvMat[] = [];
  const mat = (m: CvMat) => (mats.push(m), m);
  try {
    const img = mat(new cv.Mat(height, width, cv.CV_8UC3));
    const rgb = img.data;
    for (let i = 0; i < n; i++) {
      rgb[i * 3] = rgba[i * 4];
      rgb[i * 3 + 1] = rgba[i * 4 + 1];
      rgb[i * 3 + 2] = rgba[i * 4 + 2];
    }
    const m = mat(new cv.Mat(height, width, cv.CV_8UC1));
    m.data.set(seeds);
    const bgdModel = mat(new cv.Mat());
    const fgdModel = mat(new cv.Mat());
    cv.grabCut(img, m, new cv.Rect(0, 0, width, height), bgdModel, fgdModel, job.iterations, cv.GC_INIT_WITH_MASK);
    return Uint8Array.from(m.data);
  } finally {
    for (const m of mats) m.delete();
  }
}
