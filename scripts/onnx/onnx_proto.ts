// The ONNX messages export.ts needs, as plain objects, and their protobuf encoding (protobuf.ts).
// Field numbers are those of onnx/onnx.proto (IR version 8):
//
//   ModelProto         ir_version 1, producer_name 2, producer_version 3, domain 4,
//                      model_version 5, doc_string 6, graph 7, opset_import 8
//   OperatorSetIdProto domain 1, version 2
//   GraphProto         node 1, name 2, initializer 5, doc_string 10, input 11, output 12
//   NodeProto          input 1, output 2, name 3, op_type 4, attribute 5, doc_string 6, domain 7
//   AttributeProto     name 1, f 2, i 3, s 4, floats 7, ints 8, type 20
//                      (type: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7)
//   TensorProto        dims 1, data_type 2 (FLOAT 1, INT64 7), name 8, raw_data 9 (little-endian)
//   ValueInfoProto     name 1, type 2
//   TypeProto          tensor_type 1 -> TypeProto.Tensor: elem_type 1, shape 2
//   TensorShapeProto   dim 1 -> Dimension: dim_value 1 | dim_param 2

import { Writer } from './protobuf';

export const DATA_TYPE = { float: 1, int64: 7 } as const;
export const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

export type Attribute =
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'floats'; value: number[] }
  | { name: string; type: 'ints'; value: number[] };

export interface NodeProto {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Attribute[];
}

export interface TensorProto {
  name: string;
  dims: number[];
  /** float32 or int64 data; written as raw_data. */
  data: Float32Array | BigInt64Array;
}

/** A dimension: a fixed size, or a symbolic name (e.g. the batch 'N'). */
export type Dim = number | string;

export interface ValueInfoProto {
  name: string;
  elemType: 'float';
  shape: Dim[];
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  docString?: string;
}

export interface ModelProto {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: GraphProto;
}

function attribute(w: Writer, a: Attribute): void {
  w.string(1, a.name);
  w.int(20, ATTRIBUTE_TYPE[a.type]);
  switch (a.type) {
    case 'float': w.float(2, a.value); break;
    case 'int': w.int(3, a.value); break;
    case 'string': w.string(4, a.value); break;
    case 'floats': w.packedFloats(7, a.value); break;
    case 'ints': w.packedInts(8, a.value); break;
  }
}

function node(w: Writer, n: NodeProto): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes) w.message(5, (m) => attribute(m, a));
}

function tensor(w: Writer, t: TensorProto): void {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) throw new Error(`onnx: tensor '${t.name}' has ${t.data.length} values, its dims (${t.dims.join(', ')}) hold ${count}`);
  w.packedInts(1, t.dims);
  w.int(2, t.data instanceof Float32Array ? DATA_TYPE.float : DATA_TYPE.int64);
  w.string(8, t.name);
  // raw_data is little-endian; typed arrays are in the platform's order, little-endian everywhere this runs.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function valueInfo(w: Writer, v: ValueInfoProto): void {
  w.string(1, v.name);
  w.message(2, (type) => type.message(1, (tt) => {
    tt.int(1, DATA_TYPE[v.elemType]);
    tt.message(2, (shape) => {
      for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
    });
  }));
}

function graph(w: Writer, g: GraphProto): void {
  for (const n of g.nodes) w.message(1, (m) => node(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => tensor(m, t));
  if (g.docString) w.string(10, g.docString);
  for (const v of g.inputs) w.message(11, (m) => valueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => valueInfo(m, v));
}

/** The serialized ModelProto (what an `.onnx` file holds). */
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new Writer();
  w.int(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, (g) => graph(g, m.graph));
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, m.opsetVersion);
  });
  return w.finish();
}
