// Smoke run of `npm run bench:browser` at a tiny size: headless Chromium (WebGPU on SwiftShader),
// one quick conv layer (both variants), one ReLU and TinyVGG, forward and backward, our engine
// beside TF.js's WebGPU backend in the same page. Checks the JSON it writes: adapter, browser,
// every row with positive ms for both engines and a sane ratio. Plus the Node-side case list.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { browserCases, opId } from '../scripts/bench/browser/cases';
import { runBrowserBench } from '../scripts/bench/browser/run';
import type { BrowserRow } from '../scripts/bench/browser/types';
import { REPO_ROOT, requireChromium } from './helpers/browser';

const SHARED = join(REPO_ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const WEIGHTS = join(REPO_ROOT, 'weights');
/** TF.js ms / our ms outside this range means a clock or a unit is wrong, not a slow kernel. */
const SANE_RATIO = { min: 1e-3, max: 1e3 };

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
});

describe('npm run bench:browser (smoke, SwiftShader)', () => {
  const out = mkdtempSync(join(tmpdir(), 'cnnvis-bench-browser-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('times both engines in the page and writes the JSON', async () => {
    requireChromium();
    const lines: string[] = [];
    const { path, results } = await runBrowserBench(
      ['--quick', '--filter', 'squeezenet/fire2/expand3x3|inception_5a/relu_5x5_reduce$|net/tinyvgg', '--iters', '1', '--repeats', '2', '--out', out],
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
    for (const r of json.rows) {
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
    const conv = kinds('layer')[0];
    expect(Object.keys(conv.variants!).sort()).toEqual(['direct', 'tiled']);
    expect(Object.values(conv.variants!).every((t) => t.ms! > 0)).toBe(true);
    expect(lines.join('\n')).toMatch(/timing: ours (GPU timestamp queries|wall time)/);
    // The autotuning pass recorded conv2d's faster variant for this adapter.
    const tune = JSON.parse(readFileSync(join(out, 'autotune.json'), 'utf8'));
    const picked = Object.values(tune.adapters as Record<string, { variants: Record<string, string> }>)[0].variants.conv2d;
    const fastest = Object.entries(conv.variants!).reduce((a, b) => (b[1].ms! < a[1].ms! ? b : a))[0];
    expect(picked).toBe(fastest);
  }, 120_000);

  it('names the executable when the browser cannot start', async () => {
    await expect(runBrowserBench(['--browser', '/nonexistent/chrome', '--quick', '--filter', 'relu_5x5_reduce$', '--out', out], () => {}))
      .rejects.toThrow(/could not start \/nonexistent\/chrome.*--browser PATH/);
  }, 60_000);
});
