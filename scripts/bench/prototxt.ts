// Just enough of Caffe's prototxt (protobuf text format) to list a network's convolution and
// inner-product layers with their input and output shapes, by shape inference from the data
// layer: convolutions size outputs with floor, pooling with ceil (Caffe), global pooling to 1x1.

export type Block = Map<string, (string | Block)[]>;

/** Parse protobuf text format into nested maps of repeated fields. */
export function parsePrototxt(text: string): Block {
  const tokens = text.replace(/#[^\n]*/g, '').match(/"[^"]*"|[{}:]|[^\s{}:"]+/g) ?? [];
  let i = 0;
  const block = (): Block => {
    const out: Block = new Map();
    while (i < tokens.length && tokens[i] !== '}') {
      const key = tokens[i++];
      if (tokens[i] === ':') i++;
      let value: string | Block;
      if (tokens[i] === '{') {
        i++;
        value = block();
        i++; // '}'
      } else {
        value = tokens[i++].replace(/^"|"$/g, '');
      }
      out.set(key, [...(out.get(key) ?? []), value]);
    }
    return out;
  };
  return block();
}

function sub(b: Block | undefined, key: string): Block | undefined {
  const v = b?.get(key)?.[0];
  return v instanceof Map ? v : undefined;
}

function strs(b: Block | undefined, key: string): string[] {
  return (b?.get(key) ?? []).filter((v): v is string => typeof v === 'string');
}

function num(b: Block | undefined, key: string, fallback: number): number {
  const v = strs(b, key)[0];
  return v === undefined ? fallback : Number(v);
}

/** Caffe's kernel/stride/pad fields: `<name>_h`/`<name>_w`, else `<name>_size` / `<name>`. */
function hw(b: Block | undefined, name: string, fallback: number): [number, number] {
  const single = num(b, name === 'kernel' ? 'kernel_size' : name, fallback);
  return [num(b, `${name}_h`, single), num(b, `${name}_w`, single)];
}

export interface ProtoConv {
  name: string;
  /** Input (C, H, W). */
  cin: number; h: number; w: number;
  cout: number;
  kernel: [number, number];
  stride: [number, number];
  /** Symmetric Caffe padding (rows, cols). */
  pad: [number, number];
  groups: number;
  oh: number; ow: number;
}

export interface ProtoLinear {
  name: string;
  inFeatures: number;
  outFeatures: number;
}

export interface ProtoNet {
  name: string;
  input: [number, number, number];
  convs: ProtoConv[];
  linears: ProtoLinear[];
}

type Chw = [number, number, number];

/** Shape-infer a deploy.prototxt (Input layer or input_dim header). */
export function inferShapes(text: string): ProtoNet {
  const root = parsePrototxt(text);
  const shapes = new Map<string, Chw>();
  const net: ProtoNet = { name: strs(root, 'name')[0] ?? 'net', input: [0, 0, 0], convs: [], linears: [] };
  const headerDims = strs(root, 'input_dim').map(Number);
  if (headerDims.length === 4) {
    net.input = [headerDims[1], headerDims[2], headerDims[3]];
    shapes.set(strs(root, 'input')[0], net.input);
  }
  for (const layer of (root.get('layer') ?? []).filter((l): l is Block => l instanceof Map)) {
    const name = strs(layer, 'name')[0];
    const type = strs(layer, 'type')[0];
    const bottoms = strs(layer, 'bottom').map((b) => {
      const s = shapes.get(b);
      if (!s) throw new Error(`prototxt: layer ${name} reads ${b}, which no earlier layer produced`);
      return s;
    });
    const [c, h, w] = bottoms[0] ?? [0, 0, 0];
    let out: Chw;
    if (type === 'Input') {
      const dims = strs(sub(sub(layer, 'input_param'), 'shape'), 'dim').map(Number);
      out = net.input = [dims[1], dims[2], dims[3]];
    } else if (type === 'Convolution') {
      const p = sub(layer, 'convolution_param');
      const kernel = hw(p, 'kernel', 1);
      const stride = hw(p, 'stride', 1);
      const pad = hw(p, 'pad', 0);
      const cout = num(p, 'num_output', 0);
      const oh = Math.floor((h + 2 * pad[0] - kernel[0]) / stride[0]) + 1;
      const ow = Math.floor((w + 2 * pad[1] - kernel[1]) / stride[1]) + 1;
      net.convs.push({ name, cin: c, h, w, cout, kernel, stride, pad, groups: num(p, 'group', 1), oh, ow });
      out = [cout, oh, ow];
    } else if (type === 'Pooling') {
      const p = sub(layer, 'pooling_param');
      if (strs(p, 'global_pooling')[0] === 'true') {
        out = [c, 1, 1];
      } else {
        const kernel = hw(p, 'kernel', 1);
        const stride = hw(p, 'stride', 1);
        const pad = hw(p, 'pad', 0);
        const size = (n: number, k: number, s: number, q: number): number => {
          let o = Math.ceil((n + 2 * q - k) / s) + 1;
          if (q > 0 && (o - 1) * s >= n + q) o--; // Caffe: the last window must start inside the image
          return o;
        };
        out = [c, size(h, kernel[0], stride[0], pad[0]), size(w, kernel[1], stride[1], pad[1])];
      }
    } else if (type === 'InnerProduct') {
      const outFeatures = num(sub(layer, 'inner_product_param'), 'num_output', 0);
      net.linears.push({ name, inFeatures: c * h * w, outFeatures });
      out = [outFeatures, 1, 1];
    } else if (type === 'Concat') {
      out = [bottoms.reduce((s, b) => s + b[0], 0), h, w];
    } else {
      out = [c, h, w]; // ReLU, LRN, Dropout, Softmax: shape-preserving
    }
    for (const top of strs(layer, 'top')) shapes.set(top, out);
  }
  return net;
}
