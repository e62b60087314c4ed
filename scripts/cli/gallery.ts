// The gallery techniques' own command-line parts.
//
//   npm run --silent cli -- receptive-field --model <name> [--size N] [--json] [--weights DIR]
//
// receptive-field needs only the graph: it reads weights/<model>/model.json, or for alexnet /
// alexnet_caffe without converted weights the built-in specs (engine/models/alexnet.ts). It prints
// a table, or with --json one line {"model", "input": [H, W], "layers": [{"name", "type",
// "channels": [c0, c1), "size", "stride", "start"}]} (a number per value, or [y, x] when the axes
// differ). No GPU is used.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { alexnetCaffeSpec, alexnetTorchvisionSpec } from '../../engine/models/alexnet';
import type { ModelSpec } from '../../engine/models/spec';
import { fieldRows, fieldTable, receptiveField, receptiveFields } from '../../engine/techniques/receptive_field';
import { modelName, positiveInt, REPO_ROOT, type ModelName } from './models';
import { techniqueHelp } from './techniques';

/** The model's spec from its converted folder, or the built-in AlexNet specs. */
function loadSpec(weights: string, model: ModelName): ModelSpec {
  const path = join(weights, model, 'model.json');
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as ModelSpec;
  if (model === 'alexnet') return alexnetTorchvisionSpec([]);
  if (model === 'alexnet_caffe') return alexnetCaffeSpec([]);
  throw new Error(`receptive-field: no ${path}; run \`npm run weights\``);
}

/** `receptive-field ...`; returns the exit code. */
export function runReceptiveField(argv: readonly string[]): number {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(techniqueHelp(receptiveField).replace(/\nWrites [\s\S]*$/, '\nPrints a table, or with --json one line {"model", "input", "layers": [{"name", "type", "channels", "size", "stride", "start"}]}.'));
    return 0;
  }
  let model: string | undefined;
  let weights = join(REPO_ROOT, 'weights');
  let json = false;
  let size = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`receptive-field: ${a} needs a value`);
      return argv[++i];
    };
    if (a === '--model' || a === '-m') model = value();
    else if (a === '--weights') weights = resolve(value());
    else if (a === '--json') json = true;
    else if (a === '--size') size = positiveInt('--size', value());
    else throw new Error(`receptive-field: unknown argument '${a}' (options: --model, --size, --json, --weights)`);
  }
  const spec = loadSpec(weights, modelName(model));
  const [height, width] = size > 0 ? [size, size] : [spec.input.height, spec.input.width];
  const layers = receptiveFields(spec, { height, width });
  if (json) console.log(JSON.stringify({ model: spec.name, input: [height, width], layers: fieldRows(layers) }));
  else console.log(`${spec.name}, input ${height}x${width}; size, stride and start (centre of unit 0's field) in input pixels; channels c0-c1 inclusive\n${fieldTable(layers)}`);
  return 0;
}
