import { join } from 'node:path';
import { loadModel } from '/work/main/engine/index';
import { Runtime } from '/work/main/engine/runtime';
import { Tensor } from '/work/main/engine/tensor';
const rt = await Runtime.create();
const model = await loadModel(rt, join('/work/main/weights', process.argv[2] ?? 'squeezenet1_1'));
const size = Number(process.argv[3] ?? 64);
const x = Tensor.fromData(rt, new Float32Array(3 * size * size).fill(0.1), [1, 3, size, size], 'input');
const gIn = Tensor.empty(rt, [1, 3, size, size], 'g');
const [k, kh, kw] = model.layerShape(model.spec.logits, size, size);
const seed = Tensor.fromData(rt, new Float32Array(k * kh * kw).fill(0.01), [1, k, kh, kw], 'seed');
let rec = 0;
for (let i = 0; i < 200; i++) {
  await rt.sync();
  const t0 = performance.now();
  model.forward(x);
  model.backward({ kind: 'gradient', layer: model.spec.logits, gradient: seed }, { out: gIn });
  if (i >= 20) rec += performance.now() - t0;
}
await rt.sync();
console.log(rt.stats, rt.bindGroups.size); console.log('record ms per fwd+bwd', (rec / 180).toFixed(3), 'dispatches', rt.stats.dispatches / 200);
process.exit(0);
