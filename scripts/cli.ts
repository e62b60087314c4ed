// The command line: classify image files with a converted model, or run a visualization technique
// (engine/techniques/, the machinery in scripts/cli/techniques.ts).
//
//   npm run --silent cli -- classify --model squeezenet1_1 [--top 5] [--json] [--weights DIR] a.jpg b.png
//   npm run --silent cli -- saliency --model squeezenet1_1 --out results/saliency a.jpg
//
// --json prints exactly one JSON line per image on stdout ({"file", "top": [{index, label, prob}]});
// otherwise a small table per image. Errors go to stderr. Images are
// decoded, preprocessed and run through the network BATCH at a time. Any error (unknown model,
// missing weights, missing or undecodable file) is reported on stderr, naming the file, and the exit
// code is 1; the other images are still classified.

import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRuntime, loadModel, type Prediction } from '../engine/index';
import { TECHNIQUES } from '../engine/techniques/index';
import { classifyImages, decodeFile, type DecodedFile } from './batch';
import { MODELS, modelDir as weightsDir, modelName, positiveInt, REPO_ROOT, type ModelName } from './cli/models';
import { runReceptiveField } from './cli/gallery';
import { runTechnique, TECHNIQUE_USAGE } from './cli/techniques';

const BATCH = 8;

const USAGE = `Usage: npm run --silent cli -- classify --model <name> [options] <image files...>

Classify JPEG or PNG images with a pretrained CNN on WebGPU (Dawn in Node; SwiftShader when there
is no GPU: export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json).

Options:
  -m, --model <name>   ${MODELS.join(', ')}
  -k, --top <K>        how many classes to print per image (default 5)
      --json           one JSON line per image: {"file": ..., "top": [{"index", "label", "prob"}]}
      --weights <DIR>  folder of converted models (default weights/); reads DIR/<model>/model.json
      --batch <N>      images per forward pass (default ${BATCH})
  -h, --help           this text

Weights: \`npm run weights\` converts squeezenet1_1, googlenet and tinyvgg from ../shared;
AlexNet needs \`npm run weights -- --download alexnet\`; alexnet_caffe needs BVLC AlexNet weights
converted elsewhere into weights/alexnet_caffe/.

${TECHNIQUE_USAGE}`;

interface ClassifyArgs {
  model: ModelName;
  top: number;
  json: boolean;
  weights: string;
  batch: number;
  files: string[];
}

/** Parse `classify ...` arguments; returns null for --help. */
function parseArgs(argv: readonly string[]): ClassifyArgs | null {
  if (argv.length === 0 || argv.includes('-h') || argv.includes('--help') || argv[0] === 'help') return null;
  const [command, ...rest] = argv;
  if (command !== 'classify') throw new Error(`unknown command '${command}' (commands: classify, ${TECHNIQUES.map((t) => t.name).join(', ')}; see --help)`);
  let model: string | undefined;
  const out: Omit<ClassifyArgs, 'model'> = { top: 5, json: false, weights: join(REPO_ROOT, 'weights'), batch: BATCH, files: [] };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      if (i + 1 >= rest.length) throw new Error(`${a} needs a value`);
      return rest[++i];
    };
    if (a === '--model' || a === '-m') model = value();
    else if (a === '--top' || a === '-k') out.top = positiveInt(a, value());
    else if (a === '--json') out.json = true;
    else if (a === '--weights') out.weights = resolve(value());
    else if (a === '--batch') out.batch = positiveInt(a, value());
    else if (a.startsWith('-') && a !== '-') throw new Error(`unknown option '${a}' (see --help)`);
    else out.files.push(a);
  }
  const name = modelName(model);
  if (out.files.length === 0) throw new Error('no image files given');
  return { model: name, ...out };
}

/** The folder holding the model's model.json, or an error saying how to produce it. */
function modelDir(args: ClassifyArgs): string {
  return weightsDir(args.weights, args.model);
}

function printTable(file: string, model: string, top: Prediction[]): void {
  const lines = [`${file}  (${model})`, '   #  class     prob  label'];
  top.forEach((p, i) => {
    lines.push(`  ${String(i + 1).padStart(2)}  ${String(p.index).padStart(5)}  ${(p.prob * 100).toFixed(2).padStart(6)}%  ${p.label}`);
  });
  console.log(lines.join('\n') + '\n');
}

async function classify(args: ClassifyArgs): Promise<number> {
  let failures = 0;
  const fail = (msg: string) => {
    failures++;
    console.error(`cli: ${msg}`);
  };
  const files = args.files.filter((f) => {
    if (!existsSync(f) || !statSync(f).isFile()) {
      fail(`${f}: no such file`);
      return false;
    }
    return true;
  });
  if (files.length === 0) return 1;
  const dir = modelDir(args);
  const rt = await createRuntime();
  try {
    const model = await loadModel(rt, dir);
    for (let i = 0; i < files.length; i += args.batch) {
      const batch: DecodedFile[] = [];
      for (const f of files.slice(i, i + args.batch)) {
        try {
          batch.push(await decodeFile(f));
        } catch (e) {
          fail(e instanceof Error ? e.message : String(e));
        }
      }
      if (batch.length === 0) continue;
      const tops = await classifyImages(model, batch, args.top);
      batch.forEach((d, j) => {
        if (args.json) console.log(JSON.stringify({ file: d.file, top: tops[j] }));
        else printTable(d.file, args.model, tops[j]);
      });
    }
    model.dispose();
  } finally {
    rt.destroy();
  }
  return failures > 0 ? 1 : 0;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    if (argv[0] === 'receptive-field') return runReceptiveField(argv.slice(1));
    const technique = TECHNIQUES.find((t) => t.name === argv[0]);
    if (technique) return await runTechnique(technique, argv.slice(1));
    const args = parseArgs(argv);
    if (!args) {
      console.log(USAGE);
      return 0;
    }
    return await classify(args);
  } catch (e) {
    console.error(`cli: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
