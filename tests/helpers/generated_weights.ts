// Generated weights for a model spec (pretrained AlexNet weights cannot be had on these
// machines), packed as safetensors bytes for loadModel.

import { expectedTensors } from '../../engine/models/load';
import { writeSafetensors } from '../../engine/models/safetensors';
import type { ModelSpec } from '../../engine/models/spec';
import { randomArray } from './random';

/** He-scaled uniform weights (so activations neither vanish nor explode through 8 layers), small biases. */
export function generatedWeights(spec: ModelSpec, seed: number): Map<string, Float32Array> {
  const w = new Map<string, Float32Array>();
  let s = seed;
  for (const l of spec.layers) {
    for (const t of expectedTensors(l)) {
      const count = t.shape.reduce((a, b) => a * b, 1);
      const fanIn = t.name.endsWith('.weight') ? count / t.shape[0] : 1;
      const scale = t.name.endsWith('.weight') ? Math.sqrt(6 / fanIn) : 0.05;
      w.set(t.name, randomArray(count, s++, scale));
    }
  }
  return w;
}

/** The weights as a safetensors file, each tensor with the shape the spec expects. */
export function weightsFile(spec: ModelSpec, weights: Map<string, Float32Array>): Uint8Array {
  const shapeOf = (name: string) => expectedTensors(spec.layers.find((l) => name.startsWith(`${l.name}.`))!).find((t) => t.name === name)!.shape;
  return writeSafetensors([...weights].map(([name, data]) => ({ name, data, shape: shapeOf(name) })));
}
