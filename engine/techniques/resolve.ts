// Choosing what a technique looks at, from what a person types: layers (by name or by index in
// the list of valid layers), channels, neurons 'c,y,x', and classes (an index, or a label
// substring; '' = the top-1 prediction). A wrong choice fails with the valid ones: layers with
// their shapes, the class matches or a hint, the candidates of an ambiguous substring.
//
// Also the shared steps of the gradient techniques: the image as the network's input (resized
// and center-cropped like classification unless already at the input size), one forward that
// keeps everything for backward(), and the explained class with its logit and probability.

import type { LayerInfo, Model, Tensor } from '../index';
import { scoreLayer, SCORE_CHOICES, softmaxRows, type ScoreKind } from './attribution';
import type { OptionSpec, RgbaImage } from './technique';

// ---- options shared by many techniques ----------------------------------------------------------

export const CLASS_OPTION: OptionSpec = {
  kind: 'class', name: 'class', default: '',
  help: 'class to explain: an index or a label substring (default: the top-1 prediction)',
};
export const SCORE_OPTION: OptionSpec = {
  kind: 'enum', name: 'score', choices: SCORE_CHOICES, default: 'logit',
  help: 'what is differentiated: the class logit (input of the softmax) or its probability',
};

/** `layer` option; `types` narrows the valid layers, '' = the technique's default (described in `help`). */
export function layerOption(help: string, types?: readonly string[]): OptionSpec {
  return { kind: 'layer', name: 'layer', default: '', help, ...(types ? { types } : {}) };
}

// ---- layers, channels, neurons ------------------------------------------------------------------

const shapeText = (l: LayerInfo) => `(${l.shape.join(', ')})`;

/** The layers a `layer` option may name (every layer but the input, narrowed to `types`). */
export function layerChoices(model: Model, types?: readonly string[]): LayerInfo[] {
  return model.layers.filter((l) => l.type !== 'input' && (!types || types.includes(l.type)));
}

/** 'index name (C, H, W)' for each valid layer, for error messages and --help. */
export function describeLayers(model: Model, types?: readonly string[]): string {
  return layerChoices(model, types).map((l, i) => `${i} ${l.name} ${shapeText(l)}`).join(', ');
}

/**
 * The layer named (or numbered, in layerChoices order) by `value`; '' gives `fallback`. Fails
 * listing the valid layers with their shapes.
 */
export function resolveLayer(model: Model, value: string, technique: string, opts: { types?: readonly string[]; fallback?: string; flag?: string } = {}): LayerInfo {
  const choices = layerChoices(model, opts.types);
  const flag = opts.flag ?? 'layer';
  const kinds = opts.types ? ` (${opts.types.join(' / ')} layers)` : '';
  const fail = (why: string) => new Error(`${technique}: ${why} in model '${model.spec.name}'; --${flag} takes a name or an index${kinds}: ${describeLayers(model, opts.types)}`);
  if (choices.length === 0) throw fail('no valid layer');
  const want = value === '' ? opts.fallback : value;
  if (want === undefined || want === '') throw fail(`--${flag} is required`);
  const byName = choices.find((l) => l.name === want);
  if (byName) return byName;
  if (/^\d+$/.test(want) && Number(want) < choices.length) return choices[Number(want)];
  const other = model.layers.find((l) => l.name === want);
  throw fail(other ? `layer '${want}' is a ${other.type} layer, not one of${kinds}` : `no layer '${want}'`);
}

/** The first / last layer of a type (e.g. the first conv), or an error naming the model. */
export function firstLayer(model: Model, type: string, last = false): string {
  const ls = layerChoices(model, [type]);
  if (ls.length === 0) throw new Error(`model '${model.spec.name}' has no ${type} layer`);
  return (last ? ls[ls.length - 1] : ls[0]).name;
}

/** A channel index of `layer`, checked against its channel count. */
export function resolveChannel(layer: LayerInfo, channel: number, technique: string, flag = 'channel'): number {
  const c = layer.shape[0];
  if (!Number.isInteger(channel) || channel < 0 || channel >= c) {
    throw new Error(`${technique}: --${flag} ${channel} is not a channel of layer '${layer.name}' ${shapeText(layer)}: valid channels are 0..${c - 1}`);
  }
  return channel;
}

export interface Neuron {
  channel: number;
  y: number;
  x: number;
}

/** 'c,y,x' inside `layer`'s (C, H, W), or an error giving the valid ranges. */
export function resolveNeuron(layer: LayerInfo, text: string, technique: string): Neuron {
  const [c, h, w] = layer.shape;
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$/.exec(text);
  const valid = `channel 0..${c - 1}, y 0..${h - 1}, x 0..${w - 1}`;
  if (!m) throw new Error(`${technique}: --neuron needs c,y,x (three non-negative integers), got '${text}'; layer '${layer.name}' ${shapeText(layer)} has ${valid}`);
  const [channel, y, x] = [m[1], m[2], m[3]].map(Number);
  if (channel >= c || y >= h || x >= w) throw new Error(`${technique}: --neuron ${channel},${y},${x} is outside layer '${layer.name}' ${shapeText(layer)}: valid are ${valid}`);
  return { channel, y, x };
}

// ---- classes ------------------------------------------------------------------------------------

/** Number of classes (the logits layer's size). */
export function classCount(model: Model): number {
  const l = model.layers.find((x) => x.name === model.spec.logits)!;
  return l.shape[0] * l.shape[1] * l.shape[2];
}

export function classLabel(model: Model, index: number): string {
  return model.spec.labels[index] ?? String(index);
}

/**
 * The class index `value` names: '' = null (the caller takes the top-1), a number = that index,
 * else a label substring (case-insensitive; an exact label or synonym wins over substrings).
 */
export function resolveClass(model: Model, value: string, technique: string): number | null {
  const v = value.trim();
  if (v === '') return null;
  const k = classCount(model);
  if (/^\d+$/.test(v)) {
    const i = Number(v);
    if (i >= k) throw new Error(`${technique}: --class ${i} is outside model '${model.spec.name}''s ${k} classes (0..${k - 1})`);
    return i;
  }
  const labels = Array.from({ length: k }, (_, i) => classLabel(model, i).toLowerCase());
  const q = v.toLowerCase();
  const exact = labels.flatMap((l, i) => (l === q || l.split(',').some((s) => s.trim() === q) ? [i] : []));
  if (exact.length === 1) return exact[0];
  const matches = exact.length > 1 ? exact : labels.flatMap((l, i) => (l.includes(q) ? [i] : []));
  if (matches.length === 1) return matches[0];
  const show = (ids: number[]) => ids.slice(0, 20).map((i) => `${i} '${classLabel(model, i)}'`).join(', ') + (ids.length > 20 ? `, ... (${ids.length - 20} more)` : '');
  if (matches.length > 1) throw new Error(`${technique}: --class '${v}' is ambiguous in model '${model.spec.name}', it matches ${matches.length} classes: ${show(matches)}; give the index or a longer substring`);
  const words = q.split(/[^a-z0-9]+/).filter((w) => w.length >= 3);
  const near = labels.flatMap((l, i) => (words.some((w) => l.includes(w.slice(0, Math.max(3, w.length - 2)))) ? [i] : []));
  const hint = near.length > 0 ? `similar: ${show(near)}` : `classes are 0..${k - 1}, e.g. ${show([0, 1, 2].filter((i) => i < k))}`;
  throw new Error(`${technique}: no class of model '${model.spec.name}' matches --class '${v}' (an index or a label substring); ${hint}`);
}

// ---- input, forward, target ---------------------------------------------------------------------

/** The technique's image as network input (1, 3, H, W); the caller disposes it. */
export function inputTensor(model: Model, image: RgbaImage | undefined, technique: string): Tensor {
  if (!image) throw new Error(`${technique}: needs an input image`);
  return model.preprocess(image.rgba, image.width, image.height);
}

export interface ClassScore {
  index: number;
  label: string;
  logit: number;
  prob: number;
}

export interface Target extends ClassScore {
  /** What the gradient is taken of. */
  score: ScoreKind;
  /** The class seed's layer (the logits, or the softmax for score 'prob'). */
  seedLayer: string;
  /** The network's own top-5 on this input. */
  top: ClassScore[];
}

/**
 * Forward `x` (batch 1), keeping everything backward needs, and pick the explained class: `cls`
 * (CLASS_OPTION's text) or the top-1 prediction.
 */
export async function forwardTarget(model: Model, x: Tensor, cls: string, score: ScoreKind, technique: string): Promise<Target> {
  const chosen = resolveClass(model, cls, technique);
  const seedLayer = scoreLayer(model, score);
  model.forward(x);
  const logits = await model.readActivation(model.spec.logits);
  const k = logits.length / model.batch;
  const p = softmaxRows(logits.subarray(0, k), k);
  const at = (index: number): ClassScore => ({ index, label: classLabel(model, index), logit: logits[index], prob: p[index] });
  const top = Array.from({ length: k }, (_, i) => i).sort((a, b) => p[b] - p[a]).slice(0, 5).map(at);
  return { ...at(chosen ?? top[0].index), score, seedLayer, top };
}
