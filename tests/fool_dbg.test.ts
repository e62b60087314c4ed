import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { decodeImage, loadModel } from '../engine/index';
import { invert } from '../engine/techniques/invert';
import { defaultOptions } from '../engine/techniques/technique';
import { gpu } from './helpers/gpu';
it('dbg', async () => {
  const model = await loadModel(await gpu(), 'weights/tinyvgg');
  const d = await decodeImage(readFileSync('../shared/models/tinyvgg/samples/boat_1.jpeg'), 'b');
  const image = { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) };
  for (const o of [{ steps: 60, layers: 'conv_1_2,conv_2_1' }, { steps: 60, layers: 'conv_1_2', tvWeight: 0.002 }]) {
    const t0 = performance.now();
    const r = await invert.run({ model, image }, { ...defaultOptions(invert), ...o } as any);
    console.log(JSON.stringify(o), JSON.stringify(r.inversions.map((v) => [v.layer, v.loss.start.toFixed(4), v.loss.end.toFixed(4), (v.loss.start / v.loss.end).toFixed(1)])), Math.round(performance.now() - t0), 'ms');
  }
}, 300_000);
