// A converted model (engine/models/spec.ts: model.json + weights.safetensors) as an ONNX model
// (opset 13, IR version 7), for running the same network with the same weights in ONNX Runtime.
// Pure bytes in, bytes out (no fs): it runs in Node (scripts/onnx/cli.ts) and in the benchmark page.
//
// Every value is (N, C, H, W) as in the engine, named after the layer that makes it; the input is
// the spec's input name with a symbolic batch 'N' (or a fixed one). Outputs: the logits layer and
// the last layer (when they differ), e.g. ['pool10', 'prob'], or the layers asked for (and only
// what they read from is exported).
//
//   conv            Conv (kernel_shape, strides, pads [top, left, bottom, right], group)
//   linear          Flatten(axis 1) -> Gemm(transB 1) -> Reshape (N, out, 1, 1): the spec flattens NCHW
//   relu            Relu
//   maxpool         MaxPool, ceil_mode 1 where the engine's ceil sizing differs from floor sizing; where
//                   one axis needs ceil and the other has a last window starting inside the padding
//                   (Caffe and PyTorch drop it, ONNX's formula keeps it): ceil_mode 0 and the
//                   bottom / right pads grown to fit (padded cells never win a max)
//   avgpool         AveragePool (ceil_mode likewise, count_include_pad from countIncludePad); the mixed
//                   case is refused (growing the pads would change the divisor)
//   globalavgpool   GlobalAveragePool
//   adaptiveavgpool Identity or an AveragePool where the output divides the input evenly, else refused
//   lrn             LRN: Caffe's ACROSS_CHANNELS y = x / (k + alpha/size * sum x^2)^beta over channels
//                   [c - floor((size-1)/2), c + ceil((size-1)/2)] is ONNX's LRN with the same
//                   alpha (ONNX also divides alpha by size), beta, bias = k, size
//   concat          Concat(axis 1)
//   dropout         Identity (inference)
//   flatten         Reshape (N, C*H*W, 1, 1)
//   softmax         Softmax(axis 1): over channels at each pixel, as the engine's softmax

import { inferShapes, validateSpec, type Chw } from '../../engine/models/load';
import { ancestors } from '../../engine/models/shapes';
import { parseSafetensors, readTensorF32, type StFile } from '../../engine/models/safetensors';
import type { LayerSpec, LayerType, ModelSpec, PoolLayer } from '../../engine/models/spec';
import { encodeModel, type Attribute, type Dim, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx_proto';

export const OPSET = 13;
export const IR_VERSION = 7;

/** The layer types export handles (every type of spec.ts; some parameter combinations are refused). */
export const EXPORTABLE: readonly LayerType[] = [
  'conv', 'linear', 'relu', 'maxpool', 'avgpool', 'globalavgpool', 'adaptiveavgpool', 'lrn', 'concat', 'dropout', 'flatten', 'softmax',
];

export interface ExportOptions {
  /** A fixed batch size; default the symbolic dimension 'N'. */
  batch?: number;
  /** Name used in errors (default `<spec.name>/weights.safetensors`). */
  file?: string;
  /**
   * The graph's outputs (layer names); only the layers they read from are exported. Default the
   * logits layer and the last layer.
   */
  outputs?: string[];
}

export interface OnnxExport {
  /** The serialized ModelProto. */
  bytes: Uint8Array;
  input: ValueInfoProto;
  outputs: ValueInfoProto[];
  /** ONNX op type -> count of nodes. */
  ops: Record<string, number>;
}

/** The error for a layer export cannot map, naming it and what would work. */
export class OnnxExportError extends Error {
  constructor(readonly layer: string, message: string) {
    super(`onnx export: layer '${layer}': ${message}`);
  }
}

const ints = (name: string, value: number[]): Attribute => ({ name, type: 'ints', value });
const int = (name: string, value: number): Attribute => ({ name, type: 'int', value });
const float = (name: string, value: number): Attribute => ({ name, type: 'float', value });

/** Pads as ONNX orders them, [top, left, bottom, right], from the spec's [top, bottom, left, right]. */
const onnxPads = (p: readonly number[]): number[] => [p[0], p[2], p[1], p[3]];

/** ONNX's ceil-mode output size (before any window dropping), or the floor one. */
const onnxExtent = (len: number, k: number, s: number, lo: number, hi: number, ceil: boolean): number =>
  (ceil ? Math.ceil((len + lo + hi - k) / s) : Math.floor((len + lo + hi - k) / s)) + 1;

function poolAttributes(l: PoolLayer, inShape: Chw, outShape: Chw): Attribute[] {
  const [, h, w] = inShape;
  const [, oh, ow] = outShape;
  const pads = [...l.pad];
  const axes = [[h, oh, 0], [w, ow, 1]] as const;
  const fits = (ceil: boolean) => axes.every(([len, out, a]) => onnxExtent(len, l.kernel[a], l.stride[a], pads[2 * a], pads[2 * a + 1], ceil) === out);
  let ceilMode = 0;
  if (!fits(false) && fits(true)) ceilMode = 1;
  else if (!fits(false)) {
    // One axis needs ceil sizing, the other is Caffe's / PyTorch's case of a last window that would
    // start inside the padding (dropped there, kept by ONNX's ceil formula).
    if (l.type === 'avgpool') {
      throw new OnnxExportError(l.name, `avgpool ${l.kernel.join('x')}/${l.stride.join('x')} pads ${l.pad.join(',')} in ceil mode on ${h}x${w} -> ${oh}x${ow}: ` +
        'a last window would start inside the padding, which ONNX AveragePool cannot drop; export at another input size or use floor mode');
    }
    // Max pooling ignores padded cells: grow the bottom / right pads until floor sizing gives the engine's size.
    for (const [len, out, a] of axes) pads[2 * a + 1] = Math.max(pads[2 * a + 1], (out - 1) * l.stride[a] + l.kernel[a] - len - pads[2 * a]);
  }
  const attrs = [ints('kernel_shape', [...l.kernel]), ints('strides', [...l.stride]), ints('pads', onnxPads(pads)), int('ceil_mode', ceilMode)];
  if (l.type === 'avgpool') attrs.push(int('count_include_pad', l.countIncludePad === false ? 0 : 1));
  return attrs;
}

/** Export a converted model: its spec and the bytes of its weights.safetensors. */
export function exportOnnx(spec: ModelSpec, weights: Uint8Array, opts: ExportOptions = {}): OnnxExport {
  const file = opts.file ?? `${spec?.name ?? 'model'}/weights.safetensors`;
  const full = validateSpec(spec, `${spec?.name ?? 'model'}/model.json`);
  const outputNames = opts.outputs ?? [...new Set([spec.logits, full[full.length - 1].name])];
  for (const o of outputNames) {
    if (!full.some((l) => l.name === o)) throw new Error(`onnx export: output '${o}' is not a layer of ${spec.name} (layers: ${full.map((l) => l.name).join(', ')})`);
  }
  const needed = ancestors(spec, outputNames);
  const order = full.filter((l) => needed.has(l.name));
  const shapes = inferShapes(spec, order, `${spec.name}/model.json`);
  const st: StFile = parseSafetensors(weights, file);
  const batch: Dim = opts.batch ?? 'N';
  if (typeof batch === 'number' && (!Number.isInteger(batch) || batch < 1)) throw new Error(`onnx export: batch must be a positive integer, got ${batch}`);

  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const add = (name: string, opType: string, inputs: string[], outputs: string[], attributes: Attribute[] = []) =>
    nodes.push({ name, opType, inputs, outputs, attributes });
  const weight = (name: string, dims: number[]): string => {
    const data = readTensorF32(st, name);
    initializers.push({ name, dims, data });
    return name;
  };
  // (N, -1, 1, 1): the engine's shape for flattened values and linear outputs.
  const FLAT_SHAPE = 'cnnvis/shape_n_c_1_1';
  const flatShape = (): string => {
    if (!initializers.some((t) => t.name === FLAT_SHAPE)) initializers.push({ name: FLAT_SHAPE, dims: [4], data: new BigInt64Array([0n, -1n, 1n, 1n]) });
    return FLAT_SHAPE;
  };

  for (const l of order as LayerSpec[]) {
    const x = l.inputs[0];
    const inShape = shapes.get(x)!;
    switch (l.type) {
      case 'conv': {
        const w = weight(`${l.name}.weight`, [l.outChannels, l.inChannels / l.groups, ...l.kernel]);
        const ins = l.bias ? [x, w, weight(`${l.name}.bias`, [l.outChannels])] : [x, w];
        add(l.name, 'Conv', ins, [l.name], [
          ints('kernel_shape', [...l.kernel]), ints('strides', [...l.stride]), ints('pads', onnxPads(l.pad)), ints('dilations', [1, 1]), int('group', l.groups),
        ]);
        break;
      }
      case 'linear': {
        const flat = `${l.name}/flatten`;
        const gemm = `${l.name}/gemm`;
        add(flat, 'Flatten', [x], [flat], [int('axis', 1)]);
        const w = weight(`${l.name}.weight`, [l.outFeatures, l.inFeatures]);
        const ins = l.bias ? [flat, w, weight(`${l.name}.bias`, [l.outFeatures])] : [flat, w];
        add(gemm, 'Gemm', ins, [gemm], [int('transB', 1), float('alpha', 1), float('beta', 1)]);
        add(l.name, 'Reshape', [gemm, flatShape()], [l.name]);
        break;
      }
      case 'relu': add(l.name, 'Relu', [x], [l.name]); break;
      case 'maxpool': add(l.name, 'MaxPool', [x], [l.name], poolAttributes(l, inShape, shapes.get(l.name)!)); break;
      case 'avgpool': add(l.name, 'AveragePool', [x], [l.name], poolAttributes(l, inShape, shapes.get(l.name)!)); break;
      case 'globalavgpool': add(l.name, 'GlobalAveragePool', [x], [l.name]); break;
      case 'adaptiveavgpool': {
        const [, h, w] = inShape;
        const [oh, ow] = l.output;
        if (oh === h && ow === w) add(l.name, 'Identity', [x], [l.name]);
        else if (h % oh === 0 && w % ow === 0) {
          add(l.name, 'AveragePool', [x], [l.name], [ints('kernel_shape', [h / oh, w / ow]), ints('strides', [h / oh, w / ow]), ints('pads', [0, 0, 0, 0])]);
        } else {
          throw new OnnxExportError(l.name, `adaptiveavgpool ${h}x${w} -> ${oh}x${ow} does not divide evenly, and ONNX has no adaptive pooling; ` +
            `export at an input size whose ${l.name} input is a multiple of ${oh}x${ow}`);
        }
        break;
      }
      case 'lrn': {
        if (!Number.isInteger(l.size) || l.size < 1) throw new OnnxExportError(l.name, `LRN size must be a positive integer, got ${l.size}`);
        add(l.name, 'LRN', [x], [l.name], [int('size', l.size), float('alpha', l.alpha), float('beta', l.beta), float('bias', l.k)]);
        break;
      }
      case 'concat': add(l.name, 'Concat', [...l.inputs], [l.name], [int('axis', 1)]); break;
      case 'dropout': add(l.name, 'Identity', [x], [l.name]); break;
      case 'flatten': add(l.name, 'Reshape', [x, flatShape()], [l.name]); break;
      case 'softmax': add(l.name, 'Softmax', [x], [l.name], [int('axis', 1)]); break;
      default: {
        const t = (l as { type: string }).type;
        throw new OnnxExportError((l as { name: string }).name, `type '${t}' has no ONNX mapping (exportable: ${EXPORTABLE.join(', ')})`);
      }
    }
  }

  const info = (name: string): ValueInfoProto => ({ name, elemType: 'float', shape: [batch, ...shapes.get(name)!] });
  const input = info(spec.input.name);
  const outputs = outputNames.map(info);
  const model: ModelProto = {
    irVersion: IR_VERSION,
    opsetVersion: OPSET,
    producerName: 'cnnvis',
    producerVersion: '0.1.0',
    docString: `${spec.name} from ${spec.source}; input ${spec.input.name} (N, 3, ${spec.input.height}, ${spec.input.width}) preprocessed as ` +
      `(pixel * ${spec.input.scale} - mean ${spec.input.mean.join(',')}) / std ${spec.input.std.join(',')}, ${spec.input.channelOrder.toUpperCase()}`,
    graph: { name: spec.name, nodes, initializers, inputs: [input], outputs },
  };
  const ops: Record<string, number> = {};
  for (const n of nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  return { bytes: encodeModel(model), input, outputs, ops };
}
