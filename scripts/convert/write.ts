// What every converter returns, its final check against the spec, and the writer of
// weights/<model>/{model.json, weights.safetensors}.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../engine/models/safetensors';
import type { ModelSpec } from '../../engine/models/spec';
import { inferShapes, specTensorShapes } from './infer';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface Converted {
  spec: ModelSpec;
  /** In spec order (weight before bias), exactly the tensors `specTensorShapes(spec)` names. */
  tensors: NamedTensor[];
}

export interface WriteSummary {
  dir: string;
  tensors: number;
  params: number;
  bytes: number;
}

const shapeStr = (s: readonly number[]) => `(${s.join(', ')})`;

/** Runs shape inference and checks the tensors are exactly the ones the spec names, in shape. */
export function checkConverted(c: Converted): void {
  const [classes] = inferShapes(c.spec).get(c.spec.logits)!;
  if (c.spec.labels.length !== classes) throw new Error(`model ${c.spec.name}: ${c.spec.labels.length} labels for ${classes} logits ('${c.spec.logits}')`);
  const want = specTensorShapes(c.spec);
  const got = new Map(c.tensors.map((t) => [t.name, t]));
  for (const [name, shape] of want) {
    const t = got.get(name);
    if (!t) throw new Error(`model ${c.spec.name}: tensor '${name}' ${shapeStr(shape)} is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`model ${c.spec.name}: tensor '${name}' has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}`);
    }
    if (t.data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`model ${c.spec.name}: tensor '${name}' holds ${t.data.length} values for ${shapeStr(shape)}`);
  }
  for (const t of c.tensors) if (!want.has(t.name)) throw new Error(`model ${c.spec.name}: tensor '${t.name}' is not used by any layer`);
}

export function writeModel(outRoot: string, c: Converted, opts: { f16?: boolean } = {}): WriteSummary {
  checkConverted(c);
  const dir = join(outRoot, c.spec.name);
  mkdirSync(dir, { recursive: true });
  const bytes = writeSafetensors(c.tensors, { dtype: opts.f16 ? 'F16' : 'F32', metadata: { format: 'cnnvis', model: c.spec.name, source: c.spec.source } });
  writeFileSync(join(dir, 'weights.safetensors'), bytes);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(c.spec, null, 1) + '\n');
  const params = c.tensors.reduce((a, t) => a + t.data.length, 0);
  return { dir, tensors: c.tensors.length, params, bytes: bytes.length };
}
