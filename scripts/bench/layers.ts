// The benchmarked layers: every distinct conv shape of AlexNet (torchvision and Caffe forms),
// SqueezeNet 1.1 and GoogLeNet, and AlexNet's FC layers at batch 1 and a larger batch. The two
// Caffe networks are shape-inferred from their real prototxts; AlexNet has no prototxt here, so
// its two forms are tables taken from torchvision's `alexnet` and BVLC's `bvlc_alexnet`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inferShapes } from './prototxt';

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
  model: ModelName;
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

function conv(cin: number, h: number, cout: number, k: number, s: number, p: number, groups = 1): ConvShape {
  const o = Math.floor((h + 2 * p - k) / s) + 1;
  return { n: 1, cin, h, w: h, cout, kh: k, kw: k, sh: s, sw: s, pad: [p, p, p, p], groups, oh: o, ow: o };
}

/** torchvision alexnet: 224x224 input, features.{0,3,6,8,10}. */
const ALEXNET: [string, ConvShape][] = [
  ['conv1', conv(3, 224, 64, 11, 4, 2)],
  ['conv2', conv(64, 27, 192, 5, 1, 2)],
  ['conv3', conv(192, 13, 384, 3, 1, 1)],
  ['conv4', conv(384, 13, 256, 3, 1, 1)],
  ['conv5', conv(256, 13, 256, 3, 1, 1)],
];

/** BVLC (Caffe) alexnet: 227x227 input, conv2/4/5 in two groups. */
const ALEXNET_CAFFE: [string, ConvShape][] = [
  ['conv1', conv(3, 227, 96, 11, 4, 0)],
  ['conv2', conv(96, 27, 256, 5, 1, 2, 2)],
  ['conv3', conv(256, 13, 384, 3, 1, 1)],
  ['conv4', conv(384, 13, 384, 3, 1, 1, 2)],
  ['conv5', conv(384, 13, 256, 3, 1, 1, 2)],
];

const ALEXNET_FC: [string, number, number][] = [
  ['fc6', 9216, 4096],
  ['fc7', 4096, 4096],
  ['fc8', 4096, 1000],
];

function dedupe(model: ModelName, convs: [string, ConvShape][]): BenchLayer[] {
  const byKey = new Map<string, BenchLayer>();
  for (const [name, c] of convs) {
    const key = JSON.stringify(c);
    const seen = byKey.get(key);
    if (seen) seen.same.push(name);
    else byKey.set(key, { model, name, same: [], conv: c });
  }
  return [...byKey.values()];
}

/** Conv layers of a Caffe deploy.prototxt, distinct shapes only. */
export function prototxtConvs(model: ModelName, prototxtPath: string): BenchLayer[] {
  const net = inferShapes(readFileSync(prototxtPath, 'utf8'));
  return dedupe(model, net.convs.map((c): [string, ConvShape] => [c.name, {
    n: 1, cin: c.cin, h: c.h, w: c.w, cout: c.cout, kh: c.kernel[0], kw: c.kernel[1], sh: c.stride[0], sw: c.stride[1],
    pad: [c.pad[0], c.pad[0], c.pad[1], c.pad[1]], groups: c.groups, oh: c.oh, ow: c.ow,
  }]));
}

/** Representative layers for --quick (each well under a GFLOP). */
const QUICK = ['alexnet/conv5', 'alexnet_caffe/conv4', 'squeezenet/fire2/expand3x3', 'googlenet/inception_3a/3x3', 'alexnet/fc7'];

export interface LayerSelection {
  sharedDir: string;
  batch: number;
  quick?: boolean;
  filter?: RegExp;
  model?: 'alexnet' | 'squeezenet' | 'googlenet';
}

export function benchLayers(sel: LayerSelection): BenchLayer[] {
  const all: BenchLayer[] = [
    ...dedupe('alexnet', ALEXNET),
    ...dedupe('alexnet_caffe', ALEXNET_CAFFE),
    ...prototxtConvs('squeezenet', join(sel.sharedDir, 'models/squeezenet1_1/deploy.prototxt')),
    ...prototxtConvs('googlenet', join(sel.sharedDir, 'models/googlenet/deploy.prototxt')),
    ...[1, sel.batch].flatMap((n) => ALEXNET_FC.map(([name, inFeatures, outFeatures]): BenchLayer => ({
      model: 'alexnet', name, same: [], linear: { n, inFeatures, outFeatures },
    }))),
  ];
  return all.filter((l) =>
    (!sel.model || l.model.startsWith(sel.model)) &&
    (!sel.quick || QUICK.includes(`${l.model}/${l.name}`)) &&
    (!sel.filter || sel.filter.test(id(l))));
}
