// Batched classification of image files, shared by the CLI (scripts/cli.ts) and the accuracy run
// (scripts/accuracy.ts): decode, preprocess each image to (1, 3, H, W) on the GPU, gather them into
// one (N, 3, H, W) batch, and run one forward pass for the whole batch.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { decodeImage, Tensor, type DecodedImage, type Model, type Prediction } from '../engine/index';

export interface DecodedFile extends DecodedImage {
  file: string;
}

/** Decode a JPEG or PNG file; the error names the file. */
export async function decodeFile(file: string): Promise<DecodedFile> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    return { file, ...(await decodeImage(bytes, basename(file))) };
  } catch (e) {
    throw new Error(`${file}: cannot decode image: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The top-k classes of every image, in order, from one forward pass. */
export async function classifyImages(model: Model, images: readonly DecodedImage[], k: number): Promise<Prediction[][]> {
  if (images.length === 0) return [];
  const singles = images.map((d) => model.preprocess(d.rgba, d.width, d.height));
  const [, c, h, w] = singles[0].shape;
  const batch = Tensor.empty(model.rt, [images.length, c, h, w], 'image batch');
  try {
    singles.forEach((t, i) => model.rt.copy(t.buffer, t.base * 4, batch.buffer, i * batch.batchStride * 4, t.sampleSize * 4));
    return await model.classify(batch, k);
  } finally {
    batch.dispose();
    for (const t of singles) t.dispose();
  }
}
