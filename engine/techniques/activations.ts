// Activations: every channel of a layer's output for one image, as a grid of grayscale tiles
// (CS231n lecture 12, "visualizing activations"; Yosinski et al.'s deep visualization toolbox).
// One gray scale for the whole layer (shows which channels fire) or one per tile (shows each
// map's pattern); `top` K keeps the K channels with the largest mean activation. The .npy is the
// whole layer (C, H, W); conv layers fused with their ReLU show the post-ReLU value.

import { extent, heatmap } from '../display/index';
import { since, targetSummary, tileGrid } from './present';
import { firstLayer, forwardTarget, inputTensor, layerOption, resolveLayer, type Target } from './resolve';
import type { Technique } from './technique';

export interface ActivationsOptions extends Record<string, string | number> {
  layer: string;
  top: number;
  scale: 'layer' | 'tile';
}

export interface ActivationsResult {
  layer: string;
  /** (C, H, W). */
  data: Float32Array;
  shape: [number, number, number];
  /** Channels shown, in order, with their mean and max activation. */
  channels: { channel: number; mean: number; max: number }[];
  scale: 'layer' | 'tile';
  target: Target;
  ms: number;
}

export const activations: Technique<ActivationsOptions, ActivationsResult> = {
  name: 'activations',
  title: 'Activation maps',
  group: 'activations',
  description:
    'What each channel of a layer responds to in this image: every feature map as a grayscale tile (bright = strong activation), optionally only the K most active channels.',
  needsImage: true,
  options: [
    layerOption('layer to show (default: the first conv layer)'),
    { kind: 'int', name: 'top', default: 0, min: 0, help: 'show only the K channels with the largest mean activation (0 = all, in channel order)' },
    { kind: 'enum', name: 'scale', choices: ['layer', 'tile'], default: 'layer', help: 'one gray scale for all tiles (compare channels) or one per tile (see each pattern)' },
  ],
  async run(ctx, o) {
    const t0 = performance.now();
    const { model } = ctx;
    const info = resolveLayer(model, o.layer, 'activations', { fallback: firstLayer(model, 'conv') });
    const x = inputTensor(model, ctx.image, 'activations');
    try {
      const target = await forwardTarget(model, x, '', 'logit', 'activations');
      const data = await model.readActivation(info.name);
      const [c, h, w] = info.shape;
      const stats = Array.from({ length: c }, (_, ch) => {
        const m = data.subarray(ch * h * w, (ch + 1) * h * w);
        return { channel: ch, mean: m.reduce((a, b) => a + b, 0) / (h * w), max: extent(m)[1] };
      });
      const channels = o.top > 0 ? [...stats].sort((a, b) => b.mean - a.mean || a.channel - b.channel).slice(0, o.top) : stats;
      ctx.onProgress?.(1, 1);
      return { layer: info.name, data: data.subarray(0, c * h * w), shape: info.shape, channels, scale: o.scale, target, ms: since(t0) };
    } finally {
      x.dispose();
    }
  },
  present(r) {
    const [c, h, w] = r.shape;
    const range = r.scale === 'layer' ? extent(r.data) : undefined;
    const tiles = r.channels.map(({ channel }) => heatmap(r.data.subarray(channel * h * w, (channel + 1) * h * w), w, h, { colormap: 'gray', range }));
    const which = r.channels.length === c ? `all ${c} channels` : `the ${r.channels.length} most active channels (by mean)`;
    return {
      views: [{ suffix: '', meaning: `${which} of '${r.layer}' (${h}x${w} each, labelled by channel), gray scale per ${r.scale}${range ? ` from ${range[0]} to ${range[1]}` : ''}`, image: tileGrid(tiles, r.channels.map((s) => String(s.channel))) }],
      raw: { data: r.data, shape: [c, h, w], meaning: `the activation of '${r.layer}' (C, H, W), every channel` },
      summary: { ...targetSummary(r.target), layer: r.layer, layerShape: r.shape, channels: r.channels, ms: r.ms },
    };
  },
};
