// Smoke run of `npm run bench:browser` at a tiny size: headless Chromium (WebGPU on SwiftShader),
// one quick conv layer (both variants), one ReLU and TinyVGG, forward and backward, and two
// technique rows on TinyVGG (saliency, one class-vis loop), our engine beside TF.js's WebGPU
// backend in the same page. Checks the JSON it writes: adapter, browser, every row with positive
// ms for both engines and a sane ratio. Plus the Node-side case lists.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../scripts/bench/args';
import { browserCases, opId } from '../scripts/bench/browser/cases';
import { techniqueCases } from '../scripts/bench/browser/technique_cases';
import { runBrowserBench } from '../scripts/bench/browser/run';
import type { BrowserRow } from '../scripts/bench/browser/types';
import { REPO_ROOT, requireChromium } from './helpers/browser';

const SHARED = join(REPO_ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const WEIGHTS = join(REPO_ROOT, 'weights');
/** TF.js ms / our ms outside this range means a clock or a unit is wrong, not a slow kernel. */
const SANE_RATIO = { min: 1e-3, max: 1e3 };
/** ORT's logits (WebGPU EP, float32) vs ours for the same input, relative to the largest logit. */
const ORT_LOGITS_TOL = { atol: 1e-4, rtol: 1e-4 };
const ORT_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['onnxruntime-web'];

describe('bench:browser cases (Node side)', () => {
  it('lists every op family at real shapes, and --quick keeps the smallest of each', () => {
    const all = browserCases({ quick: false, batch: 8, weightsDir: WEIGHTS, sharedDir: SHARED });
    const families = new Set(all.ops.map((o) => o.family));
    expect([...families].sort()).toEqual(['avgpool', 'concat', 'lrn', 'maxpool', 'relu', 'softmax']);
    const pool1 = all.ops.find((o) => opId(o) === 'squeezenet/pool1');
    expect(pool1).toMatchObject({ family: 'maxpool', inputs: [[64, 113, 113]], output: [64, 56, 56], ceil: true });
    expect(all.networks.map((n) => n.dir)).toEqual(expect.arrayContaining(['squeezenet1_1', 'googlenet']));
    expect(all.networks.every((n) => n.batches.join() === '1,8' && n.flopsPerImage > 1e8)).toBe(true);
    const quick = browserCases({ quick: true, batch: 8, weightsDir: WEIGHTS, sharedDir: SHARED });
    expect(quick.ops.length).toBe(families.size);
    expect(quick.networks.map((n) => n.dir)).toEqual(['squeezenet1_1']);
  });

  it('technique rows: the Node technique bench\'s networks, sizes and names; --filter by id or group', () => {
    const sel = (...argv: string[]) => techniqueCases({ ...parseArgs(argv), weightsDir: WEIGHTS });
    const at = (cs: ReturnType<typeof sel>) => cs.map((c) => `${c.network} ${c.group} ${c.size}`);
    const quick = sel('--quick');
    expect(at(quick)).toEqual(['tinyvgg attribution 64', 'tinyvgg optimization 64']);
    expect(quick[0].items).toEqual(['saliency', 'guided', 'gradcam', 'occlusion 2x2', 'smoothgrad n=4', 'ig m=4']);
    expect(quick[1].items).toEqual(['class-vis (pixel)', 'neuron-vis (pixel)', 'neuron-vis (fourier)', 'fool (pixel)', 'deepdream (pixel)', 'invert (pixel)', 'style (pixel)']);
    expect(at(sel('--model', 'squeezenet'))).toEqual(['squeezenet1_1 attribution 227', 'squeezenet1_1 optimization 128', 'squeezenet1_1 optimization 227']);
    expect(sel('--model', 'squeezenet')[0].items).toContain('smoothgrad n=16');
    // --quick naming a network without quick sizes: its attribution size, its smallest loop size, the quick counts.
    expect(at(sel('--quick', '--model', 'squeezenet'))).toEqual(['squeezenet1_1 attribution 227', 'squeezenet1_1 optimization 128']);
    expect(sel('--quick', '--model', 'squeezenet')[0].items).toContain('smoothgrad n=4');
    expect(sel('--quick', '--filter', 'technique').flatMap((c) => c.items)).toHaveLength(13);
    expect(sel('--quick', '--filter', 'gradcam|fourier').map((c) => c.items)).toEqual([['gradcam'], ['neuron-vis (fourier)']]);
    expect(at(sel('--quick', '--filter', '^optimization/'))).toEqual(['tinyvgg optimization 64']);
    expect(sel('--quick', '--filter', 'net/tinyvgg|relu')).toEqual([]);
  });
});

describe('npm run bench:browser (smoke, SwiftShader)', () => {
  const out = mkdtempSync(join(tmpdir(), 'cnnvis-bench-browser-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('times both engines in the page and writes the JSON', async () => {
    requireChromium();
    const lines: string[] = [];
    const { path, results } = await runBrowserBench(
      ['--quick', '--filter', 'squeezenet/fire2/expand3x3|inception_5a/relu_5x5_reduce$|net/tinyvgg|technique/tinyvgg/(saliency|class-vis)', '--iters', '1', '--repeats', '2', '--out', out],
      (s) => lines.push(s),
    );
    const json = JSON.parse(readFileSync(path, 'utf8')) as typeof results;
    expect(json.browser.version).toMatch(/Chrome\/\d+/);
    expect(json.browser.flags).toContain('--enable-unsafe-webgpu');
    expect(json.adapter.kind).toBe('cpu');
    expect(json.adapter.architecture).toMatch(/swiftshader/i);
    expect(json.tfjsMissing).toBeNull();
    expect(['timestamp-query', 'wall-time']).toContain(json.timing);
    const kinds = (k: BrowserRow['kind']) => json.rows.filter((r) => r.kind === k);
    expect(kinds('layer').map((r) => r.direction)).toEqual(['forward', 'backward']);
    expect(kinds('op').map((r) => `${r.family} ${r.direction}`)).toEqual(['relu forward', 'relu backward']);
    expect(kinds('network').map((r) => `${r.id} ${r.direction}`)).toEqual(['net/tinyvgg forward', 'net/tinyvgg forward+backward']);
    // ONNX Runtime Web (WebGPU EP) on the TinyVGG exported in the page: forward rows only, its logits beside ours.
    expect(json.ort).toMatchObject({ version: ORT_VERSION, executionProvider: 'webgpu' });
    const [fwd, fwdBwd] = kinds('network');
    expect(fwd.ort?.error).toBeUndefined();
    expect(fwd.ort!.ms).toBeGreaterThan(0);
    expect(fwd.ort!.samples).toHaveLength(2);
    expect(fwd.ratioOrt).toBeCloseTo(fwd.ort!.ms! / fwd.ours.wallMs!, 6);
    expect(fwd.ortMaxAbsLogit!).toBeGreaterThan(0);
    expect(fwd.ortMaxAbsDiff!).toBeLessThanOrEqual(ORT_LOGITS_TOL.atol + ORT_LOGITS_TOL.rtol * fwd.ortMaxAbsLogit!);
    expect(fwdBwd.ort).toBeNull();
    expect(lines.join('\n')).toMatch(/onnxruntime-web webgpu \(wall\): [\d.]+ ms .*ort\/ours \(both wall\) [\d.]+x; logits max/);
    expect(lines.join('\n')).toMatch(/onnxruntime-web 1\.\d+\.\d+ \(webgpu EP/);
    for (const r of json.rows.filter((k) => k.kind !== 'technique')) {
      const what = `${r.id} ${r.direction}`;
      expect(r.ours.error, what).toBeUndefined();
      expect(r.tfjs?.error, what).toBeUndefined();
      expect(r.ours.ms, what).toBeGreaterThan(0);
      expect(r.tfjs!.ms, what).toBeGreaterThan(0);
      expect(r.ours.wallMs, what).toBeGreaterThan(0);
      expect(r.ours.gflops! * r.ours.ms! * 1e6, what).toBeCloseTo(r.flops, -1);
      expect(r.ratio, what).toBeCloseTo(r.tfjs!.ms! / r.ours.ms!, 6);
      expect(r.ratio!, what).toBeGreaterThan(SANE_RATIO.min);
      expect(r.ratio!, what).toBeLessThan(SANE_RATIO.max);
    }
    // Technique rows: wall time per image / loop step, both sides, each call ending on the CPU.
    const tech = kinds('technique');
    expect(tech.map((r) => `${r.family} ${r.id}`)).toEqual(['attribution technique/tinyvgg/saliency', 'optimization technique/tinyvgg/class-vis (pixel)']);
    for (const r of tech) {
      expect(r.ours.error, r.id).toBeUndefined();
      expect(r.tfjs?.error, r.id).toBeUndefined();
      expect(r.ours.ms, r.id).toBeGreaterThan(0);
      expect(r.tfjs!.ms, r.id).toBeGreaterThan(0);
      expect(r.ours.gpuMs, r.id).toBeNull();
      expect(r.ours.samples, r.id).toHaveLength(2);
      expect(Number.isFinite(r.ratio), r.id).toBe(true);
      expect(r.ratio, r.id).toBeCloseTo(r.tfjs!.ms! / r.ours.ms!, 6);
      expect(r.ratio!, r.id).toBeGreaterThan(SANE_RATIO.min);
      expect(r.ratio!, r.id).toBeLessThan(SANE_RATIO.max);
      expect(r.how, r.id).toBeTruthy();
    }
    expect(tech[1].shape).toBe('(1, 3, 64, 64) ms/step, 1-step loops');
    expect(lines.join('\n')).toMatch(/technique rows: wall time per image/);
    const conv = kinds('layer')[0];
    expect(Object.keys(conv.variants!).sort()).toEqual(['direct', 'tiled']);
    expect(Object.values(conv.variants!).every((t) => t.ms! > 0)).toBe(true);
    expect(lines.join('\n')).toMatch(/timing: ours (GPU timestamp queries|wall time)/);
    // The autotuning pass recorded conv2d's faster variant for this adapter.
    const tune = JSON.parse(readFileSync(join(out, 'autotune.json'), 'utf8'));
    const picked = Object.values(tune.adapters as Record<string, { variants: Record<string, string> }>)[0].variants.conv2d;
    const fastest = Object.entries(conv.variants!).reduce((a, b) => (b[1].ms! < a[1].ms! ? b : a))[0];
    expect(picked).toBe(fastest);
  }, 180_000);

  it('names the executable when the browser cannot start', async () => {
    await expect(runBrowserBench(['--browser', '/nonexistent/chrome', '--quick', '--filter', 'relu_5x5_reduce$', '--out', out], () => {}))
      .rejects.toThrow(/could not start \/nonexistent\/chrome.*--browser PATH/);
  }, 60_000);
});
