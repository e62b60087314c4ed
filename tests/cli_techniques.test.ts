// The technique subcommands end to end, as a user runs them (vite-node scripts/cli.ts): files per
// image (<stem>.<technique>.png + views, .npy), summary.json (and exactly it on stdout with --json),
// every PNG a real picture, .npy shapes as the summary says, filters' .npy = the weights in the
// safetensors file, --help per technique, and errors that list the valid choices. TinyVGG (fast).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../engine/display/index';
import { parseSafetensors, readTensorF32 } from '../engine/models/safetensors';
import { cli, ROOT, type Run } from './helpers/cli';
import { EXACT, expectClose } from './helpers/close';

const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const SAMPLES = join(SHARED, 'models', 'tinyvgg', 'samples');
const BOAT = join(SAMPLES, 'boat_1.jpeg');
const KOALA = join(SAMPLES, 'koala_1.jpeg');

interface FileEntry {
  path: string;
  meaning: string;
}
interface Summary {
  technique: string;
  model: string;
  adapter: string;
  options: Record<string, unknown>;
  images: { file?: string; stem: string; files: FileEntry[]; npy: { path: string; shape: number[] }; timings: { runMs: number }; class?: { index: number } }[];
}

/** A real picture: decodes, not blank, not one colour, some spread of brightness. */
function expectRealPicture(path: string): void {
  const png = PNG.sync.read(readFileSync(path));
  expect(png.width * png.height, path).toBeGreaterThan(16);
  const colours = new Set<number>();
  let lo = 255;
  let hi = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    const [r, g, b] = [png.data[i * 4], png.data[i * 4 + 1], png.data[i * 4 + 2]];
    colours.add((r << 16) | (g << 8) | b);
    const l = (r + g + b) / 3;
    lo = Math.min(lo, l);
    hi = Math.max(hi, l);
  }
  expect(colours.size, `${path}: distinct colours`).toBeGreaterThan(8);
  expect(hi - lo, `${path}: brightness range`).toBeGreaterThan(64);
}

const tmp = mkdtempSync(join(tmpdir(), 'cnnvis-cli-tech-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Each run: technique, extra args, images; the npy shape expected per image. */
const RUNS = {
  saliency: { args: ['--score', 'prob'], images: [BOAT, KOALA], shape: [64, 64], views: ['', 'heatmap'] },
  guided: { args: ['--top', '3', '--layer', 'conv_2_1', '--batch', '2'], images: [BOAT], shape: [3, 3, 64, 64], views: [''] },
  activations: { args: ['--layer', 'conv_1_1', '--top', '4'], images: [BOAT], shape: [10, 62, 62], views: [''] },
  filters: { args: [], images: [], shape: [10, 3, 3, 3], views: [''] },
} as const;

/** Every CLI run of this file, started together (most of each is process start and model load). */
const ERRORS = {
  layer: ['activations', '--model', 'tinyvgg', '--out', join(tmp, 'err'), '--layer', 'conv7', BOAT],
  images: ['filters', '--model', 'tinyvgg', '--out', join(tmp, 'err'), BOAT],
  flag: ['saliency', '--model', 'tinyvgg', '--out', join(tmp, 'err'), '--patch', '3', BOAT],
  help: ['guided', '--help'],
  usage: ['--help'],
};
const results = new Map<string, Run>();
beforeAll(async () => {
  const jobs: [string, string[]][] = [
    ...Object.entries(RUNS).map(([t, r]): [string, string[]] => [t, [t, '--model', 'tinyvgg', '--json', '--out', join(tmp, t), ...r.args, ...r.images]]),
    ...Object.entries(ERRORS),
  ];
  const runs = await Promise.all(jobs.map(([, args]) => cli(...args)));
  jobs.forEach(([k], i) => results.set(k, runs[i]));
}, 180_000);

describe('technique subcommands on TinyVGG', () => {
  it.each(Object.keys(RUNS))('%s: --json prints only the summary, which lists every file it wrote', (t) => {
    const r = results.get(t)!;
    const spec = RUNS[t as keyof typeof RUNS];
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s).toEqual(JSON.parse(readFileSync(join(tmp, t, 'summary.json'), 'utf8')));
    expect(s).toMatchObject({ technique: t, model: 'tinyvgg' });
    expect(s.adapter.length).toBeGreaterThan(3);
    expect(s.images).toHaveLength(Math.max(1, spec.images.length));
    for (const [k, img] of s.images.entries()) {
      const stem = spec.images.length ? ['boat_1', 'koala_1'][k] : 'tinyvgg';
      expect(img.stem).toBe(stem);
      const pngs = spec.views.map((v) => join(tmp, t, `${stem}.${t}${v ? `.${v}` : ''}.png`));
      expect(img.files.map((f) => f.path).sort()).toEqual([...pngs, join(tmp, t, `${stem}.${t}.npy`)].sort());
      for (const f of img.files) expect(f.meaning.length, f.path).toBeGreaterThan(10);
      for (const p of pngs) expectRealPicture(p);
      expect(img.npy.shape).toEqual(spec.shape);
      const npy = decodeNpy(readFileSync(img.npy.path));
      expect(npy.shape).toEqual(spec.shape);
      expect(npy.data.some((v) => v !== 0)).toBe(true);
      expect(img.timings.runMs).toBeGreaterThanOrEqual(0);
    }
    expect(r.stderr).toMatch(new RegExp(`${t}: \\[1/`));
  });

  it('saliency: options and per-image classes in the summary (koala is class 5)', () => {
    const s = JSON.parse(results.get('saliency')!.stdout) as Summary;
    expect(s.options).toEqual({ class: '', score: 'prob' });
    expect(s.images[1].class?.index).toBe(5);
  });

  it('filters: the .npy is the first conv layer\'s weights from the safetensors file', () => {
    const st = parseSafetensors(readFileSync(join(ROOT, 'weights', 'tinyvgg', 'weights.safetensors')), 'tinyvgg');
    const npy = decodeNpy(readFileSync(join(tmp, 'filters', 'tinyvgg.filters.npy')));
    expectClose(npy.data, readTensorF32(st, 'conv_1_1.weight'), EXACT, npy.shape, 'filters npy');
  });
});

describe('technique subcommand help and errors', () => {
  it('--help per technique lists its options with defaults and the common flags', () => {
    const r = results.get('help')!;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run --silent cli -- guided --model <name> \[options\] --out <dir> <images\.\.\.>/);
    expect(r.stdout).toMatch(/--rule <guided\|deconvnet\|vanilla>\s+.*\(default: guided\)/);
    expect(r.stdout).toMatch(/--batch <int>\s+.*\(default: 8\)/);
    for (const f of ['--model', '--weights', '--out', '--json', '--preset']) expect(r.stdout).toContain(f);
    const top = results.get('usage')!;
    expect(top.stdout).toMatch(/^Usage: npm run --silent cli -- classify/);
    for (const t of Object.keys(RUNS)) expect(top.stdout).toMatch(new RegExp(`^  ${t} `, 'm'));
  });

  it('a wrong layer fails listing the layers with shapes; filters take no images; unknown flags list the options', () => {
    const [layer, imgs, flag] = ['layer', 'images', 'flag'].map((k) => results.get(k)!);
    expect(layer.code).toBe(1);
    expect(layer.stderr).toMatch(/no layer 'conv7' in model 'tinyvgg'; --layer takes a name or an index: 0 conv_1_1 \(10, 62, 62\)/);
    expect(imgs.code).toBe(1);
    expect(imgs.stderr).toMatch(/filters takes no images/);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/saliency: unknown option --patch \(options: --class, --score\)/);
    expect(existsSync(join(tmp, 'err', 'boat_1.activations.png'))).toBe(false);
  });
});
