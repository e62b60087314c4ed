// Smoke run of `npm run bench:browser` at a tiny size: headless Chromium (WebGPU on SwiftShader),
// one quick conv layer (both variants), one ReLU and TinyVGG, forward and backward, and two
// technique rows on TinyVGG (saliency, one class-vis loop), our engine beside TF.js's WebGPU
// backend in the same page. Checks the JSON it writes: adapter, browser, every row with positive
// ms for both engines and a sane ratio, and the network rows' replayed captures (timed, logits
// and input gradient bit-identical to the ordinary pass's, no bind group created). Then the
// command itself (npm run bench:browser) with ORT's
// WebGPU EP refused an adapter (--ort-no-adapter) and a full-count SmoothGrad row: the ORT rows
// say unavailable with ORT's reason, the rest completes, exit code 0. Plus the Node-side case
// lists and the option errors.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../scripts/bench/args';
import { ATTRIBUTION, QUICK_ATTRIBUTION } from '../scripts/bench/attribution_cases';
import { browserCases, opId } from '../scripts/bench/browser/cases';
import { techniqueCases } from '../scripts/bench/browser/technique_cases';
import { BROWSER_USAGE, runBrowserBench, type BrowserBenchResult } from '../scripts/bench/browser/run';
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
    // GoogLeNet at 224, every attribution technique (full counts, or the quick ones) and every loop.
    const g = sel('--model', 'googlenet', '--filter', 'technique');
    expect(at(g)).toEqual(['googlenet attribution 224', 'googlenet optimization 224']);
    expect(g[0].items).toEqual(['saliency', 'guided', 'gradcam', 'occlusion 8x8', 'smoothgrad n=16', 'ig m=32']);
    expect(g[1].items).toEqual(quick[1].items);
    expect(sel('--quick', '--model', 'googlenet')[0].items).toEqual(quick[0].items);
    // Every network of the Node technique bench without --model.
    expect([...new Set(sel('--filter', 'technique').map((c) => c.network))]).toEqual(['tinyvgg', 'squeezenet1_1', 'googlenet']);
    expect(sel('--filter', 'neuron-vis \\(fourier').map((c) => `${c.network} ${c.items}`)).toEqual(
      ['tinyvgg neuron-vis (fourier)', 'squeezenet1_1 neuron-vis (fourier)', 'squeezenet1_1 neuron-vis (fourier)', 'googlenet neuron-vis (fourier)']);
  });

  it('bad options fail before a browser starts, naming the valid choices or the option to use', async () => {
    const fails = (argv: string[]) => expect(runBrowserBench(argv, () => {})).rejects;
    await fails(['--model', 'resnet']).toThrow(/^bench:browser: --model must be alexnet, squeezenet, googlenet or tinyvgg, got resnet\nusage: npm run bench:browser/);
    await fails(['--bogus']).toThrow(/^bench:browser: unknown option --bogus\nusage: npm run bench:browser/);
    await fails(['--iters', '0']).toThrow(/--iters needs a positive integer, got 0/);
    await fails(['--networks']).toThrow(/--networks is an option of npm run bench, not of bench:browser: .*--filter net\//);
    await fails(['--weights', 'w']).toThrow(/--weights is an option of npm run bench.*weights\//);
    await fails(['--no-ort', '--ort-no-adapter']).toThrow(/give one of them/);
    await fails(['--browser']).toThrow(/--browser needs a value/);
    await fails(['--help']).toThrow(BROWSER_USAGE);
    // --help names every option the command takes.
    for (const flag of ['--browser', '--browser-flags', '--out', '--quick', '--model', '--filter', '--iters', '--repeats', '--batch', '--no-tfjs', '--no-ort', '--ort-no-adapter', '--help']) {
      expect(BROWSER_USAGE).toMatch(new RegExp(`^  ${flag} `, 'm'));
    }
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
    // Our forward as a replayed capture, timed like the ordinary one, its logits bit-identical to it.
    const rep = fwd.oursReplayed!;
    expect(rep, 'oursReplayed').toBeDefined();
    expect(rep.error).toBeUndefined();
    expect(rep.ms).toBeGreaterThan(0);
    expect(rep.wallMs).toBeGreaterThan(0);
    expect(rep.samples).toHaveLength(2);
    expect(rep.gflops! * rep.ms! * 1e6).toBeCloseTo(fwd.flops, -1);
    expect(fwd.replayMaxAbsDiff).toBe(0);
    expect(fwd.replayDispatches).toBeGreaterThan(0);
    expect(fwd.replayBindGroups).toBe(0);
    expect(fwd.ratioReplayed).toBeCloseTo(fwd.ours.ms! / rep.ms!, 6);
    expect(fwd.ratioTfjsReplayed).toBeCloseTo(fwd.tfjs!.ms! / rep.ms!, 6);
    expect(fwd.ratioOrtReplayed).toBeCloseTo(fwd.ort!.ms! / rep.wallMs!, 6);
    expect(lines.join('\n')).toMatch(/ours replayed \(rt\.capture\): [\d.]+ ms .*ort\/replayed \(both wall\) [\d.]+x; \d+ dispatches, 0 bind groups created; logits max \|replayed - ordinary\| 0 \(bit-identical\)/);
    // Forward + backward replayed too: more dispatches than the forward, its input gradient bit-identical.
    const repBwd = fwdBwd.oursReplayed!;
    expect(repBwd, 'forward+backward oursReplayed').toBeDefined();
    expect(repBwd.error).toBeUndefined();
    expect(repBwd.ms).toBeGreaterThan(0);
    expect(repBwd.samples).toHaveLength(2);
    expect(fwdBwd.replayMaxAbsDiff).toBe(0);
    expect(fwdBwd.replayDispatches).toBeGreaterThan(fwd.replayDispatches!);
    expect(fwdBwd.replayBindGroups).toBe(0);
    expect(fwdBwd.ratioReplayed).toBeCloseTo(fwdBwd.ours.ms! / repBwd.ms!, 6);
    expect(fwdBwd.ratioOrtReplayed).toBeNull();
    expect(lines.join('\n')).toMatch(/ours replayed \(rt\.capture\): [\d.]+ ms .*tf\/replayed [\d.]+x; \d+ dispatches, 0 bind groups created; input gradient max \|replayed - ordinary\| 0 \(bit-identical\)/);
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
    expect(tech[0].counts).toEqual(QUICK_ATTRIBUTION);
    expect(tech[1].counts).toEqual({ steps: 1 });
    expect(lines.join('\n')).toMatch(/attribution counts: SmoothGrad n = 4 .*IG m = 4, 2x2 occlusion grid/);
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

  it('npm run bench:browser: ORT unavailable says why in the row and the JSON, the rest completes, exit code 0; full counts without --quick', async () => {
    requireChromium();
    const dir = mkdtempSync(join(out, 'ort-'));
    const argv = ['run', '--silent', 'bench:browser', '--', '--filter', 'net/tinyvgg|technique/tinyvgg/smoothgrad', '--no-tfjs', '--ort-no-adapter', '--batch', '1', '--iters', '1', '--repeats', '1', '--out', dir];
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile('npm', argv, { cwd: REPO_ROOT, maxBuffer: 1 << 24 }, (e, stdout, stderr) => done({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr }));
    });
    expect(run.code, run.stderr).toBe(0);
    const reason = /^unavailable: .*Failed to get GPU adapter/;
    expect(run.stdout).toMatch(/\n {4}onnxruntime-web webgpu: unavailable: .*Failed to get GPU adapter/);
    expect(run.stdout).toMatch(/--ort-no-adapter: its WebGPU EP was refused an adapter/);
    const file = readdirSync(dir).find((f) => /^bench-browser-.*\.json$/.test(f));
    expect(file, readdirSync(dir).join(', ')).toBeDefined();
    const json = JSON.parse(readFileSync(join(dir, file!), 'utf8')) as BrowserBenchResult;
    expect(json.args).toContain('--ort-no-adapter');
    expect(json.ort).toMatchObject({ executionProvider: 'webgpu', adapterRefused: true });
    expect(json.ort!.unavailable).toHaveLength(1);
    expect(json.ort!.unavailable[0]).toMatch(/^tinyvgg: unavailable: .*Failed to get GPU adapter/);
    const nets = json.rows.filter((r) => r.kind === 'network');
    expect(nets.map((r) => r.direction)).toEqual(['forward', 'forward+backward']);
    expect(nets[0].ort!.ms).toBeNull();
    expect(nets[0].ort!.error).toMatch(reason);
    expect(nets[0].ratioOrt).toBeNull();
    expect(nets[1].ort).toBeNull();
    // The replayed forward does not depend on ORT.
    expect(nets[0].oursReplayed!.ms).toBeGreaterThan(0);
    expect(nets[0].replayMaxAbsDiff).toBe(0);
    expect(nets[0].ratioOrtReplayed).toBeNull();
    expect(nets[0].ratioTfjsReplayed).toBeNull();
    // The rest of the run: our network rows and the technique row were measured.
    for (const r of json.rows) {
      expect(r.ours.error, r.id).toBeUndefined();
      expect(r.ours.ms, r.id).toBeGreaterThan(0);
      expect(r.tfjs, r.id).toBeNull();
    }
    // Without --quick the attribution rows use the full counts, in the id and the JSON.
    const tech = json.rows.filter((r) => r.kind === 'technique');
    expect(tech.map((r) => r.id)).toEqual([`technique/tinyvgg/smoothgrad n=${ATTRIBUTION.smoothN}`]);
    expect(tech[0].counts).toEqual(ATTRIBUTION);
    expect(run.stdout).toMatch(/attribution counts: SmoothGrad n = 16 .*IG m = 32, 8x8 occlusion grid/);
  }, 180_000);

  it('names the executable when the browser cannot start', async () => {
    await expect(runBrowserBench(['--browser', '/nonexistent/chrome', '--quick', '--filter', 'relu_5x5_reduce$', '--out', out], () => {}))
      .rejects.toThrow(/could not start \/nonexistent\/chrome.*--browser PATH/);
  }, 60_000);
});
