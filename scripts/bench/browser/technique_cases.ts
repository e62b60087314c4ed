// Node side of the technique rows of `npm run bench:browser`: the networks and sizes of the Node
// technique bench (technique_plan.ts: --model, --quick) that have converted weights, each with the
// items --filter keeps. --filter matches a row's id (technique/<network>/<item>) or the Node
// bench's key (<group>/<network>/<item>): `--filter technique`, `--filter attribution`,
// `--filter gradcam`, `--filter 'optimization/squeezenet1_1/neuron-vis'`.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSpec } from '../../../engine/index';
import type { BenchArgs } from '../args';
import { techniqueId, techniqueItems, techniqueKey, techniqueNetworks } from '../technique_plan';
import type { TechniqueCase } from './types';

export function techniqueCases(sel: Pick<BenchArgs, 'quick' | 'filter' | 'model' | 'weightsDir'>): TechniqueCase[] {
  const out: TechniqueCase[] = [];
  for (const n of techniqueNetworks(sel)) {
    const json = join(sel.weightsDir, n.dir, 'model.json');
    if (!existsSync(json)) continue;
    const network = (JSON.parse(readFileSync(json, 'utf8')) as ModelSpec).name;
    for (const [group, sizes] of [['attribution', n.attribution], ['optimization', n.optvis]] as const) {
      const kept = (item: string) => !sel.filter || sel.filter.test(techniqueId(network, item)) || sel.filter.test(techniqueKey(group, network, item));
      const items = techniqueItems(group, network, sel.quick).filter(kept);
      if (items.length) for (const size of sizes) out.push({ dir: n.dir, network, group, size, items, quick: sel.quick });
    }
  }
  return out;
}
