// torchvision AlexNet state dict (.pth) -> weights/alexnet. The spec's layer names are
// torchvision's module paths, so key `features.0.weight` is tensor `features.0.weight`; conv
// weights are already OIHW and linear weights (out, in) over torch.flatten(x, 1) of an NCHW map,
// which is the engine's flatten order. Every key is checked against the spec's shapes.

import { readFileSync } from 'node:fs';
import { alexnetTorchvisionSpec } from '../../engine/models/alexnet';
import { specTensorShapes } from './infer';
import { readTorchStateDict, tensorF32 } from './torch_pth';
import { checkConverted, type Converted, type NamedTensor } from './write';

const shapeStr = (s: readonly number[]) => `(${s.join(', ')})`;

export function convertAlexnetTorch(pthPath: string, labels: string[], bytes: Uint8Array = readFileSync(pthPath)): Converted {
  const spec = alexnetTorchvisionSpec(labels);
  const sd = readTorchStateDict(bytes, pthPath);
  const want = specTensorShapes(spec);
  const missing = [...want.keys()].filter((k) => !sd.has(k));
  const extra = [...sd.keys()].filter((k) => !want.has(k));
  if (missing.length || extra.length) {
    throw new Error(
      `alexnet ${pthPath}: not a torchvision AlexNet state dict:` +
        (missing.length ? ` missing keys ${missing.join(', ')};` : '') +
        (extra.length ? ` unexpected keys ${extra.slice(0, 8).join(', ')}${extra.length > 8 ? ` (+${extra.length - 8} more)` : ''}` : ''),
    );
  }
  const tensors: NamedTensor[] = [];
  for (const [key, shape] of want) {
    const t = sd.get(key)!;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`alexnet ${pthPath}: key '${key}' has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}`);
    }
    tensors.push({ name: key, shape, data: tensorF32(t, pthPath) });
  }
  const out = { spec, tensors };
  checkConverted(out);
  return out;
}
