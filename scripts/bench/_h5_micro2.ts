import { Runtime } from '/work/main/engine/runtime';
import { Tensor } from '/work/main/engine/tensor';
import { relu } from '/work/main/engine/ops/relu';
const rt = await Runtime.create();
const d = rt.device;
const x = Tensor.fromData(rt, new Float32Array(64).fill(1), [1, 1, 8, 8], 'x');
const y = Tensor.empty(rt, [1, 1, 8, 8], 'y');
relu(x, y); await rt.sync();
const prog = (rt as any).pipelines.programs.values().next().value;
console.log(prog.label, prog.bindings.map((b: any) => b.name + ':' + b.kind));
const ubuf = d.createBuffer({ size: 256, usage: 0x40 | 0x8 });
const mk = () => d.createBindGroup({ layout: prog.layout, entries: prog.bindings.map((b: any) => ({ binding: b.binding, resource: b.kind === 'uniform' ? { buffer: ubuf, offset: 0, size: 16 * Math.ceil((b.uniformSize ?? 16) / 16) } : b.name === 'x' ? x.binding() : y.binding() })) });
const time = (name: string, n: number, f: () => void) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  const t1 = performance.now();
  console.log(name, ((t1 - t0) * 1000 / n).toFixed(1), 'us each');
};
for (let r = 0; r < 2; r++) time('createBindGroup', 2000, mk);
const bg = mk();
for (const n of [10, 100, 256, 1000]) {
  const e = d.createCommandEncoder(); const p = e.beginComputePass();
  time(`setPipeline+setBindGroup+dispatch x${n} in one pass`, n, () => { p.setPipeline(prog.pipeline); p.setBindGroup(0, bg); p.dispatchWorkgroups(1); });
  p.end(); const t0 = performance.now(); d.queue.submit([e.finish()]); console.log('  finish+submit', (performance.now() - t0).toFixed(2), 'ms');
  await rt.sync();
}
for (const n of [10, 100, 256, 1000]) {
  const e = d.createCommandEncoder(); const p = e.beginComputePass();
  time(`create+set+dispatch x${n} in one pass`, n, () => { p.setPipeline(prog.pipeline); p.setBindGroup(0, mk()); p.dispatchWorkgroups(1); });
  p.end(); const t0 = performance.now(); d.queue.submit([e.finish()]); console.log('  finish+submit', (performance.now() - t0).toFixed(2), 'ms');
  await rt.sync();
}
process.exit(0);
