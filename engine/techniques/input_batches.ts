// A gallery's images as the network sees them, batch by batch: each batch preprocessed into one
// (B, 3, H, W) tensor (resize + center crop + normalisation, Model.preprocess) and, read back, as
// RGBA pictures for tiles. neighbors compares raw pixels with it; embed takes its thumbnails.

import { resize, rgbFromTensor, type RgbaImage } from '../display/index';
import { decodeImage } from '../io/decode';
import type { Model } from '../models/graph';
import { Tensor } from '../tensor';
import type { GalleryItem } from './gallery_source';
import { throwIfAborted } from './technique';

export interface InputBatch {
  /** (B, 3, H, W) preprocessed; owned by the generator, disposed when the next batch comes. */
  x: Tensor;
  /** Index of the batch's first image in `items`. */
  start: number;
  /** The network inputs as pictures, `tile` pixels on their larger side (or full size without it). */
  pictures: RgbaImage[];
}

/** Yields the items `batch` at a time (see the file comment). */
export async function* inputBatches(model: Model, items: readonly GalleryItem[], opts: { batch?: number; tile?: number; signal?: AbortSignal } = {}): AsyncGenerator<InputBatch> {
  const { height, width, ...transform } = model.spec.input;
  const batch = opts.batch ?? 8;
  for (let start = 0; start < items.length; start += batch) {
    throwIfAborted(opts.signal);
    const part = items.slice(start, start + batch);
    const x = Tensor.empty(model.rt, model.inputShape(height, width, part.length), 'input batch');
    try {
      for (const [s, item] of part.entries()) {
        const d = await decodeImage(await item.read(), item.name);
        model.preprocess(d.rgba, d.width, d.height, x, s);
      }
      const data = await x.read();
      const pictures = part.map((_, s) => {
        const p = rgbFromTensor(data, width, height, transform, s);
        if (!opts.tile) return p;
        const f = opts.tile / Math.max(width, height);
        return resize(p, Math.max(1, Math.round(width * f)), Math.max(1, Math.round(height * f)));
      });
      yield { x, start, pictures };
    } finally {
      x.dispose();
    }
  }
}
