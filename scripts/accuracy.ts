// ImageNet accuracy on the 1000 shared sample images (one per class, 256x256 JPEG):
//
//   npm run accuracy -- --model squeezenet1_1 [--limit N] [--batch 8] [--weights DIR]
//
// Each image goes through the model's own preprocessing (resize the short side, center crop to the
// input size: 256x256 -> 227x227 or 224x224), one batched forward pass per --batch images, and
// counts toward top-1 / top-5 against imagenet-samples.tsv's class_index. Progress goes to stderr;
// the summary to stdout and, with every image's top-5, to results/accuracy-<model>.json.
// The shared folder is CNNVIS_SHARED (default ../shared).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, loadModel } from '../engine/index';
import { classifyImages, decodeFile, type DecodedFile } from './batch';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const SHARED = resolve(REPO_ROOT, process.env.CNNVIS_SHARED ?? '../shared');

interface Options {
  model: string;
  limit: number;
  batch: number;
  weights: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { model: 'squeezenet1_1', limit: Infinity, batch: 8, weights: join(REPO_ROOT, 'weights') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    const int = () => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer, got ${v}`);
      return n;
    };
    if (a === '--model') o.model = v;
    else if (a === '--limit') o.limit = int();
    else if (a === '--batch') o.batch = int();
    else if (a === '--weights') o.weights = resolve(v);
    else throw new Error(`unknown argument '${a}' (usage: npm run accuracy -- --model <name> [--limit N] [--batch N] [--weights DIR])`);
  }
  if (o.model === 'tinyvgg') throw new Error('tinyvgg has 10 classes, not ImageNet\'s 1000: pick an ImageNet model');
  return o;
}

interface Sample {
  file: string;
  classIndex: number;
  className: string;
}

function readSamples(): Sample[] {
  const tsv = join(SHARED, 'images', 'imagenet-samples.tsv');
  const [header, ...rows] = readFileSync(tsv, 'utf8').trim().split('\n');
  if (header.split('\t').join(',') !== 'file,synset,class_index,class_name') throw new Error(`${tsv}: unexpected header '${header}'`);
  return rows.map((r) => {
    const [file, , idx, className] = r.split('\t');
    return { file: join(SHARED, 'images', 'imagenet-samples', file), classIndex: Number(idx), className };
  });
}

const pct = (n: number, d: number) => `${((100 * n) / Math.max(d, 1)).toFixed(1)}%`;

function duration(s: number): string {
  return s >= 90 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const samples = readSamples().slice(0, o.limit);
  const rt = await createRuntime();
  try {
    const model = await loadModel(rt, join(o.weights, o.model));
    const results: { file: string; classIndex: number; top5: number[]; prob: number[] }[] = [];
    let top1 = 0;
    let top5 = 0;
    const t0 = performance.now();
    for (let i = 0; i < samples.length; i += o.batch) {
      const chunk = samples.slice(i, i + o.batch);
      const images: DecodedFile[] = [];
      for (const s of chunk) images.push(await decodeFile(s.file));
      const tops = await classifyImages(model, images, 5);
      chunk.forEach((s, j) => {
        const idx = tops[j].map((p) => p.index);
        if (idx[0] === s.classIndex) top1++;
        if (idx.includes(s.classIndex)) top5++;
        results.push({ file: s.file.split('/').pop()!, classIndex: s.classIndex, top5: idx, prob: tops[j].map((p) => p.prob) });
      });
      const done = results.length;
      const secs = (performance.now() - t0) / 1000;
      const eta = (secs / done) * (samples.length - done);
      console.error(`[${String(done).padStart(4)}/${samples.length}] top-1 ${pct(top1, done)}  top-5 ${pct(top5, done)}  ${(done / secs).toFixed(2)} img/s  eta ${duration(eta)}`);
    }
    model.dispose();
    const seconds = (performance.now() - t0) / 1000;
    const summary = {
      model: o.model,
      images: results.length,
      top1: top1 / results.length,
      top5: top5 / results.length,
      adapter: rt.describe(),
      seconds: Math.round(seconds),
      date: new Date().toISOString(),
    };
    mkdirSync(join(REPO_ROOT, 'results'), { recursive: true });
    const out = join(REPO_ROOT, 'results', `accuracy-${o.model}.json`);
    writeFileSync(out, JSON.stringify({ ...summary, results }, null, 1) + '\n');
    console.log(`${o.model}: top-1 ${pct(top1, results.length)}, top-5 ${pct(top5, results.length)} on ${results.length} images (${duration(seconds)}, ${summary.adapter}); wrote ${out}`);
  } finally {
    rt.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(`accuracy: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
