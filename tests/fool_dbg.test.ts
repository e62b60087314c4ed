import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { decodeImage, loadModel } from '../engine/index';
import { fool } from '../engine/techniques/fool';
import { defaultOptions } from '../engine/techniques/technique';
import { gpu } from './helpers/gpu';
it('dbg', async () => {
  const model = await loadModel(await gpu(), 'weights/tinyvgg');
  const d = await decodeImage(readFileSync('../shared/models/tinyvgg/samples/boat_1.jpeg'), 'b');
  const image = { width: d.width, height: d.height, rgba: new Uint8ClampedArray(d.rgba) };
  for (const o of [{ method: 'ascent', lr: 0.25 }, { method: 'ascent', lr: 0.5 }, { method: 'pgd', eps: 8 }, { method: 'pgd', eps: 4, alpha: 0.5 }]) {
    const t0 = performance.now();
    const r = await fool.run({ model, image }, { ...defaultOptions(fool), target: '5', steps: 60, ...o } as any);
    console.log(JSON.stringify(o), r.fooledAfterPng, r.iterations, r.pngChecks, r.lInf, r.psnr.toFixed(2), r.after[0].label, r.after[0].prob.toFixed(3), Math.round(performance.now() - t0), 'ms');
  }
}, 300_000);
