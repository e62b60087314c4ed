// Receptive fields from the graph: for every layer, per channel range, the input pixels unit (0, 0)
// sees and how the field moves from one unit to the next (CS231n lecture 12; Zeiler & Fergus crop
// their patches at it). Per axis, through a layer with kernel k, stride s and leading pad p:
//   size'   = size + (k - 1) * stride
//   stride' = stride * s
//   start'  = start + ((k - 1) / 2 - p) * stride      (start: centre of unit 0's field, in input pixels)
// ReLU, LRN, dropout and softmax keep the field; flatten and global average pooling see the whole
// input (a kernel as large as their input); adaptive average pooling is a kernel of ceil(H / out)
// at stride floor(H / out) (exact when out divides H). A concat keeps each input's channel ranges,
// shifted, so a channel of an inception / fire output has the field of its own branch; a layer
// that mixes channels (conv, linear) sees the union of its input's ranges (their envelope: the
// branches of these networks share centre and stride). Unit (y, x) covers input rows
// [start - (size - 1) / 2 + y * stride, ... + size - 1], negative / past the edge where padding
// reaches outside the image.

import type { Model } from '../models/graph';
import { inferShapes, type Chw } from '../models/shapes';
import type { LayerSpec, ModelSpec } from '../models/spec';
import type { Technique } from './technique';

/** Per axis (y, x). */
export interface Field {
  size: [number, number];
  stride: [number, number];
  start: [number, number];
}

/** The field of channels [c0, c1) (c1 exclusive, like a slice) of a layer. */
export interface ChannelField extends Field {
  channels: [number, number];
}

export interface LayerFields {
  name: string;
  type: LayerSpec['type'] | 'input';
  shape: Chw;
  fields: ChannelField[];
}

type Axis = { size: number; stride: number; start: number };
const axis = (f: Field, d: 0 | 1): Axis => ({ size: f.size[d], stride: f.stride[d], start: f.start[d] });
const join = (y: Axis, x: Axis, channels: [number, number]): ChannelField => ({ channels, size: [y.size, x.size], stride: [y.stride, x.stride], start: [y.start, x.start] });

/** Through a window of kernel k, stride s, leading pad p. */
function step(a: Axis, k: number, s: number, p: number): Axis {
  return { size: a.size + (k - 1) * a.stride, stride: a.stride * s, start: a.start + ((k - 1) / 2 - p) * a.stride };
}

/** The smallest field holding every range's field (the largest stride when they differ). */
function envelope(fields: readonly ChannelField[], c: number): ChannelField {
  const one = (d: 0 | 1): Axis => {
    const lo = Math.min(...fields.map((f) => f.start[d] - (f.size[d] - 1) / 2));
    const hi = Math.max(...fields.map((f) => f.start[d] + (f.size[d] - 1) / 2));
    return { size: hi - lo + 1, stride: Math.max(...fields.map((f) => f.stride[d])), start: (lo + hi) / 2 };
  };
  return join(one(0), one(1), [0, c]);
}

/** Every range through a window (k, s, pads [top, left]) per axis. */
function window(fields: readonly ChannelField[], k: readonly number[], s: readonly number[], p: readonly number[]): ChannelField[] {
  return fields.map((f) => join(step(axis(f, 0), k[0], s[0], p[0]), step(axis(f, 1), k[1], s[1], p[1]), f.channels));
}

function layerFields(l: LayerSpec, ins: ChannelField[][], inShapes: Chw[], shape: Chw): ChannelField[] {
  const [x] = ins;
  const [, h, w] = inShapes[0] ?? [0, 0, 0];
  switch (l.type) {
    case 'conv':
      return window([envelope(x, shape[0])], l.kernel, l.stride, [l.pad[0], l.pad[2]]);
    case 'maxpool':
    case 'avgpool':
      return window(x, l.kernel, l.stride, [l.pad[0], l.pad[2]]);
    case 'globalavgpool':
      return window(x, [h, w], [1, 1], [0, 0]);
    case 'flatten':
    case 'linear':
      return window([envelope(x, shape[0])], [h, w], [1, 1], [0, 0]);
    case 'adaptiveavgpool':
      return window(x, [Math.ceil(h / l.output[0]), Math.ceil(w / l.output[1])], [Math.max(1, Math.floor(h / l.output[0])), Math.max(1, Math.floor(w / l.output[1]))], [0, 0]);
    case 'concat': {
      let offset = 0;
      return ins.flatMap((fs, i) => {
        const shifted = fs.map((f): ChannelField => ({ ...f, channels: [f.channels[0] + offset, f.channels[1] + offset] }));
        offset += inShapes[i][0];
        return shifted;
      });
    }
    case 'lrn':
      // Across channels: a channel sees its neighbours' fields; one range when they differ.
      return x.length === 1 ? x : [envelope(x, shape[0])];
    default:
      return x;
  }
}

/** The layers `until` depends on (itself included), in spec order. */
function ancestors(spec: ModelSpec, until: string): LayerSpec[] {
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  if (!byName.has(until)) throw new Error(`receptive-field: no layer '${until}' in model '${spec.name}'`);
  const need = new Set<string>();
  const visit = (n: string) => {
    const l = byName.get(n);
    if (!l || need.has(n)) return;
    need.add(n);
    l.inputs.forEach(visit);
  };
  visit(until);
  return spec.layers.filter((l) => need.has(l.name));
}

/**
 * Receptive fields of every layer at input height x width (default: the spec's input size), or
 * only of `until` and the layers it depends on (inputs too small for the later layers are fine).
 */
export function receptiveFields(spec: ModelSpec, size: { height?: number; width?: number; until?: string } = {}): LayerFields[] {
  const layers = size.until ? ancestors(spec, size.until) : spec.layers;
  const shapes = inferShapes(spec, layers, `receptive-field (${spec.name})`, { height: size.height, width: size.width });
  const { input } = spec;
  const inShape = shapes.get(input.name)!;
  const byName = new Map<string, ChannelField[]>([[input.name, [join({ size: 1, stride: 1, start: 0 }, { size: 1, stride: 1, start: 0 }, [0, input.channels])]]]);
  const out: LayerFields[] = [{ name: input.name, type: 'input', shape: inShape, fields: byName.get(input.name)! }];
  for (const l of layers) {
    const shape = shapes.get(l.name)!;
    const fields = layerFields(l, l.inputs.map((i) => byName.get(i)!), l.inputs.map((i) => shapes.get(i)!), shape);
    byName.set(l.name, fields);
    out.push({ name: l.name, type: l.type, shape, fields });
  }
  return out;
}

/** The field of one channel of a layer, or an error naming the layer and its channel count. */
export function channelField(layer: LayerFields, channel: number): ChannelField {
  const f = layer.fields.find((r) => channel >= r.channels[0] && channel < r.channels[1]);
  if (!f) throw new Error(`receptive-field: channel ${channel} is not a channel of layer '${layer.name}' (${layer.shape[0]} channels)`);
  return f;
}

/**
 * The input box [y0, x0, y1, x1] (inclusive) unit (y, x) of a field covers; rows and columns
 * outside 0..H-1 / 0..W-1 are padding.
 */
export function fieldBox(f: Field, y: number, x: number): [number, number, number, number] {
  const lo = (d: 0 | 1, i: number) => Math.round(f.start[d] - (f.size[d] - 1) / 2 + i * f.stride[d]);
  const [y0, x0] = [lo(0, y), lo(1, x)];
  return [y0, x0, y0 + f.size[0] - 1, x0 + f.size[1] - 1];
}

/** A number when both axes agree, else [y, x]. */
const squash = (v: [number, number]): number | [number, number] => (v[0] === v[1] ? v[0] : v);

/** The JSON rows: one per (layer, channel range): {name, type, channels, size, stride, start}. */
export function fieldRows(layers: readonly LayerFields[]): { name: string; type: string; channels: [number, number]; size: number | [number, number]; stride: number | [number, number]; start: number | [number, number] }[] {
  return layers.flatMap((l) => l.fields.map((f) => ({ name: l.name, type: l.type, channels: f.channels, size: squash(f.size), stride: squash(f.stride), start: squash(f.start) })));
}

/** A text table of the rows. */
export function fieldTable(layers: readonly LayerFields[]): string {
  const rows = fieldRows(layers);
  const txt = (v: number | [number, number]) => (Array.isArray(v) ? `${v[0]}x${v[1]}` : String(v));
  const cells = [['layer', 'type', 'channels', 'size', 'stride', 'start'], ...rows.map((r) => [r.name, r.type, `${r.channels[0]}-${r.channels[1] - 1}`, txt(r.size), txt(r.stride), txt(r.start)])];
  const widths = cells[0].map((_, j) => Math.max(...cells.map((c) => c[j].length)));
  return cells.map((c) => c.map((v, j) => (j < 2 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  ').trimEnd()).join('\n');
}

export interface ReceptiveFieldOptions extends Record<string, number> {
  size: number;
}

export interface ReceptiveFieldResult {
  model: string;
  input: [number, number];
  layers: LayerFields[];
}

export const receptiveField: Technique<ReceptiveFieldOptions, ReceptiveFieldResult> = {
  name: 'receptive-field',
  title: 'Receptive fields',
  group: 'engine',
  description:
    'The input pixels each unit of every layer sees (size, stride and the centre of unit 0, padding included), per branch for concatenated layers, computed from the graph.',
  needsImage: false,
  options: [{ kind: 'int', name: 'size', default: 0, min: 0, help: "square input size (0 = the model's own); changes only global layers" }],
  async run(ctx, o) {
    const { input } = ctx.model.spec;
    const [height, width] = o.size > 0 ? [o.size, o.size] : [input.height, input.width];
    ctx.onProgress?.(1, 1);
    return { model: ctx.model.spec.name, input: [height, width], layers: receptiveFields(ctx.model.spec, { height, width }) };
  },
  present(r) {
    const rows = fieldRows(r.layers);
    return {
      views: [],
      raw: {
        data: Float32Array.from(rows.flatMap((x) => [x.channels, x.size, x.stride, x.start].flatMap((v) => (Array.isArray(v) ? v : [v, v])))),
        shape: [rows.length, 4, 2],
        meaning: 'per (layer, channel range) row of summary.layers: channels [c0, c1), size, stride, start, each (y, x) or (c0, c1)',
      },
      summary: { input: r.input, layers: rows, table: fieldTable(r.layers) },
    };
  },
};

/** The fields of a loaded model at its own input size, by layer name. */
export function modelFields(model: Model): Map<string, LayerFields> {
  return new Map(receptiveFields(model.spec).map((l) => [l.name, l]));
}
