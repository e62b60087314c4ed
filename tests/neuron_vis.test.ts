// Neuron visualization (engine/techniques/neuron_vis.ts) on TinyVGG (real weights):
//   - a channel's mean and a single neuron are raised many-fold (pixels; and Fourier with Lucid's
//     transforms at a size the convolutional part runs at);
//   - a unit that is dead on the blank start (conv_1_1 channel 3 has a negative bias) gets no
//     gradient through its ReLU: without redirection the image never moves, with the first steps
//     seeded pre-ReLU (Lucid's 16) it lights up; --pre-relu maximizes the value before the ReLU;
//   - a neuron outside the layer at the optimized size, or --pre-relu on a layer without its own
//     ReLU, fails naming the valid choices.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type Model } from '../engine/index';
import { neuronVis, reluProducer, type NeuronVisOptions } from '../engine/techniques/neuron_vis';
import { defaultOptions, type TechniqueContext } from '../engine/techniques/technique';
import { gpu } from './helpers/gpu';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** "Many-fold": the final objective against the larger of the first one and FLOOR. */
const GAIN = 5;
const FLOOR = 0.05;

describe('neuron-vis', () => {
  let model: Model;
  let ctx: TechniqueContext;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    ctx = { model };
  });
  // Pixel settings are in ImageNet-std units: lr 22 is ~5 of TinyVGG's [0, 1] units; a channel mean has a far smaller
  // gradient than a class logit, so the L2 penalty is 10x below CS231n's 1e-3 (which would hold the image at zero).
  const options = (o: Partial<NeuronVisOptions>): NeuronVisOptions => ({ ...defaultOptions(neuronVis), jitter: 4, lr: 22, l2: 1e-4, ...o }) as NeuronVisOptions;

  it.each<[string, Partial<NeuronVisOptions>]>([
    ['channel mean, pixels', { layer: 'conv_2_2', channel: 4, steps: 30, init: 'noise' }],
    ['one neuron, pixels, no jitter', { layer: 'conv_2_1', neuron: '7,10,12', steps: 30, init: 'noise', jitter: 0 }],
    ['channel mean, fourier at 40 x 40', { layer: 'conv_2_2', channel: 4, steps: 30, param: 'fourier', lr: 0.05, size: 40 }],
  ])('%s: raises the objective many-fold', async (_name, o) => {
    const r = await neuronVis.run(ctx, options(o));
    expect(r.loop.iterations).toBe(o.steps);
    expect(r.loop.last!).toBeGreaterThan(GAIN * Math.max(r.loop.first!, FLOOR));
    const p = neuronVis.present(r, ctx);
    expect([p.views[0].image.width, p.views[0].image.height]).toEqual([o.size ?? 64, o.size ?? 64]);
    expect(p.summary).toMatchObject({ layer: o.layer, iterations: o.steps });
  }, 60_000);

  it('a unit dead on the blank start lights up only with the first steps seeded pre-ReLU; --pre-relu climbs the pre-ReLU value', async () => {
    const dead = { layer: 'conv_1_1', channel: 3, steps: 24, init: 'zeros' as const, l2: 0 };
    const none = await neuronVis.run(ctx, options({ ...dead, redirectSteps: 0 }));
    expect(none.loop.last).toBe(0);
    expect(none.image.every((v) => v === 0)).toBe(true);
    const redirected = await neuronVis.run(ctx, options({ ...dead, redirectSteps: 16 }));
    expect(redirected.loop.first!).toBeLessThan(0);
    expect(redirected.loop.last!).toBeGreaterThan(FLOOR);
    const pre = await neuronVis.run(ctx, options({ ...dead, preRelu: true }));
    expect(pre.loop.last!).toBeGreaterThan(pre.loop.first! + FLOOR);
    expect(neuronVis.stem!(model, options({ ...dead, preRelu: true }))).toBe('conv_1_1-c3-pre');
  }, 60_000);

  it('a neuron outside the layer at the optimized size, or --pre-relu without a ReLU, fails naming the valid choices', async () => {
    await expect(neuronVis.run(ctx, options({ layer: 'conv_2_2', neuron: '3,30,0', size: 32 }))).rejects.toThrow(/--neuron 3,30,0 is outside layer 'conv_2_2' \(10, 10, 10\): valid are channel 0\.\.9, y 0\.\.9, x 0\.\.9/);
    await expect(neuronVis.run(ctx, options({ layer: 'max_pool_1', preRelu: true }))).rejects.toThrow(/--pre-relu needs a layer with its own ReLU; 'max_pool_1' \(maxpool\) has none \(layers with one: conv_1_1, conv_1_2, conv_2_1, conv_2_2\)/);
    await expect(neuronVis.run(ctx, options({ layer: 'conv_2_2', channel: 10 }))).rejects.toThrow(/--channel 10 is not a channel of layer 'conv_2_2'.*valid channels are 0\.\.9/);
  });

  it('a concat channel dead on the blank start is optimized at the conv that makes it (SqueezeNet fire6/concat, 64 px)', async () => {
    const squeeze = await loadModel(model.rt, join(ROOT, 'weights', 'squeezenet1_1'));
    try {
      const [c1] = squeeze.layerShape('fire6/expand1x1', 64, 64);
      expect(reluProducer(squeeze, 'fire6/concat', 10)).toEqual({ layer: 'fire6/expand1x1', channel: 10 });
      expect(reluProducer(squeeze, 'fire6/concat', c1 + 5)).toEqual({ layer: 'fire6/expand3x3', channel: 5 });
      expect(reluProducer(squeeze, 'fire6/relu_expand3x3', 7)).toEqual({ layer: 'fire6/expand3x3', channel: 7 });
      expect(reluProducer(squeeze, 'fire6/expand3x3', 7)).toBeNull(); // its own ReLU: redirected in place
      expect(reluProducer(squeeze, 'pool5', 3)).toBeNull(); // a max pool is not a copy of one conv's output
      const sctx = { model: squeeze };
      const o = { ...defaultOptions(neuronVis), layer: 'fire6/concat', channel: 10, size: 64, steps: 20, jitter: 4 } as NeuronVisOptions;
      const r = await neuronVis.run(sctx, o);
      expect(r.info.optimizedAt).toMatchObject({ layer: 'fire6/expand1x1', channel: 10 });
      expect(r.loop.first!).toBeLessThan(FLOOR); // silent on the blank start
      expect(r.loop.last!).toBeGreaterThan(GAIN * FLOOR);
      // Without the redirection the unit gets no gradient and stays where it started.
      const stuck = await neuronVis.run(sctx, { ...o, redirectSteps: 0 });
      expect(stuck.info.optimizedAt).toBeUndefined();
      expect(stuck.loop.last!).toBeLessThan(FLOOR);
    } finally {
      squeeze.dispose();
    }
  }, 120_000);
});
