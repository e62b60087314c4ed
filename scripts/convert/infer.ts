// Shape inference for the converters, from the engine's one implementation
// (engine/models/shapes.ts): per-layer output shapes (C, H, W) check the graph (channel counts,
// linear in-features, concat sizes), and `specTensorShapes` gives the shape every stored tensor
// must have. Here the spec must also list its layers in order (each reads only earlier layers).

import { expectedTensors, inferShapes as engineInferShapes, type Chw } from '../../engine/models/shapes';
import type { ModelSpec } from '../../engine/models/spec';

export { layerShape, type Chw } from '../../engine/models/shapes';

/** Output shape (C, H, W) of every layer, the input included, in spec order. */
export function inferShapes(spec: ModelSpec): Map<string, Chw> {
  const seen = new Set([spec.input.name]);
  for (const l of spec.layers) {
    if (seen.has(l.name)) throw new Error(`model ${spec.name}: duplicate layer name '${l.name}'`);
    const early = l.inputs.find((i) => !seen.has(i));
    if (early !== undefined) throw new Error(`model ${spec.name}: layer '${l.name}' reads '${early}', which is not an earlier layer`);
    seen.add(l.name);
  }
  if (!seen.has(spec.logits)) throw new Error(`model ${spec.name}: logits layer '${spec.logits}' does not exist`);
  return engineInferShapes(spec, spec.layers, `model ${spec.name}`);
}

/** Name -> shape of every tensor the spec needs, in layer order (weight before bias). */
export function specTensorShapes(spec: ModelSpec): Map<string, number[]> {
  return new Map(spec.layers.flatMap(expectedTensors).map((t) => [t.name, t.shape]));
}

export function countParams(spec: ModelSpec): number {
  let n = 0;
  for (const s of specTensorShapes(spec).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}
