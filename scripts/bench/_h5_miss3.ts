import { join } from 'node:path';
import { loadModel } from '/work/main/engine/index';
import { Runtime } from '/work/main/engine/runtime';
import { classLogit, loopSettings, maximize, optimize, pixelParam } from '/work/main/engine/techniques/optvis/index';
const rt = await Runtime.create();
const model = await loadModel(rt, join('/work/main/weights', 'tinyvgg'));
const param = pixelParam(model, { height: 64, width: 64, init: 'noise', std: 0.1, seed: 3 });
const c = rt.bindGroups as any;
const orig = c.lookup.bind(c);
let it = 0;
c.lookup = (program: any, key: string, storage: any[], buffers: GPUBuffer[], ...rest: any[]) => {
  const before = rt.stats.bindGroupsCreated;
  const r = orig(program, key, storage, buffers, ...rest);
  if (it >= 10 && rt.stats.bindGroupsCreated > before) console.log(it, 'MISS', program.label, buffers.map((b) => b.label + '#' + c.id(b)).join(', '), 'versions', c.entries.get(key).versions.length);
  return r;
};
await optimize({
  model, param, objective: maximize(classLogit(model, 1)), optimizer: 'adam', steps: 25, seed: 2, objectiveEvery: 10,
  transforms: [{ kind: 'roll', max: 2 }], settings: loopSettings({ lr: 0.05 }), onStep: (s) => { it = s.iteration; },
});
process.exit(0);
