// Filters: the weights of a conv layer as pictures (CS231n lecture 12, "first layer"). The first
// conv layer reads the image, so each of its filters (3, KH, KW) is shown as one RGB tile, scaled
// to 0..255 on its own, the model's channel order turned into RGB. Any other conv layer's filters
// have many input channels: each filter becomes a row of grayscale tiles, one per input channel,
// which shows why those are hard to read. The .npy is the layer's weights (Cout, Cin/groups, KH, KW).

import { extent, grid, heatmap, rgbFromPlanes } from '../display/index';
import { enlarge, since, tileGrid } from './present';
import { firstLayer, layerOption, resolveLayer } from './resolve';
import type { Technique } from './technique';

export interface FiltersOptions extends Record<string, string | number> {
  layer: string;
  count: number;
  inputs: number;
  scale: 'filter' | 'tile';
}

export interface FiltersResult {
  layer: string;
  /** The weights (Cout, Cin/groups, KH, KW), OIHW. */
  weights: Float32Array;
  shape: [number, number, number, number];
  /** Whether the layer reads the image (RGB tiles). */
  rgb: boolean;
  channelOrder: 'rgb' | 'bgr';
  /** Filters and input channels shown. */
  count: number;
  inputs: number;
  scale: 'filter' | 'tile';
  ms: number;
}

export const filters: Technique<FiltersOptions, FiltersResult> = {
  name: 'filters',
  title: 'Filters',
  group: 'first-layer',
  description:
    'The learned weights of a conv layer. First-layer filters look at the image directly and show as small colour pictures (oriented edges, colour blobs); deeper filters, one grayscale tile per input channel, are much harder to read.',
  needsImage: false,
  options: [
    layerOption('conv layer whose weights to show (default: the first conv layer)', ['conv']),
    { kind: 'int', name: 'count', default: 0, min: 0, help: 'show the first N filters (0 = all)' },
    { kind: 'int', name: 'inputs', default: 16, min: 1, help: 'deeper layers: input channels shown per filter (one grayscale tile each)' },
    { kind: 'enum', name: 'scale', choices: ['filter', 'tile'], default: 'filter', help: 'deeper layers: one gray scale per filter (its row) or per tile' },
  ],
  async run(ctx, o) {
    const t0 = performance.now();
    const { model } = ctx;
    const info = resolveLayer(model, o.layer, 'filters', { types: ['conv'], fallback: firstLayer(model, 'conv') });
    const layer = model.spec.layers.find((l) => l.name === info.name);
    if (layer?.type !== 'conv') throw new Error(`filters: layer '${info.name}' is not a conv layer`);
    const weights = await model.weight(`${layer.name}.weight`).read();
    const shape: FiltersResult['shape'] = [layer.outChannels, layer.inChannels / layer.groups, layer.kernel[0], layer.kernel[1]];
    const rgb = layer.inputs[0] === model.spec.input.name && shape[1] === 3;
    ctx.onProgress?.(1, 1);
    return {
      layer: layer.name, weights, shape, rgb, channelOrder: model.spec.input.channelOrder,
      count: o.count > 0 ? Math.min(o.count, shape[0]) : shape[0],
      inputs: Math.min(o.inputs, shape[1]),
      scale: o.scale,
      ms: since(t0),
    };
  },
  present(r) {
    const [, ci, kh, kw] = r.shape;
    const per = ci * kh * kw;
    const plane = kh * kw;
    const filter = (o: number) => r.weights.subarray(o * per, (o + 1) * per);
    const ids = Array.from({ length: r.count }, (_, o) => o);
    let image;
    let meaning;
    if (r.rgb) {
      image = tileGrid(ids.map((o) => rgbFromPlanes(filter(o), kw, kh, r.channelOrder)), ids.map(String));
      meaning = `the ${r.count} filters of '${r.layer}' (${kh}x${kw}) as RGB, each scaled to 0..255 on its own`;
    } else {
      const tiles = ids.flatMap((o) => {
        const f = filter(o);
        const range = r.scale === 'filter' ? extent(f) : undefined;
        return Array.from({ length: r.inputs }, (_, i) => enlarge(heatmap(f.subarray(i * plane, (i + 1) * plane), kw, kh, { colormap: 'gray', range }), 24));
      });
      image = grid(tiles, { cols: r.inputs, pad: 1 });
      meaning = `filters 0..${r.count - 1} of '${r.layer}' (rows) x input channels 0..${r.inputs - 1} (columns), ${kh}x${kw} each, gray scale per ${r.scale}`;
    }
    return {
      views: [{ suffix: '', meaning, image }],
      raw: { data: r.weights, shape: [...r.shape], meaning: `the weights of '${r.layer}' (Cout, Cin/groups, KH, KW)` },
      summary: { layer: r.layer, weightShape: r.shape, rgb: r.rgb, shown: { filters: r.count, inputs: r.rgb ? 3 : r.inputs }, range: extent(r.weights), ms: r.ms },
    };
  },
};
