// AlexNet in both forms (torchvision and the original Caffe one with groups and LRN) on the GPU,
// with generated weights (pretrained AlexNet weights cannot be had on these machines): the
// probabilities and a guided-backprop gradient agree with the float64 network reference.

import { describe, expect, it } from 'vitest';
import { alexnetCaffeSpec, alexnetTorchvisionSpec } from '../engine/models/alexnet';
import { loadModel } from '../engine/models/load';
import { Tensor } from '../engine/tensor';
import { expectClose, GRAD_TOL } from './helpers/close';
import { generatedWeights, weightsFile } from './helpers/generated_weights';
import { gpu, track } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { networkBackward, networkForward } from './reference/network';

const PROB_TOL = { atol: 1e-4, rtol: 0 };
const labels = Array.from({ length: 1000 }, (_, i) => `class ${i}`);

describe.each([
  ['torchvision', alexnetTorchvisionSpec(labels)],
  ['caffe', alexnetCaffeSpec(labels)],
] as const)('AlexNet (%s form) with generated weights', (_form, spec) => {
  it('matches the float64 reference: probabilities, top-1, and a guided backprop gradient', async () => {
    const rt = await gpu();
    const weights = generatedWeights(spec, 100);
    const bytes = weightsFile(spec, weights);
    const model = await loadModel(rt, { spec, weights: bytes, file: `generated ${spec.name}` });
    try {
      const { height, width } = spec.input;
      const input = randomArray(3 * height * width, 7, 2);
      const x = track(Tensor.fromData(rt, input, [1, 3, height, width], 'image'));
      const top = await model.classify(x, 5);
      const probLayer = spec.layers[spec.layers.length - 1];
      const ref = networkForward(spec, weights, input, 1);
      const refLogits = ref.acts.get(spec.logits)!.data;
      // The probabilities (softmax of the logits) as the model reports them.
      const m = Math.max(...refLogits);
      const e = Array.from(refLogits, (v) => Math.exp(v - m));
      const z = e.reduce((a, b) => a + b, 0);
      const refProb = e.map((v) => v / z);
      const refTop = refProb.indexOf(Math.max(...refProb));
      expect(top[0][0].index).toBe(refTop);
      // Logits relative to their largest magnitude (the probabilities alone could be near-uniform).
      const logitScale = refLogits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(logitScale).toBeGreaterThan(1);
      const gotLogits = await model.readActivation(spec.logits);
      expectClose(gotLogits.map((v) => v / logitScale), refLogits.map((v) => v / logitScale), { atol: 1e-5, rtol: 1e-4 }, [1000], `${spec.name} logits (scaled)`);
      expectClose(top[0].map((p) => p.prob), top[0].map((p) => refProb[p.index]), PROB_TOL, [5], `${spec.name} top-5 prob`);
      if (probLayer.type === 'softmax') expectClose(await model.readActivation(probLayer.name), refProb, PROB_TOL, [1000], `${spec.name} prob`);

      // Guided backprop of the top class to the image.
      const g = track(model.backward({ kind: 'class', index: refTop }, { rule: 'guided' }));
      const seed = new Float64Array(1000);
      seed[refTop] = 1;
      const refGrad = networkBackward(spec, weights, ref, spec.logits, seed, 'guided');
      const got = await g.read();
      const scale = refGrad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(0);
      expectClose(got.map((v) => v / scale), refGrad.map((v) => v / scale), GRAD_TOL, g.shape, `${spec.name} guided grad (scaled)`);
    } finally {
      model.dispose();
    }
  }, 300_000);
});
