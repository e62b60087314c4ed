import { join } from 'node:path';
import { loadModel } from '/work/main/engine/index';
import { Runtime } from '/work/main/engine/runtime';
import { Tensor } from '/work/main/engine/tensor';
const rt = await Runtime.create();
const model = await loadModel(rt, join('/work/main/weights', process.argv[2] ?? 'tinyvgg'));
const size = Number(process.argv[3] ?? 64);
const x = Tensor.fromData(rt, new Float32Array(3 * size * size).fill(0.1), [1, 3, size, size], 'input');
const g = Tensor.empty(rt, [1, 3, size, size], 'g');
const c = rt.bindGroups as any;
const orig = c.lookup.bind(c);
let log = false;
c.lookup = (program: any, key: string, storage: any[], buffers: GPUBuffer[], ...rest: any[]) => {
  const before = rt.stats.bindGroupsCreated;
  const r = orig(program, key, storage, buffers, ...rest);
  if (log && rt.stats.bindGroupsCreated > before) console.log('MISS', program.label, buffers.map((b) => b.label + '#' + c.id(b)).join(', '), key);
  return r;
};
for (let i = 0; i < 4; i++) {
  log = i >= 1;
  if (log) console.log('--- iteration', i);
  await model.forward(x).read();
  model.backward({ kind: 'class', index: 2 }, { out: g });
  await g.read();
}
process.exit(0);
