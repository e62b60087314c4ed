// TF.js layers model (Keras Sequential, channels_last) -> ModelSpec + tensors.
//
// Keras works in (H, W, C); the engine in (C, H, W). So:
//   Conv2D kernel (KH, KW, Cin, Cout) HWIO          -> OIHW
//   padding 'same': out = ceil(H / s), total pad = max((out - 1) * s + K - H, 0), split with the
//                   odd pixel at the bottom/right (TF's rule)
//   Dense kernel (in, out)                           -> (out, in)
//   Flatten: Keras flattens (H, W, C), the engine (C, H, W). The Dense after a Flatten gets its
//            rows permuted: engine row (c*H + h)*W + w = Keras row (h*W + w)*C + c.
//   activation 'relu' / 'softmax' on a layer         -> a separate layer `${name}/relu` etc.
// Input: RGB in [0, 1] (scale 1/255); labels from classes.txt beside model.json.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LayerSpec, ModelSpec, Pad4 } from '../../engine/models/spec';
import { type Chw, layerShape } from './infer';
import { checkConverted, type Converted, type NamedTensor } from './write';

interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

/** TF 'same' padding along one axis: [before, after], the odd pixel after. */
export function samePad(size: number, k: number, s: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** HWIO -> OIHW. */
export function hwioToOihw(src: Float32Array, kh: number, kw: number, ci: number, co: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) dst[((o * ci + i) * kh + y) * kw + x] = src[((y * kw + x) * ci + i) * co + o];
  return dst;
}

/**
 * A Keras Dense kernel (in, out) whose input is a Keras-flattened (H, W, C) map -> the engine's
 * (out, in) weight over the (C, H, W) flattening. With H = W = 1 it is a plain transpose.
 */
export function denseToLinear(kernel: Float32Array, c: number, h: number, w: number, out: number): Float32Array {
  const n = c * h * w;
  const dst = new Float32Array(n * out);
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const keras = (y * w + x) * c + ch;
        const engine = (ch * h + y) * w + x;
        for (let o = 0; o < out; o++) dst[o * n + engine] = kernel[keras * out + o];
      }
  return dst;
}

function pair(v: unknown, what: string): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`${what}: expected two positive integers, got ${JSON.stringify(v)}`);
  return a as [number, number];
}

/** Reads model.json and its shards: layer list, name -> float32 values (in manifest shape). */
function readModel(path: string): { layers: KerasLayer[]; weights: Map<string, { shape: number[]; data: Float32Array }> } {
  const json = JSON.parse(readFileSync(path, 'utf8'));
  if (json.format !== 'layers-model' && !json.modelTopology?.model_config) throw new Error(`${path}: not a TF.js layers model (format ${JSON.stringify(json.format)})`);
  const cfg = json.modelTopology.model_config ?? json.modelTopology;
  if (cfg.class_name !== 'Sequential') throw new Error(`${path}: only Keras Sequential models are supported, got ${cfg.class_name}`);
  const layers: KerasLayer[] = Array.isArray(cfg.config) ? cfg.config : cfg.config.layers;

  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of json.weightsManifest as { paths: string[]; weights: ManifestEntry[] }[]) {
    const parts = group.paths.map((p) => {
      const f = join(dirname(path), p);
      if (!existsSync(f)) throw new Error(`${path}: weight shard ${p} is missing`);
      return readFileSync(f);
    });
    const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    let off = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32' || w.quantization) throw new Error(`${path}: weight '${w.name}' is ${w.quantization ? 'quantized' : w.dtype}; only float32 is supported`);
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (off + 4 * n > bytes.length) {
        throw new Error(`${path}: weight '${w.name}' (${w.shape.join(', ')}) needs bytes [${off}, ${off + 4 * n}) but the shards ${group.paths.join(', ')} hold ${bytes.length}`);
      }
      const data = new Float32Array(n);
      new Uint8Array(data.buffer).set(bytes.subarray(off, off + 4 * n));
      weights.set(w.name, { shape: w.shape, data });
      off += 4 * n;
    }
    if (off !== bytes.length) throw new Error(`${path}: shards ${group.paths.join(', ')} hold ${bytes.length} bytes, the manifest describes ${off}`);
  }
  return { layers, weights };
}

export function convertTfjs(modelJson: string, name = basename(dirname(modelJson))): Converted {
  const { layers: keras, weights } = readModel(modelJson);
  const take = (key: string, shape: number[]): Float32Array => {
    const w = weights.get(key);
    if (!w) throw new Error(`${modelJson}: weight '${key}' is missing from the manifest`);
    if (w.shape.join() !== shape.join()) throw new Error(`${modelJson}: weight '${key}' has shape (${w.shape.join(', ')}), expected (${shape.join(', ')})`);
    weights.delete(key);
    return w.data;
  };

  const first = keras[0]?.config ?? {};
  const bis = (first.batch_input_shape ?? first.batchInputShape) as (number | null)[] | undefined;
  if (!bis || bis.length !== 4 || bis[3] !== 3) throw new Error(`${modelJson}: first layer needs batch_input_shape [null, H, W, 3], got ${JSON.stringify(bis)}`);
  const [height, width] = [bis[1]!, bis[2]!];

  const layers: LayerSpec[] = [];
  const tensors: NamedTensor[] = [];
  let prev = 'data';
  let shape: Chw = [3, height, width];
  let flattenedFrom: Chw | null = null; // the (C, H, W) map a Flatten just flattened
  let logits: string | null = null;

  const push = (l: LayerSpec) => {
    shape = layerShape(l, [shape]);
    layers.push(l);
    prev = l.name;
  };
  const activation = (owner: string, act: unknown) => {
    if (act === undefined || act === 'linear') return;
    if (act === 'relu') push({ type: 'relu', name: `${owner}/relu`, inputs: [prev] });
    else if (act === 'softmax') {
      logits = owner;
      push({ type: 'softmax', name: `${owner}/softmax`, inputs: [prev] });
    } else throw new Error(`${modelJson}: layer '${owner}': activation '${String(act)}' is not supported (relu, softmax, linear)`);
  };

  for (const k of keras) {
    const c = k.config;
    const lname = String(c.name);
    const where = `${modelJson}: layer '${lname}' (${k.class_name})`;
    if (c.data_format !== undefined && c.data_format !== 'channels_last') throw new Error(`${where}: data_format ${String(c.data_format)} is not supported`);
    const wasFlatten = flattenedFrom;
    flattenedFrom = null;
    switch (k.class_name) {
      case 'InputLayer':
        break;
      case 'Conv2D': {
        const [kh, kw] = pair(c.kernel_size, `${where} kernel_size`);
        const [sh, sw] = pair(c.strides ?? 1, `${where} strides`);
        const [dh, dw] = pair(c.dilation_rate ?? 1, `${where} dilation_rate`);
        if (dh !== 1 || dw !== 1) throw new Error(`${where}: dilation is not supported`);
        const [cin, h, w] = shape;
        const cout = Number(c.filters);
        const pad: Pad4 = c.padding === 'same' ? [...samePad(h, kh, sh), ...samePad(w, kw, sw)] : c.padding === 'valid' ? [0, 0, 0, 0] : (() => {
          throw new Error(`${where}: padding ${String(c.padding)} is not supported`);
        })();
        const bias = c.use_bias !== false;
        tensors.push({ name: `${lname}.weight`, shape: [cout, cin, kh, kw], data: hwioToOihw(take(`${lname}/kernel`, [kh, kw, cin, cout]), kh, kw, cin, cout) });
        if (bias) tensors.push({ name: `${lname}.bias`, shape: [cout], data: take(`${lname}/bias`, [cout]) });
        push({ type: 'conv', name: lname, inputs: [prev], outChannels: cout, inChannels: cin, kernel: [kh, kw], stride: [sh, sw], pad, groups: 1, bias });
        activation(lname, c.activation);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const kernel = pair(c.pool_size, `${where} pool_size`);
        const stride = pair(c.strides ?? c.pool_size, `${where} strides`);
        const pad: Pad4 = c.padding === 'same' ? [...samePad(shape[1], kernel[0], stride[0]), ...samePad(shape[2], kernel[1], stride[1])] : [0, 0, 0, 0];
        if (k.class_name === 'MaxPooling2D') push({ type: 'maxpool', name: lname, inputs: [prev], kernel, stride, pad, ceil: false });
        else push({ type: 'avgpool', name: lname, inputs: [prev], kernel, stride, pad, ceil: false, countIncludePad: false });
        break;
      }
      case 'Flatten':
        flattenedFrom = shape;
        push({ type: 'flatten', name: lname, inputs: [prev] });
        break;
      case 'Dense': {
        const [ci, h, w] = wasFlatten ?? shape;
        if (!wasFlatten && (h !== 1 || w !== 1)) throw new Error(`${where}: input (${ci}, ${h}, ${w}) is not flat; add a Flatten`);
        const inF = ci * h * w;
        const out = Number(c.units);
        const bias = c.use_bias !== false;
        tensors.push({ name: `${lname}.weight`, shape: [out, inF], data: denseToLinear(take(`${lname}/kernel`, [inF, out]), ci, h, w, out) });
        if (bias) tensors.push({ name: `${lname}.bias`, shape: [out], data: take(`${lname}/bias`, [out]) });
        push({ type: 'linear', name: lname, inputs: [prev], outFeatures: out, inFeatures: inF, bias });
        activation(lname, c.activation);
        break;
      }
      case 'Activation':
      case 'ReLU':
        if (k.class_name === 'ReLU' || c.activation === 'relu') push({ type: 'relu', name: lname, inputs: [prev] });
        else if (c.activation === 'softmax') {
          logits = prev;
          push({ type: 'softmax', name: lname, inputs: [prev] });
        } else throw new Error(`${where}: activation '${String(c.activation)}' is not supported`);
        break;
      case 'Dropout':
        push({ type: 'dropout', name: lname, inputs: [prev], ratio: Number(c.rate ?? 0.5) });
        break;
      default:
        throw new Error(`${where}: unsupported layer type`);
    }
  }
  if (weights.size) throw new Error(`${modelJson}: weights not used by any layer: ${[...weights.keys()].join(', ')}`);

  const classes = join(dirname(modelJson), 'classes.txt');
  const labels = existsSync(classes) ? readFileSync(classes, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : [];
  const sourceTxt = join(dirname(modelJson), 'SOURCE.txt');
  const spec: ModelSpec = {
    format: 'cnnvis-model', version: 1, name,
    source: `tfjs layers model ${name}` + (existsSync(sourceTxt) ? `: ${readFileSync(sourceTxt, 'utf8').trim()}` : ''),
    input: { name: 'data', channels: 3, height, width, channelOrder: 'rgb', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], resizeShortSide: Math.min(height, width) },
    layers,
    logits: logits ?? prev,
    labels,
  };
  const converted = { spec, tensors };
  checkConverted(converted);
  return converted;
}
