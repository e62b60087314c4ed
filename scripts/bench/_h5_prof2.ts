import { join } from 'node:path';
import { loadModel } from '/work/main/engine/index';
import { Runtime } from '/work/main/engine/runtime';
import { Tensor } from '/work/main/engine/tensor';
const rt = await Runtime.create();
const model = await loadModel(rt, join('/work/main/weights', process.argv[2] ?? 'squeezenet1_1'));
const size = Number(process.argv[3] ?? 64);
const x = Tensor.fromData(rt, new Float32Array(3 * size * size).fill(0.1), [1, 3, size, size], 'input');
const d = rt.device as any;
const origCE = d.createCommandEncoder.bind(d);
let ceMs = 0;
d.createCommandEncoder = (desc: any) => { const t = performance.now(); const e = origCE(desc); ceMs += performance.now() - t; const obp = e.beginComputePass.bind(e); e.beginComputePass = (pd: any) => { const t2 = performance.now(); const p = obp(pd); ceMs += performance.now() - t2; return p; }; return e; };
const origD = rt.dispatch.bind(rt);
let dMs = 0;
(rt as any).dispatch = (...a: any[]) => { const t = performance.now(); (origD as any)(...a); dMs += performance.now() - t; };
let rec = 0;
for (let i = 0; i < 100; i++) {
  await rt.sync();
  if (i === 20) { ceMs = 0; dMs = 0; }
  const t0 = performance.now();
  model.forward(x);
  if (i >= 20) rec += performance.now() - t0;
}
await rt.sync();
console.log('forward record ms', (rec / 80).toFixed(3), 'in dispatch', (dMs / 80).toFixed(3), 'in encoder/pass creation', (ceMs / 80).toFixed(3));
process.exit(0);
