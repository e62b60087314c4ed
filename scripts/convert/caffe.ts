// Caffe deploy.prototxt + per-layer raw float32 weights -> ModelSpec + tensors.
//
// The raw format (see ../shared/README.md): weights/<layer>_filter.bin and <layer>_bias.bin,
// little-endian float32 without a header; conv filters are stored OHWI ([out][kh][kw][in]) and are
// transposed here to OIHW; inner-product weights are [out][in] over the NCHW-flattened input.
//
// Blobs vs layers: Caffe wires layers by blob name, and in-place layers (ReLU, Dropout) reuse
// their bottom's blob name as their top. The spec wires layers by layer name, so we walk the
// layers in order keeping blob -> "layer that last wrote it": a ReLU consumes the conv that wrote
// the blob, and every later reader of the blob consumes the ReLU.

import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { InputSpec, LayerSpec, ModelSpec, Pad4 } from '../../engine/models/spec';
import { type Chw, layerShape, specTensorShapes } from './infer';
import { PMessage, parsePrototxt } from './prototxt';
import { checkConverted, type Converted, type NamedTensor } from './write';

/** "n01440764 tench, Tinca tinca" -> "tench, Tinca tinca". */
export function readSynsetWords(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/^n\d{8}\s+/, ''));
}

/** A Caffe h/w parameter pair: `<key>_h`/`<key>_w`, else `<key>` given once (both) or twice (h, w). */
function pair(p: PMessage, key: string, fallback: number, layer: string): [number, number] {
  if (p.has(`${key}_h`) || p.has(`${key}_w`)) return [p.num(`${key}_h`, fallback), p.num(`${key}_w`, fallback)];
  const v = p.nums(key);
  if (v.length === 0) return [fallback, fallback];
  if (v.length === 1) return [v[0], v[0]];
  if (v.length === 2) return [v[0], v[1]];
  throw new Error(`layer '${layer}': ${key} given ${v.length} times; only 2-D is supported`);
}

/** kernel_h/kernel_w, else kernel_size (once or twice); [0, 0] when missing. */
function kernelOf(p: PMessage, layer: string): [number, number] {
  if (p.has('kernel_h') || p.has('kernel_w')) return [p.num('kernel_h', 0), p.num('kernel_w', 0)];
  return pair(p, 'kernel_size', 0, layer);
}

function inputShape(net: PMessage, layer: PMessage | null): number[] {
  if (layer) {
    const shapes = layer.msg('input_param').msgs('shape');
    if (shapes.length !== 1) throw new Error(`Input layer '${layer.str('name')}': expected one input_param.shape, got ${shapes.length}`);
    return shapes[0].nums('dim');
  }
  if (net.has('input_dim')) return net.nums('input_dim');
  return net.msg('input_shape').nums('dim');
}

interface Wired {
  layers: LayerSpec[];
  shapes: Map<string, Chw>;
  input: { name: string; shape: number[] };
  softmaxInput: string | null;
}

function wire(net: PMessage, file: string): Wired {
  if (net.has('layers')) throw new Error(`${file}: V1 'layers' prototxt is not supported; upgrade it to 'layer' with Caffe's upgrade_net_proto_text`);
  const blobs = new Map<string, string>(); // blob name -> layer name that last wrote it
  const shapes = new Map<string, Chw>();
  const layers: LayerSpec[] = [];
  let input: Wired['input'] | null = null;
  let softmaxInput: string | null = null;

  const setInput = (name: string, top: string, shape: number[]) => {
    if (input) throw new Error(`${file}: more than one input ('${input.name}' and '${name}')`);
    if (shape.length !== 4 || shape[1] !== 3) throw new Error(`${file}: input '${name}' must have shape (N, 3, H, W), got (${shape.join(', ')})`);
    input = { name, shape };
    blobs.set(top, name);
    shapes.set(name, [shape[1], shape[2], shape[3]]);
  };
  if (net.has('input')) setInput(net.str('input'), net.str('input'), inputShape(net, null));

  for (const L of net.msgs('layer')) {
    const name = L.str('name');
    const type = L.str('type');
    const where = `${file}: layer '${name}' (${type})`;
    if (shapes.has(name)) throw new Error(`${where}: duplicate layer name`);
    const tops = L.strs('top');
    if (type === 'Input') {
      if (tops.length !== 1) throw new Error(`${where}: expected one top, got ${tops.length}`);
      setInput(name, tops[0], inputShape(net, L));
      continue;
    }
    const inputs = L.strs('bottom').map((b) => {
      const producer = blobs.get(b);
      if (!producer) throw new Error(`${where}: bottom blob '${b}' is not produced by an earlier layer`);
      return producer;
    });
    const inShapes = inputs.map((i) => shapes.get(i)!);
    let layer: LayerSpec;
    switch (type) {
      case 'Convolution': {
        const p = L.msg('convolution_param');
        const [dh, dw] = pair(p, 'dilation', 1, name);
        if (dh !== 1 || dw !== 1) throw new Error(`${where}: dilation ${dh}x${dw} is not supported`);
        const [ph, pw] = pair(p, 'pad', 0, name);
        layer = {
          type: 'conv', name, inputs,
          outChannels: p.num('num_output'),
          inChannels: inShapes[0]?.[0] ?? 0,
          kernel: kernelOf(p, name),
          stride: pair(p, 'stride', 1, name),
          pad: [ph, ph, pw, pw],
          groups: p.num('group', 1),
          bias: p.bool('bias_term', true),
        };
        break;
      }
      case 'InnerProduct': {
        const p = L.msg('inner_product_param');
        if (p.bool('transpose', false)) throw new Error(`${where}: transpose: true is not supported`);
        if (p.num('axis', 1) !== 1) throw new Error(`${where}: axis ${p.num('axis')} is not supported (only 1)`);
        const s = inShapes[0] ?? [0, 0, 0];
        layer = { type: 'linear', name, inputs, outFeatures: p.num('num_output'), inFeatures: s[0] * s[1] * s[2], bias: p.bool('bias_term', true) };
        break;
      }
      case 'ReLU': {
        const slope = L.msg('relu_param').num('negative_slope', 0);
        if (slope !== 0) throw new Error(`${where}: leaky ReLU (negative_slope ${slope}) is not supported`);
        layer = { type: 'relu', name, inputs };
        break;
      }
      case 'Pooling': {
        const p = L.msg('pooling_param');
        const pool = p.get('pool') ?? 'MAX';
        if (pool !== 'MAX' && pool !== 'AVE' && pool !== 0 && pool !== 1) throw new Error(`${where}: pool ${String(pool)} is not supported (MAX, AVE)`);
        const max = pool === 'MAX' || pool === 0;
        const [ph, pw] = pair(p, 'pad', 0, name);
        const pad: Pad4 = [ph, ph, pw, pw];
        if (p.bool('global_pooling', false)) {
          if (ph || pw) throw new Error(`${where}: global pooling with padding is not supported`);
          const [, h, w] = inShapes[0] ?? [0, 0, 0];
          layer = max
            ? { type: 'maxpool', name, inputs, kernel: [h, w], stride: [1, 1], pad, ceil: true }
            : { type: 'globalavgpool', name, inputs };
        } else {
          layer = { type: max ? 'maxpool' : 'avgpool', name, inputs, kernel: kernelOf(p, name), stride: pair(p, 'stride', 1, name), pad, ceil: true };
          if (!max) layer.countIncludePad = true;
        }
        break;
      }
      case 'LRN': {
        const p = L.msg('lrn_param');
        const region = p.get('norm_region') ?? 'ACROSS_CHANNELS';
        if (region !== 'ACROSS_CHANNELS' && region !== 0) throw new Error(`${where}: norm_region ${String(region)} is not supported (only ACROSS_CHANNELS)`);
        layer = { type: 'lrn', name, inputs, size: p.num('local_size', 5), alpha: p.num('alpha', 1), beta: p.num('beta', 0.75), k: p.num('k', 1) };
        break;
      }
      case 'Concat': {
        const p = L.msg('concat_param');
        const axis = p.has('axis') ? p.num('axis') : p.num('concat_dim', 1);
        if (axis !== 1) throw new Error(`${where}: concat along axis ${axis} is not supported (only channels, axis 1)`);
        layer = { type: 'concat', name, inputs };
        break;
      }
      case 'Dropout':
        layer = { type: 'dropout', name, inputs, ratio: L.msg('dropout_param').num('dropout_ratio', 0.5) };
        break;
      case 'Softmax':
        if (L.msg('softmax_param').num('axis', 1) !== 1) throw new Error(`${where}: softmax only over channels (axis 1)`);
        layer = { type: 'softmax', name, inputs };
        softmaxInput = inputs[0];
        break;
      case 'Flatten':
        layer = { type: 'flatten', name, inputs };
        break;
      default:
        throw new Error(`${where}: unsupported layer type`);
    }
    if (layer.type === 'conv' && layer.kernel.some((k) => k < 1)) throw new Error(`${where}: missing kernel_size`);
    if ((layer.type === 'maxpool' || layer.type === 'avgpool') && layer.kernel.some((k) => k < 1)) throw new Error(`${where}: missing kernel_size`);
    let out: Chw;
    try {
      out = layerShape(layer, inShapes);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    shapes.set(name, out);
    layers.push(layer);
    if (tops.length !== 1) throw new Error(`${where}: expected one top, got ${tops.length}`);
    blobs.set(tops[0], name);
  }
  if (!input) throw new Error(`${file}: no Input layer or input/input_dim`);
  return { layers, shapes, input, softmaxInput };
}

/** Parses a deploy.prototxt into a spec (no weights read). */
export function caffeSpec(prototxt: string, file: string, name: string, labels: string[], source: string): ModelSpec {
  const w = wire(parsePrototxt(prototxt, file), file);
  const [, , h, wd] = w.input.shape;
  const input: InputSpec = {
    name: w.input.name, channels: 3, height: h, width: wd, channelOrder: 'bgr',
    scale: 1, mean: [104, 117, 123], std: [1, 1, 1], resizeShortSide: 256,
  };
  const linears = w.layers.filter((l) => l.type === 'linear');
  const logits = w.softmaxInput ?? linears[linears.length - 1]?.name ?? w.layers[w.layers.length - 1].name;
  return { format: 'cnnvis-model', version: 1, name, source, input, layers: w.layers, logits, labels };
}

/** Float32 little-endian file contents, with the byte size checked. */
function readRaw(dir: string, rel: string, model: string, tensor: string, what: string, count: number): Float32Array {
  const path = join(dir, rel);
  if (!existsSync(path)) throw new Error(`caffe ${model}: ${rel} (tensor '${tensor}', ${what}) is missing`);
  const buf = readFileSync(path);
  if (buf.length !== count * 4) {
    throw new Error(`caffe ${model}: ${rel} (tensor '${tensor}', ${what}): expected ${count * 4} bytes (${count} float32), got ${buf.length} bytes`);
  }
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** OHWI -> OIHW. */
export function ohwiToOihw(src: Float32Array, o: number, h: number, w: number, i: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let a = 0; a < o; a++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < i; c++) dst[((a * i + c) * h + y) * w + x] = src[((a * h + y) * w + x) * i + c];
  return dst;
}

/** Converts <dir> (deploy.prototxt, weights/, labels/synset_words.txt) into a spec and tensors. */
export function convertCaffe(dir: string, name = basename(dir)): Converted {
  const protoPath = join(dir, 'deploy.prototxt');
  const sourceTxt = join(dir, 'SOURCE.txt');
  const source = `caffe ${name}` + (existsSync(sourceTxt) ? `: ${readFileSync(sourceTxt, 'utf8').trim()}` : '');
  const labels = readSynsetWords(join(dir, 'labels', 'synset_words.txt'));
  const spec = caffeSpec(readFileSync(protoPath, 'utf8'), protoPath, name, labels, source);
  const shapes = specTensorShapes(spec);
  const tensors: NamedTensor[] = [];
  for (const l of spec.layers) {
    if (l.type !== 'conv' && l.type !== 'linear') continue;
    const wShape = shapes.get(`${l.name}.weight`)!;
    const count = wShape.reduce((a, b) => a * b, 1);
    if (l.type === 'conv') {
      const [o, i, kh, kw] = wShape;
      const raw = readRaw(dir, `weights/${l.name}_filter.bin`, name, `${l.name}.weight`, `OHWI (${o}, ${kh}, ${kw}, ${i})`, count);
      tensors.push({ name: `${l.name}.weight`, shape: wShape, data: ohwiToOihw(raw, o, kh, kw, i) });
    } else {
      tensors.push({ name: `${l.name}.weight`, shape: wShape, data: readRaw(dir, `weights/${l.name}_filter.bin`, name, `${l.name}.weight`, `(${wShape.join(', ')})`, count) });
    }
    if (l.bias) {
      const bShape = shapes.get(`${l.name}.bias`)!;
      tensors.push({ name: `${l.name}.bias`, shape: bShape, data: readRaw(dir, `weights/${l.name}_bias.bin`, name, `${l.name}.bias`, `(${bShape[0]})`, bShape[0]) });
    }
  }
  const out = { spec, tensors };
  checkConverted(out);
  return out;
}
