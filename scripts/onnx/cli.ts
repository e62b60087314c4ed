// `npm run --silent onnx -- --model <name> [--out DIR] [--weights DIR] [--batch N]`: write a
// converted model (weights/<name>/model.json + weights.safetensors) as <out>/<name>.onnx
// (export.ts), the file the browser benchmark's ONNX Runtime Web rows run.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSpec } from '../../engine/models/spec';
import { modelDir, modelName, positiveInt, REPO_ROOT } from '../cli/models';
import { exportOnnx, OPSET } from './export';

export const ONNX_USAGE = `usage: npm run --silent onnx -- --model <name> [--out DIR] [--weights DIR] [--batch N]
  --model NAME    squeezenet1_1, googlenet, tinyvgg, alexnet, alexnet_caffe (converted weights needed)
  --out DIR       where <name>.onnx goes (default results/onnx)
  --weights DIR   converted weights (default weights)
  --batch N       a fixed batch size (default: symbolic 'N')
Writes an ONNX model (opset ${OPSET}) with the same weights; input and outputs as the summary line says.`;

const FLAGS = ['--model', '--out', '--weights', '--batch'];

/** Parse and run; returns the file written. Errors are thrown with the usage where the arguments are wrong. */
export function runOnnxCli(argv: readonly string[], log: (s: string) => void = console.log): string {
  if (argv.includes('--help') || argv.includes('-h')) {
    log(ONNX_USAGE);
    return '';
  }
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    if (!FLAGS.includes(argv[i])) throw new Error(`unknown argument '${argv[i]}' (options: ${FLAGS.join(', ')})\n${ONNX_USAGE}`);
    if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value\n${ONNX_USAGE}`);
    opts.set(argv[i], argv[i + 1]);
  }
  const model = modelName(opts.get('--model'));
  const dir = modelDir(opts.get('--weights') ?? join(REPO_ROOT, 'weights'), model);
  const batch = opts.has('--batch') ? positiveInt('--batch', opts.get('--batch')) : undefined;
  const spec = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelSpec;
  const weightsFile = join(dir, 'weights.safetensors');
  const out = exportOnnx(spec, new Uint8Array(readFileSync(weightsFile)), { batch, file: weightsFile });
  const outDir = opts.get('--out') ?? join(REPO_ROOT, 'results', 'onnx');
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `${model}.onnx`);
  writeFileSync(path, out.bytes);
  const shape = (v: { name: string; shape: (number | string)[] }) => `${v.name} (${v.shape.join(', ')})`;
  const nodes = Object.values(out.ops).reduce((a, b) => a + b, 0);
  log(`wrote ${path} (${(out.bytes.length / 1e6).toFixed(1)} MB, opset ${OPSET}): ${nodes} nodes (${Object.entries(out.ops).map(([k, v]) => `${k} ${v}`).join(', ')}); ` +
    `input ${shape(out.input)}; outputs ${out.outputs.map(shape).join(', ')}`);
  return path;
}
