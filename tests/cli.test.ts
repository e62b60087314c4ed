// The command line end to end, as a user runs it (vite-node scripts/cli.ts, i.e. `npm run cli`):
// arguments, --json lines on stdout and nothing else there, the human table, batching, and errors
// on stderr with exit code 1 naming the culprit. Classification runs squeezenet1_1 on real images.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers/cli';
import { expectClose } from './helpers/close';

const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const IMAGES = join(SHARED, 'images', 'imagenet-samples');
/** Sample images with their ILSVRC class index (imagenet-samples.tsv). */
const GOLDFISH = { file: join(IMAGES, 'n01443537_goldfish.JPEG'), index: 1 };
const ZEBRA = { file: join(IMAGES, 'n02391049_zebra.JPEG'), index: 340 };
const BOAT = join(SHARED, 'models', 'tinyvgg', 'samples', 'boat_1.jpeg');
const TINY = ['koala_1.jpeg', 'pizza_2.jpeg', 'bus_1.jpeg'];
/** Batched and one-at-a-time runs do the same float32 arithmetic per sample. */
const BATCH_TOL = { atol: 1e-6, rtol: 1e-5 };

interface Line {
  file: string;
  top: { index: number; label: string; prob: number }[];
}

function jsonLines(stdout: string): Line[] {
  return stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cnnvis-cli-'));
  const weights = join(ROOT, 'weights', 'squeezenet1_1', 'weights.safetensors');
  if (!existsSync(weights)) throw new Error(`cli test: ${weights} is missing: run \`npm run weights\` first`);
  if (!existsSync(GOLDFISH.file)) throw new Error(`cli test: ${GOLDFISH.file} is missing (set CNNVIS_SHARED to the shared data folder)`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Each case is its own process, mostly start-up time: run them side by side.
describe.concurrent('cli arguments and errors', () => {
  it('--help prints the usage and every model, exit 0', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run --silent cli -- classify --model <name>/);
    for (const m of ['squeezenet1_1', 'googlenet', 'tinyvgg', 'alexnet', 'alexnet_caffe', '--top', '--json', '--weights']) expect(r.stdout).toContain(m);
  });

  it.each([
    [['classify', '--model', 'resnet50', 'a.jpg'], /unknown model 'resnet50' \(known: squeezenet1_1, googlenet, tinyvgg, alexnet, alexnet_caffe\)/],
    [['classify', 'a.jpg'], /--model is required/],
    [['classify', '--model', 'googlenet'], /no image files given/],
    [['classify', '--model', 'googlenet', '--top', '0', 'a.jpg'], /--top needs a positive integer, got 0/],
    [['classify', '--model', 'googlenet', '--frobnicate', 'a.jpg'], /unknown option '--frobnicate'/],
    [['identify', 'a.jpg'], /unknown command 'identify'/],
  ])('%j fails with a clear message', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('names a missing file and exits 1', async () => {
    const missing = join(tmp, 'no-such-image.jpg');
    const r = await cli('classify', '--model', 'squeezenet1_1', missing);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${missing}: no such file`);
  });

  it.each([
    ['squeezenet1_1', 'run `npm run weights`'],
    ['alexnet', 'run `npm run weights -- --download alexnet`'],
  ])('without converted %s weights, says which command makes them', async (model, command) => {
    const r = await cli('classify', '--model', model, '--weights', tmp, GOLDFISH.file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no converted weights for ${model} in ${join(tmp, model)}`);
    expect(r.stderr).toContain(command);
  });
});

describe('cli classify', () => {
  it('--json prints exactly one JSON line per image; a corrupt image is named on stderr, exit 1', async () => {
    const corrupt = join(tmp, 'corrupt.jpg');
    writeFileSync(corrupt, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]));
    const r = await cli('classify', '--model', 'squeezenet1_1', '--json', '--top', '3', GOLDFISH.file, corrupt, ZEBRA.file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${corrupt}: cannot decode image`);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.file)).toEqual([GOLDFISH.file, ZEBRA.file]);
    lines.forEach((l, i) => {
      expect(Object.keys(l)).toEqual(['file', 'top']);
      expect(l.top).toHaveLength(3);
      expect(l.top[0].index).toBe([GOLDFISH, ZEBRA][i].index);
      for (let j = 1; j < 3; j++) expect(l.top[j].prob).toBeLessThanOrEqual(l.top[j - 1].prob);
      expect(l.top.reduce((a, p) => a + p.prob, 0)).toBeLessThanOrEqual(1 + 1e-6);
    });
    expect(lines.map((l) => l.top[0].label)).toEqual(['goldfish, Carassius auratus', 'zebra']);
  });

  it('one image at a time gives the same answers as a batch (tinyvgg)', async () => {
    const files = TINY.map((f) => join(SHARED, 'models', 'tinyvgg', 'samples', f));
    const [batch, single] = await Promise.all([
      cli('classify', '--model', 'tinyvgg', '--json', '--top', '10', '--batch', '3', ...files),
      cli('classify', '--model', 'tinyvgg', '--json', '--top', '10', '--batch', '1', ...files),
    ]);
    expect(batch.code, batch.stderr).toBe(0);
    expect(single.code, single.stderr).toBe(0);
    const a = jsonLines(batch.stdout);
    const b = jsonLines(single.stdout);
    expect(a.map((l) => l.file)).toEqual(files);
    expect(b.map((l) => l.top.map((p) => p.index))).toEqual(a.map((l) => l.top.map((p) => p.index)));
    expectClose(b.flatMap((l) => l.top.map((p) => p.prob)), a.flatMap((l) => l.top.map((p) => p.prob)), BATCH_TOL, undefined, 'single vs batched probs');
    // All 10 classes: the probabilities of each image sum to 1.
    for (const l of a) expect(l.top.reduce((t, p) => t + p.prob, 0)).toBeCloseTo(1, 5);
  });

  it('prints a table by default (tinyvgg)', async () => {
    const r = await cli('classify', '--model', 'tinyvgg', '--top', '2', BOAT);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toBe(`${BOAT}  (tinyvgg)`);
    expect(rows[1]).toMatch(/#\s+class\s+prob\s+label/);
    expect(rows).toHaveLength(4);
    expect(rows[2]).toMatch(/^\s+1\s+0\s+\d+\.\d\d%\s+lifeboat$/);
  });
});
