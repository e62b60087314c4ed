// npm run weights -- [--shared ../shared] [--out weights] [--f16] [--only name[,name]]
//                    [--pth PATH] [--labels PATH] [--download alexnet] [--url URL] [--timeout S]
//
// Converts every model under <shared>/models into <out>/<model>/{model.json, weights.safetensors}:
// Caffe folders (deploy.prototxt + weights/) and TF.js layers models (model.json). AlexNet comes
// from torchvision's alexnet-owt-7be5be79.pth: --pth PATH, or <out>/alexnet-owt-7be5be79.pth when
// present, or --download alexnet to fetch it first (fails within --timeout seconds, default 15,
// when offline). Prints one line per model; exits 1 on any error.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertAlexnetTorch } from './convert/alexnet';
import { convertCaffe, readSynsetWords } from './convert/caffe';
import { ALEXNET_FILE, ALEXNET_URL, download } from './convert/download';
import { convertTfjs } from './convert/tfjs';
import { type Converted, writeModel } from './convert/write';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  shared: string;
  out: string;
  f16: boolean;
  only: string[] | null;
  pth: string | null;
  labels: string | null;
  download: string | null;
  url: string;
  timeoutS: number;
}

const USAGE = 'usage: npm run weights -- [--shared DIR] [--out DIR] [--f16] [--only NAME[,NAME]] [--pth FILE] [--labels FILE] [--download alexnet] [--url URL] [--timeout SECONDS]';

function parseArgs(argv: string[]): Options {
  const o: Options = { shared: resolve(ROOT, '../shared'), out: resolve(ROOT, 'weights'), f16: false, only: null, pth: null, labels: null, download: null, url: ALEXNET_URL, timeoutS: 15 };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    switch (a) {
      case '--shared': o.shared = resolve(value()); break;
      case '--out': o.out = resolve(value()); break;
      case '--f16': o.f16 = true; break;
      case '--only': o.only = [...(o.only ?? []), ...value().split(',')]; break;
      case '--pth': o.pth = resolve(value()); break;
      case '--labels': o.labels = resolve(value()); break;
      case '--download': o.download = value(); break;
      case '--url': o.url = value(); break;
      case '--timeout': o.timeoutS = Number(value()); break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown argument '${a}'\n${USAGE}`);
    }
  }
  if (o.download !== null && o.download !== 'alexnet') throw new Error(`--download: only 'alexnet' can be downloaded, got '${o.download}'`);
  if (!(o.timeoutS > 0)) throw new Error('--timeout must be a positive number of seconds');
  return o;
}

const fmt = (n: number) => n.toLocaleString('en-US');

function alexnetLabels(o: Options, modelsDir: string): string[] {
  if (o.labels) return readSynsetWords(o.labels);
  for (const m of existsSync(modelsDir) ? readdirSync(modelsDir).sort() : []) {
    const p = join(modelsDir, m, 'labels', 'synset_words.txt');
    if (existsSync(p)) return readSynsetWords(p);
  }
  throw new Error(`alexnet: no ImageNet labels (looked for ${modelsDir}/*/labels/synset_words.txt); pass --labels synset_words.txt`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const wanted = (name: string) => !o.only || o.only.includes(name);
  const modelsDir = join(o.shared, 'models');
  const jobs: [string, () => Converted][] = [];

  if (existsSync(modelsDir)) {
    for (const m of readdirSync(modelsDir).sort()) {
      const dir = join(modelsDir, m);
      if (!wanted(m)) continue;
      if (existsSync(join(dir, 'deploy.prototxt')) && existsSync(join(dir, 'weights'))) jobs.push([m, () => convertCaffe(dir, m)]);
      else if (existsSync(join(dir, 'model.json'))) jobs.push([m, () => convertTfjs(join(dir, 'model.json'), m)]);
    }
  } else if (!o.only || o.only.some((n) => n !== 'alexnet')) {
    throw new Error(`no models folder at ${modelsDir}; pass --shared DIR`);
  }

  if (o.download === 'alexnet') {
    const dest = join(o.out, ALEXNET_FILE);
    console.log(`downloading ${o.url} -> ${relative(process.cwd(), dest)}`);
    try {
      await download(o.url, dest, { timeoutMs: o.timeoutS * 1000, sha256Prefix: o.url === ALEXNET_URL ? '7be5be79' : undefined, log: console.log });
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n` +
          `This machine may have no internet access. Download ${ALEXNET_FILE} elsewhere (${ALEXNET_URL}),\n` +
          `copy it here and run: npm run weights -- --only alexnet --pth /path/to/${ALEXNET_FILE}`,
      );
    }
    o.pth ??= dest;
  }
  const pth = o.pth ?? (existsSync(join(o.out, ALEXNET_FILE)) ? join(o.out, ALEXNET_FILE) : null);
  if (pth && wanted('alexnet')) {
    if (!existsSync(pth)) throw new Error(`alexnet: ${pth} does not exist`);
    jobs.push(['alexnet', () => convertAlexnetTorch(pth, alexnetLabels(o, modelsDir))]);
  } else if (o.only?.includes('alexnet')) {
    throw new Error(`alexnet: no ${ALEXNET_FILE} in ${o.out}; pass --pth FILE or --download alexnet`);
  }

  const missing = o.only?.filter((n) => !jobs.some(([m]) => m === n)) ?? [];
  if (missing.length) throw new Error(`--only: no model named ${missing.join(', ')} under ${modelsDir}`);
  if (!jobs.length) throw new Error(`nothing to convert under ${modelsDir}`);

  for (const [name, convert] of jobs) {
    const t0 = performance.now();
    const s = writeModel(o.out, convert(), { f16: o.f16 });
    const ms = performance.now() - t0;
    console.log(`${name}: ${s.tensors} tensors, ${fmt(s.params)} params, ${fmt(s.bytes)} bytes (${o.f16 ? 'F16' : 'F32'}) -> ${relative(process.cwd(), s.dir) || '.'} in ${(ms / 1000).toFixed(1)} s`);
  }
}

main().catch((e: Error) => {
  console.error(`weights: ${e.message}`);
  process.exit(1);
});
