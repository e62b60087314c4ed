// Node side of `npm run bench:browser`: every case the page times, from the converted specs and
// the engine's inferShapes (the page cannot read weights/ or the shared prototxts itself):
// the conv / linear layers of scripts/bench/layers.ts, every other layer family at its real
// shapes (pooling, LRN, ReLU, softmax, concat), and the whole networks that have converted weights.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inferShapes, validateSpec, type ModelSpec } from '../../../engine/index';
import type { BenchArgs } from '../args';
import { benchLayers, benchSpec, flops as layerFlops, id, shapeText, specLayers, type ModelName } from '../layers';
import { techniqueCases } from './technique_cases';
import type { NetworkCase, OpCase, PageConfig } from './types';

const MODELS: ModelName[] = ['alexnet', 'alexnet_caffe', 'squeezenet', 'googlenet'];
/** Converted networks the page can load, and the --model name that selects each. */
const NETWORKS: [dir: string, model: NonNullable<BenchArgs['model']>][] = [
  ['squeezenet1_1', 'squeezenet'], ['googlenet', 'googlenet'], ['alexnet', 'alexnet'], ['alexnet_caffe', 'alexnet'], ['tinyvgg', 'tinyvgg'],
];

export const opId = (o: OpCase): string => `${o.model}/${o.name}`;
export const networkId = (dir: string): string => `net/${dir}`;

/** Every pooling, LRN, ReLU, softmax and concat layer of a spec with its input and output shapes. */
export function specOps(model: string, spec: ModelSpec): OpCase[] {
  const order = validateSpec(spec, spec.name);
  const shapes = inferShapes(spec, order, spec.name);
  const out: OpCase[] = [];
  for (const l of order) {
    const base = { model, name: l.name, same: [], inputs: l.inputs.map((i) => [...shapes.get(i)!] as OpCase['inputs'][number]), output: [...shapes.get(l.name)!] as OpCase['output'] };
    switch (l.type) {
      case 'maxpool':
      case 'avgpool':
        out.push({ ...base, family: l.type, kernel: l.kernel, stride: l.stride, pad: l.pad, ceil: l.ceil, countIncludePad: l.countIncludePad ?? true });
        break;
      case 'lrn': out.push({ ...base, family: 'lrn', lrn: { size: l.size, alpha: l.alpha, beta: l.beta, k: l.k } }); break;
      case 'relu': case 'softmax': case 'concat': out.push({ ...base, family: l.type }); break;
      default: break;
    }
  }
  return out;
}

function dedupeOps(ops: readonly OpCase[]): OpCase[] {
  const byKey = new Map<string, OpCase>();
  for (const o of ops) {
    const { model: _m, name: _n, same: _s, ...shape } = o;
    const key = JSON.stringify(shape);
    const seen = byKey.get(key);
    if (seen) seen.same.push(o.name);
    else byKey.set(key, { ...o, same: [] });
  }
  return [...byKey.values()];
}

const elements = (o: OpCase): number => o.inputs.reduce((s, [c, h, w]) => s + c * h * w, 0);

export interface CaseSelection extends Pick<BenchArgs, 'quick' | 'filter' | 'model' | 'batch' | 'weightsDir'> {
  sharedDir: string;
}

/** The page's cases. --quick: the quick conv / linear layers, the smallest case of each op family, SqueezeNet (or --model's network) at batch 1, the technique rows' quick set. */
export function browserCases(sel: CaseSelection): Omit<PageConfig, 'timing' | 'tfjs'> {
  const layerModel = sel.model === 'tinyvgg' ? undefined : sel.model;
  const layers = (sel.model === 'tinyvgg' ? [] : benchLayers({ ...sel, model: layerModel, sharedDir: sel.sharedDir }))
    .map((l) => ({ layer: l, id: id(l), shape: shapeText(l), flops: layerFlops(l) }));
  const specs = MODELS.filter((m) => !layerModel || m.startsWith(layerModel)).map((m) => [m, benchSpec(m, sel)] as const);
  let ops = sel.model === 'tinyvgg' ? [] : specs.flatMap(([m, spec]) => dedupeOps(specOps(m, spec)));
  if (sel.quick) {
    const smallest = new Map<string, OpCase>();
    for (const o of ops) if (!smallest.has(o.family) || elements(o) < elements(smallest.get(o.family)!)) smallest.set(o.family, o);
    ops = [...smallest.values()];
  }
  if (sel.filter) ops = ops.filter((o) => sel.filter!.test(opId(o)));

  const networks: NetworkCase[] = [];
  for (const [dir, model] of NETWORKS) {
    const json = join(sel.weightsDir, dir, 'model.json');
    if (!existsSync(json)) continue;
    // TinyVGG is not one of the four networks: only on request (--model tinyvgg, or a --filter naming it).
    const wanted = sel.model ? sel.model === model : sel.filter ? true : dir !== 'tinyvgg';
    if (!wanted || (sel.filter && !sel.filter.test(networkId(dir)))) continue;
    if (sel.quick && !sel.model && !sel.filter && dir !== 'squeezenet1_1') continue;
    const spec = JSON.parse(readFileSync(json, 'utf8')) as ModelSpec;
    const flopsPerImage = specLayers(spec.name, spec).reduce((f, l) => f + layerFlops(l), 0);
    networks.push({ dir, flopsPerImage, batches: sel.quick ? [1] : [...new Set([1, sel.batch])] });
  }
  return { layers, ops, networks, techniques: techniqueCases(sel) };
}
