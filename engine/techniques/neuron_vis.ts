// Neuron / channel visualization (Erhan et al. 2009; Yosinski et al. 2015; Olah, Mordvintsev and
// Schubert, "Feature Visualization", Distill 2017): the image that maximizes one neuron
// (channel, y, x) or one channel's mean of any layer, post- or pre-ReLU, with the same loop,
// parameterizations, regularizers and presets as class visualization (optvis/vis.ts).
//
// A unit that is silent on the starting image gets no gradient through its own ReLU; as Lucid
// does for its first 16 steps, the first --redirect-steps steps seed the value before that ReLU
// (a pre-ReLU seed), so the unit can light up. A unit of a layer without a ReLU of its own that
// only copies one (a concat's channel, a ReLU layer folded into its conv) is the same value as the
// unit of the conv that makes it, so the objective is placed there (exactly equal, and its ReLU
// can be redirected); the summary names both.

import type { Model } from '../models/graph';
import { channelMean, maximize, neuron } from './optvis/index';
import { presentVis, runVis, safeStem, VIS_LIVE_OPTIONS, VIS_OPTIONS, VIS_PRESETS, visPlan, type VisOptions, type VisResult } from './optvis/vis';
import { firstLayer, layerChoices, resolveChannel, resolveLayer, resolveNeuron } from './resolve';
import type { Technique } from './technique';

export interface NeuronVisOptions extends VisOptions {
  layer: string;
  channel: number;
  neuron: string;
  preRelu: boolean;
  redirectSteps: number;
}

/**
 * The conv / linear whose post-ReLU output channel `channel` of `layer` is, through concats and
 * ReLU layers folded into their producer; null when `layer` has its own ReLU or is anything else.
 */
export function reluProducer(model: Model, layer: string, channel: number): { layer: string; channel: number } | null {
  const info = new Map(model.layers.map((l) => [l.name, l]));
  let l = info.get(layer);
  let c = channel;
  for (let hops = 0; l && hops < model.layers.length; hops++) {
    if (l.fusedRelu) return hops === 0 ? null : { layer: l.name, channel: c };
    if (l.type === 'relu') {
      const src = info.get(l.inputs[0]);
      l = src?.fusedRelu === l.name ? src : undefined;
    } else if (l.type === 'concat') {
      let next: typeof l | undefined;
      for (const name of l.inputs) {
        const k = info.get(name)!.shape[0];
        if (c < k) {
          next = info.get(name);
          break;
        }
        c -= k;
      }
      l = next;
    } else return null;
  }
  return null;
}

/** The unit the options name, checked against the layer's shape at the optimized size. */
function unitOf(model: Model, o: NeuronVisOptions) {
  const layer = resolveLayer(model, o.layer, 'neuron-vis', { fallback: firstLayer(model, 'conv', true) });
  const { height, width } = visPlan(model, o);
  const atSize = { ...layer, shape: model.layerShape(layer.name, height, width) };
  if (o.preRelu && !layer.fusedRelu) {
    const ok = layerChoices(model).filter((l) => l.fusedRelu).map((l) => l.name);
    throw new Error(`neuron-vis: --pre-relu needs a layer with its own ReLU; '${layer.name}' (${layer.type}) has none (layers with one: ${ok.join(', ')})`);
  }
  const channel = resolveChannel(atSize, o.channel, 'neuron-vis');
  const pos = o.neuron === '' ? null : resolveNeuron(atSize, o.neuron, 'neuron-vis');
  return { layer: layer.name, channel: pos?.channel ?? channel, pos, shape: atSize.shape };
}

export const neuronVis: Technique<NeuronVisOptions, VisResult> = {
  name: 'neuron-vis',
  title: 'Neuron visualization',
  group: 'optimization',
  description:
    'The image that most excites one neuron or one channel of any layer (pre- or post-ReLU), by the same gradient ascent as class visualization, or in Lucid\'s Fourier space with --param fourier (Olah et al., Distill 2017).',
  needsImage: false,
  options: [
    { kind: 'layer', name: 'layer', default: '', help: 'layer whose unit is maximized (default: the last conv)' },
    { kind: 'channel', name: 'channel', default: 0, help: 'channel whose mean is maximized (with --neuron: ignored)' },
    { kind: 'neuron', name: 'neuron', default: '', help: "one neuron c,y,x at the optimized size instead of a channel's mean" },
    { kind: 'bool', name: 'preRelu', default: false, help: 'maximize the value before the layer\'s own ReLU' },
    { kind: 'int', name: 'redirectSteps', default: 16, min: 0, help: 'first steps seeded pre-ReLU so a silent unit gets gradient (Lucid: 16)' },
    ...VIS_OPTIONS,
  ],
  presets: VIS_PRESETS,
  liveOptions: VIS_LIVE_OPTIONS,
  stem(model, o) {
    const u = unitOf(model, o);
    return safeStem(`${u.layer}-${u.pos ? `n${u.pos.channel}_${u.pos.y}_${u.pos.x}` : `c${u.channel}`}${o.preRelu ? '-pre' : ''}`);
  },
  async run(ctx, o) {
    const u = unitOf(ctx.model, o);
    const opts = { preRelu: o.preRelu };
    const redirect = o.preRelu ? 0 : o.redirectSteps;
    const via = redirect > 0 ? reluProducer(ctx.model, u.layer, u.pos?.channel ?? u.channel) : null;
    const t = via ?? { layer: u.layer, channel: u.pos?.channel ?? u.channel };
    const term = u.pos ? neuron(t.layer, t.channel, u.pos.y, u.pos.x, opts) : channelMean(t.layer, t.channel, opts);
    const info = {
      layer: u.layer, channel: u.channel, neuron: u.pos, preRelu: o.preRelu, layerShape: u.shape, redirectSteps: redirect,
      ...(via ? { optimizedAt: { ...via, why: `${u.layer} has no ReLU of its own: the same value is ${via.layer} channel ${via.channel} after its ReLU, which the first steps redirect` } } : {}),
    };
    return runVis(ctx, o, 'neuron-vis', maximize(term), info, redirect);
  },
  present: (r) => presentVis(r),
};
