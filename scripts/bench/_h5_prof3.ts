import { join } from 'node:path';
import { loadModel } from '/work/main/engine/index';
import { Runtime } from '/work/main/engine/runtime';
import { Tensor } from '/work/main/engine/tensor';
const rt = await Runtime.create();
const model = await loadModel(rt, join('/work/main/weights', process.argv[2] ?? 'squeezenet1_1'));
const size = Number(process.argv[3] ?? 64);
const x = Tensor.fromData(rt, new Float32Array(3 * size * size).fill(0.1), [1, 3, size, size], 'input');
const d = rt.device;
for (const sleep of [0, 0, 50, 200, 0]) {
  let ce = 0, rec = 0;
  for (let i = 0; i < 20; i++) {
    model.forward(x);
    await rt.sync();
    if (sleep) await new Promise((r) => setTimeout(r, sleep));
    const t0 = performance.now();
    const e = d.createCommandEncoder();
    const t1 = performance.now();
    e.beginComputePass().end(); d.queue.submit([e.finish()]);
    ce += t1 - t0;
    const t2 = performance.now();
    model.forward(x);
    rec += performance.now() - t2;
    await rt.sync();
  }
  console.log(`sleep ${sleep}: createCommandEncoder after sync ${(ce / 20).toFixed(3)} ms; forward record after it ${(rec / 20).toFixed(3)} ms`);
}
process.exit(0);
