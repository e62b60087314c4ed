// The benchmarked layers: every distinct conv and linear shape of AlexNet (torchvision and Caffe
// forms), SqueezeNet 1.1 and GoogLeNet. The layer list is each model's ModelSpec -- the converted
// weights/<model>/model.json when there is one, else the spec the converter (scripts/convert/
// caffe.ts) makes from the shared deploy.prototxt, or engine/models/alexnet.ts for AlexNet -- and
// every input/output shape comes from the engine's own `inferShapes`, so the benchmark times
// exactly the layers the engine runs.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inferShapes, validateSpec, type ModelSpec } from '../../engine/index';
import { alexnetCaffeSpec, alexnetTorchvisionSpec } from '../../engine/models/alexnet';
import { caffeSpec } from '../convert/caffe';

export type ModelName = 'alexnet' | 'alexnet_caffe' | 'squeezenet' | 'googlenet';
export type Direction = 'forward' | 'backward';

export interface ConvShape {
  n: number; cin: number; h: number; w: number;
  cout: number; kh: number; kw: number;
  sh: number; sw: number;
  /** (top, bottom, left, right). */
  pad: [number, number, number, number];
  groups: number;
  oh: number; ow: number;
}

export interface LinearShape {
  n: number;
  inFeatures: number;
  outFeatures: number;
}

export interface BenchLayer {
  /** The benchmarked model (a ModelName), or the spec's name for other networks. */
  model: string;
  /** Layer name in the source network (the first one with this shape). */
  name: string;
  /** Other layers of the same network with the identical shape. */
  same: string[];
  conv?: ConvShape;
  linear?: LinearShape;
}

export const id = (l: BenchLayer): string => `${l.model}/${l.name}${l.linear ? ` b${l.linear.n}` : ''}`;

/** Multiply-adds x 2. Backward to input costs the same as the forward. */
export function flops(l: BenchLayer): number {
  if (l.conv) {
    const c = l.conv;
    return 2 * c.n * c.cout * c.oh * c.ow * (c.cin / c.groups) * c.kh * c.kw;
  }
  const f = l.linear!;
  return 2 * f.n * f.inFeatures * f.outFeatures;
}

export function shapeText(l: BenchLayer): string {
  if (l.linear) return `(${l.linear.n}, ${l.linear.inFeatures}) -> ${l.linear.outFeatures}`;
  const c = l.conv!;
  const pad = c.pad.every((p) => p === c.pad[0]) ? `${c.pad[0]}` : c.pad.join(',');
  return `(${c.n}, ${c.cin}, ${c.h}, ${c.w}) ${c.kh}x${c.kw}/${c.sh} p${pad}${c.groups > 1 ? ` g${c.groups}` : ''} -> (${c.cout}, ${c.oh}, ${c.ow})`;
}

/** Where each model's spec comes from: weights/<dir>/model.json, else `fallback`. */
const SOURCES: Record<ModelName, { dir: string; fallback: (sharedDir: string) => ModelSpec }> = {
  alexnet: { dir: 'alexnet', fallback: () => alexnetTorchvisionSpec([]) },
  alexnet_caffe: { dir: 'alexnet_caffe', fallback: () => alexnetCaffeSpec([]) },
  squeezenet: { dir: 'squeezenet1_1', fallback: (s) => prototxtSpec(s, 'squeezenet1_1') },
  googlenet: { dir: 'googlenet', fallback: (s) => prototxtSpec(s, 'googlenet') },
};
const MODELS = Object.keys(SOURCES) as ModelName[];

function prototxtSpec(sharedDir: string, dir: string): ModelSpec {
  const path = join(sharedDir, 'models', dir, 'deploy.prototxt');
  if (!existsSync(path)) throw new Error(`bench: no converted model and no prototxt for ${dir}: ${path} is missing (set CNNVIS_SHARED, or run npm run weights)`);
  return caffeSpec(readFileSync(path, 'utf8'), path, dir, [], `caffe ${dir}`);
}

export interface SpecDirs {
  /** The shared data folder (models/<model>/deploy.prototxt). */
  sharedDir: string;
  /** Converted models (<weightsDir>/<model>/model.json). */
  weightsDir: string;
}

/** The ModelSpec of one benchmarked model: the converted model.json if present, else converted here. */
export function benchSpec(model: ModelName, dirs: SpecDirs): ModelSpec {
  const { dir, fallback } = SOURCES[model];
  const json = join(dirs.weightsDir, dir, 'model.json');
  return existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as ModelSpec) : fallback(dirs.sharedDir);
}

/** Every conv and linear layer of a spec in execution order (linears at batch `n`), shapes from the engine. */
export function specLayers(model: string, spec: ModelSpec, n = 1): BenchLayer[] {
  const order = validateSpec(spec, spec.name);
  const shapes = inferShapes(spec, order, spec.name);
  return order.flatMap((l): BenchLayer[] => {
    if (l.type === 'linear') return [{ model, name: l.name, same: [], linear: { n, inFeatures: l.inFeatures, outFeatures: l.outFeatures } }];
    if (l.type !== 'conv') return [];
    const [cin, h, w] = shapes.get(l.inputs[0])!;
    const [cout, oh, ow] = shapes.get(l.name)!;
    const conv: ConvShape = {
      n: 1, cin, h, w, cout, kh: l.kernel[0], kw: l.kernel[1], sh: l.stride[0], sw: l.stride[1], pad: [...l.pad], groups: l.groups, oh, ow,
    };
    return [{ model, name: l.name, same: [], conv }];
  });
}

/** Distinct shapes only: a later layer with the shape of an earlier one is listed in its `same`. */
function dedupe(layers: readonly BenchLayer[]): BenchLayer[] {
  const byKey = new Map<string, BenchLayer>();
  for (const l of layers) {
    const key = JSON.stringify(l.conv ?? l.linear);
    const seen = byKey.get(key);
    if (seen) seen.same.push(l.name);
    else byKey.set(key, { ...l, same: [] });
  }
  return [...byKey.values()];
}

/**
 * Representative layers for --quick (each well under a GFLOP): AlexNet conv5 (features.10),
 * AlexNet-Caffe conv4 (groups 2), a fire expand, an inception 3x3, AlexNet fc7 (classifier.4).
 */
const QUICK = ['alexnet/features.10', 'alexnet_caffe/conv4', 'squeezenet/fire2/expand3x3', 'googlenet/inception_3a/3x3', 'alexnet/classifier.4'];

export interface LayerSelection extends SpecDirs {
  /** The larger batch for linear layers (they run at batch 1 and this). */
  batch: number;
  quick?: boolean;
  filter?: RegExp;
  model?: 'alexnet' | 'squeezenet' | 'googlenet';
}

/** Conv layers of every selected model, then their linear layers at batch 1 and `sel.batch`. */
export function benchLayers(sel: LayerSelection): BenchLayer[] {
  const specs = MODELS.filter((m) => !sel.model || m.startsWith(sel.model)).map((m) => [m, benchSpec(m, sel)] as const);
  const all: BenchLayer[] = [
    ...specs.flatMap(([m, spec]) => dedupe(specLayers(m, spec).filter((l) => l.conv))),
    ...[...new Set([1, sel.batch])].flatMap((n) => specs.flatMap(([m, spec]) => dedupe(specLayers(m, spec, n).filter((l) => l.linear)))),
  ];
  return all.filter((l) =>
    (!sel.quick || QUICK.includes(`${l.model}/${l.name}`)) &&
    (!sel.filter || sel.filter.test(id(l))));
}
