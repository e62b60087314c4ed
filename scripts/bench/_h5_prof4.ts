import { join } from 'node:path';
import { loadModel } from '/work/main/engine/index';
import { Runtime } from '/work/main/engine/runtime';
import { Tensor } from '/work/main/engine/tensor';
const rt = await Runtime.create();
const model = await loadModel(rt, join('/work/main/weights', 'squeezenet1_1'));
const x = Tensor.fromData(rt, new Float32Array(3 * 64 * 64).fill(0.1), [1, 3, 64, 64], 'input');
const d = rt.device;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const acc = { ce: 0, bp: 0, ceC: 0, bpC: 0, rec: 0, recC: 0 };
for (let i = 0; i < 30; i++) {
  model.forward(x);
  await rt.sync();
  let t = performance.now(); let c = cpu();
  const e = d.createCommandEncoder();
  if (i >= 10) { acc.ce += performance.now() - t; acc.ceC += cpu() - c; }
  t = performance.now(); c = cpu();
  const p = e.beginComputePass();
  if (i >= 10) { acc.bp += performance.now() - t; acc.bpC += cpu() - c; }
  p.end(); d.queue.submit([e.finish()]);
  t = performance.now(); c = cpu();
  model.forward(x);
  if (i >= 10) { acc.rec += performance.now() - t; acc.recC += cpu() - c; }
  await rt.sync();
}
for (const k of Object.keys(acc) as (keyof typeof acc)[]) console.log(k, (acc[k] / 20).toFixed(3));
process.exit(0);
