// `npm run bench:browser` as a function (scripts/bench_browser.ts is the command; the smoke test
// tests/bench_browser.test.ts calls this): Node computes the cases (cases.ts), opens the page in
// headless Chromium (launch.ts), the page times both engines (page.ts), and the rows print as a
// table (table.ts) and go to results/bench-browser-<timestamp>.json.

import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from '../args';
import { ATTRIBUTION, QUICK_ATTRIBUTION } from '../attribution_cases';
import { browserCases } from './cases';
import { openBenchPage, WEBGPU_FLAGS } from './launch';
import { header, line } from './table';
import type { BrowserRow, PageConfig, PageResult } from './types';
import { adapterKey, recordChoice, tuneFromTimings } from '../../../engine/autotune';
import { writeResults } from '../report';
import { jsonFileStore } from '../tune_file';

const MODEL_NAMES = ['alexnet', 'squeezenet', 'googlenet', 'tinyvgg'];

export const BROWSER_USAGE = `usage: npm run bench:browser -- [options]
  --browser PATH       Chromium / Chrome executable (default /usr/bin/chromium, or $CHROMIUM_PATH)
  --browser-flags "…"  WebGPU flags instead of the SwiftShader ones
                       (default: ${WEBGPU_FLAGS.join(' ')})
  --out DIR            where the JSON and autotune.json go (default results)
  --quick              the quick conv / linear layers, the smallest layer of each other family,
                       SqueezeNet at batch 1, TinyVGG's technique rows, all with the small counts
                       (SmoothGrad n = ${QUICK_ATTRIBUTION.smoothN}, IG m = ${QUICK_ATTRIBUTION.igSteps}, ${QUICK_ATTRIBUTION.occlusionGrid}x${QUICK_ATTRIBUTION.occlusionGrid} occlusion, 2-step loops; without --quick
                       n = ${ATTRIBUTION.smoothN}, m = ${ATTRIBUTION.igSteps}, ${ATTRIBUTION.occlusionGrid}x${ATTRIBUTION.occlusionGrid} and 5-step loops on CPU adapters, 50 on GPUs)
  --model NAME         ${MODEL_NAMES.join(' | ')}: that model's layers, networks and
                       technique rows (alexnet: no technique rows; tinyvgg: no layer rows); with --quick,
                       squeezenet / googlenet give their technique rows at the attribution size
                       and the smallest loop size
  --filter REGEX       only the rows whose id matches: a layer "model/layer", "net/<dir>" (whole
                       networks), "technique/<network>/<item>" or "<group>/<network>/<item>"
                       (--filter technique | attribution | optimization | gradcam | 'neuron-vis \\(fourier')
  --iters N            timed iterations per repeat (default 1 on CPU adapters, 10 on GPUs);
                       technique rows: calls a repeat (attribution), loop steps a call (optimization)
  --repeats N          repeats, median reported (default 3 on CPU adapters, 5 on GPUs; networks
                       and techniques: 1 on CPU adapters)
  --batch N            the larger batch for FC layers and networks (default 8)
  --no-tfjs            our engine only
  --no-ort             no ONNX Runtime Web rows (by default network forward rows also run the
                       exported model on its WebGPU EP)
  --ort-no-adapter     refuse ORT's WebGPU EP an adapter, so its rows say 'unavailable: <reason>'
                       (checks that path; the rest of the run is unchanged)
  --help               this text
Exit code 0 when the run completes (rows that failed, were skipped or unavailable say so in the
table and the JSON), 1 when it cannot run (a bad option, no browser, the page failed).`;

/** npm run bench options that mean nothing here, and what to use instead. */
const NOT_HERE: Record<string, string> = {
  '--networks': 'whole networks are always among the rows: --filter net/ keeps only them',
  '--techniques': 'technique rows are always among the rows: --filter technique keeps only them',
  '--weights': 'the page loads the converted models from weights/ through its server (npm run weights writes them)',
};

const TECHNIQUE_TIMING = 'technique rows: wall time per image (attribution) or loop step (optimization), every call ending with its result on the CPU; ' +
  'one warm-up call (a loop of one step), one repeat on CPU adapters unless --repeats; --iters = calls a repeat (attribution), loop steps a call (optimization)';

export interface BrowserBenchResult extends PageResult {
  date: string;
  browser: { executable: string; version: string; flags: string[] };
  args: string[];
  totalSeconds: number;
}

function takeFlag(argv: string[], flag: string): boolean {
  const i = argv.indexOf(flag);
  if (i >= 0) argv.splice(i, 1);
  return i >= 0;
}

function takeOption(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined) throw new Error(`${flag} needs a value\n${BROWSER_USAGE}`);
  argv.splice(i, 2);
  return v;
}

/** Run the browser benchmark; returns the results and the JSON file written. */
export async function runBrowserBench(argv: readonly string[], log: (s: string) => void = console.log): Promise<{ path: string; results: BrowserBenchResult }> {
  const started = performance.now();
  const rest = [...argv];
  if (rest.includes('--help') || rest.includes('-h')) throw new Error(BROWSER_USAGE);
  const executable = takeOption(rest, '--browser') ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const flagText = takeOption(rest, '--browser-flags');
  const outDir = takeOption(rest, '--out') ?? join(process.cwd(), 'results');
  const noOrt = takeFlag(rest, '--no-ort');
  const ortNoAdapter = takeFlag(rest, '--ort-no-adapter');
  if (noOrt && ortNoAdapter) throw new Error('bench:browser: --ort-no-adapter checks the ORT rows, and --no-ort leaves them out: give one of them');
  for (const a of rest) if (NOT_HERE[a]) throw new Error(`bench:browser: ${a} is an option of npm run bench, not of bench:browser: ${NOT_HERE[a]}\n${BROWSER_USAGE}`);
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(rest);
  } catch (e) {
    // parseArgs's own messages name the valid values; its usage text is npm run bench's.
    throw new Error(`bench:browser: ${(e as Error).message.split('\n')[0]}\n${BROWSER_USAGE}`);
  }
  const sharedDir = process.env.CNNVIS_SHARED ?? join(process.cwd(), '..', 'shared');
  const cases = browserCases({ ...args, sharedDir });
  if (!cases.layers.length && !cases.ops.length && !cases.networks.length && !cases.techniques.length) throw new Error('bench:browser: no case matches the --filter / --model given');
  const config: PageConfig = { ...cases, iters: args.iters, repeats: args.repeats, tfjs: !args.noTfjs, ort: !noOrt, ortNoAdapter };
  log(`${cases.layers.length} conv/linear layers, ${cases.ops.length} other layers, ${cases.networks.length} networks (${cases.networks.map((n) => n.dir).join(', ') || 'none'}), ` +
    `${cases.techniques.reduce((k, c) => k + c.items.length, 0)} technique rows (${[...new Set(cases.techniques.map((c) => `${c.network} ${c.size}`))].join(', ') || 'none'})`);

  const session = await openBenchPage({ executable, webgpuFlags: flagText?.split(/\s+/).filter(Boolean) });
  try {
    log(`browser: ${session.browserVersion} (${executable}) ${session.flags.join(' ')}`);
    let printedHeader = false;
    await session.page.exposeFunction('cnnvisBenchRow', (row: BrowserRow) => {
      if (!printedHeader) log(header());
      printedHeader = true;
      log(line(row));
    });
    const page: PageResult = await session.page.evaluate((c) => window.cnnvisBench(c), config).catch((e: Error) => {
      throw new Error(`bench:browser: the page failed: ${e.message.split('\n')[0]}${session.pageErrors.length ? `\n  ${session.pageErrors.join('\n  ')}` : ''}`);
    });
    const clock = (t: string | null) => (t === 'timestamp-query' ? 'GPU timestamp queries (ms = GPU time)' : 'wall time around onSubmittedWorkDone');
    log(`\nadapter: ${[page.adapter.vendor, page.adapter.architecture, page.adapter.description].filter(Boolean).join(' / ')} (${page.adapter.kind} variants: ${Object.entries(page.defaultVariants).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    log(`timing: ours ${clock(page.timing)}; TF.js ${page.tfjsTiming ? clock(page.tfjsTiming) : `not measured -- ${page.tfjsMissing}`}; ` +
      `${page.timingOptions.warmup} warm-up, median of ${page.timingOptions.repeats} repeats x ${page.timingOptions.iters} iteration(s), ± = half the (max - min) spread`);
    if (page.rows.some((r) => r.kind === 'technique')) log(TECHNIQUE_TIMING);
    if (page.ort) {
      log(`onnxruntime-web ${page.ort.version} (${page.ort.executionProvider} EP, the model exported by scripts/onnx/export.ts in the page): ${page.ort.timing}`);
      if (page.ort.adapterRefused) log("onnxruntime-web: --ort-no-adapter: its WebGPU EP was refused an adapter (navigator.gpu.requestAdapter answered null to it)");
      for (const u of page.ort.unavailable) log(`onnxruntime-web: ${u}`);
    }
    const attributionRows = page.rows.filter((r) => r.kind === 'technique' && r.family === 'attribution');
    if (attributionRows.length) {
      const k = attributionRows[0].counts!;
      log(`attribution counts: SmoothGrad n = ${k.smoothN} (sigma ${k.smoothSigma} of the input range), IG m = ${k.igSteps}, ${k.occlusionGrid}x${k.occlusionGrid} occlusion grid, batches of ${k.batch}`);
    }
    const results: BrowserBenchResult = {
      date: new Date().toISOString(),
      browser: { executable, version: session.browserVersion, flags: session.flags },
      args: [...argv],
      ...page,
      totalSeconds: (performance.now() - started) / 1000,
    };
    // Autotuning from the measured variants: the fastest per family, cached for this adapter.
    const tuned = tuneFromTimings(page.rows.filter((r) => r.variants).map((r) => ({
      family: r.family, variants: Object.fromEntries(Object.entries(r.variants!).map(([v, t]) => [v, t.ms])),
    })));
    if (Object.keys(tuned.variants).length) {
      const tuneFile = join(outDir, 'autotune.json');
      recordChoice(jsonFileStore(tuneFile, log), adapterKey(page.adapter), { ...tuned, date: results.date });
      log(`autotune: ${Object.entries(tuned.variants).map(([f, v]) => `${f} ${v}`).join(', ')} (geometric mean over the layers timed) -> ${tuneFile}; ` +
        'Runtime.create({ autotune: jsonFileStore(path) }) or localStorageStore() uses it');
    }
    const written = writeResults(outDir, results);
    const path = written.replace(/bench-([^/]*)\.json$/, 'bench-browser-$1.json');
    renameSync(written, path);
    log(`wrote ${path} (${results.totalSeconds.toFixed(0)} s in all)`);
    return { path, results };
  } finally {
    await session.close();
  }
}
