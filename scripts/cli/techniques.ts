// The technique subcommands: one generic runner for every technique in the registry
// (engine/techniques/index.ts), its flags generated from the technique's `options`.
//
//   npm run --silent cli -- <technique> --model <name> [options] --out <dir> <images...>
//
// Per image <stem> it writes <dir>/<stem>.<technique>.png (plus <stem>.<technique>.<suffix>.png per
// extra view), <dir>/<stem>.<technique>.npy (the raw float32 result), and one <dir>/summary.json
// (model, adapter, every option, per image: class, scores, timings, every file with its meaning,
// the npy shape). --json prints that summary on stdout and nothing else; progress goes to stderr.
// Techniques that take no image (filters) write <model>.<technique>.* once. A bad image is reported
// on stderr naming the file (exit code 1) and the others still run.

import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { encodeNpy, encodePng } from '../../engine/display/index';
import { createRuntime, loadModel } from '../../engine/index';
import { defaultOptions, flagOf, parseOptions, TECHNIQUES, type OptionSpec, type Options, type Technique, type TechniqueContext } from '../../engine/techniques/index';
import { decodeFile } from '../batch';
import { MODELS, modelDir, modelName, REPO_ROOT } from './models';

/** Flags every technique takes (its own options come from `technique.options`). */
const COMMON = [
  ['-m, --model <name>', MODELS.join(', ')],
  ['--weights <DIR>', 'folder of converted models (default weights/)'],
  ['--out <DIR>', 'where the files go (default results/<technique>)'],
  ['--json', 'print summary.json on stdout and nothing else'],
  ['--preset <name>', "a named set of the technique's options (published settings)"],
  ['-h, --help', 'this text'],
] as const;

export const TECHNIQUE_USAGE = `Techniques (npm run --silent cli -- <technique> --help for each one's options):
  npm run --silent cli -- <technique> --model <name> [options] --out <dir> <images...>
${TECHNIQUES.map((t) => `  ${t.name.padEnd(22)} ${t.title}${t.needsImage ? '' : ' (no images)'}`).join('\n')}`;

function valueText(o: OptionSpec): string {
  switch (o.kind) {
    case 'int': case 'number': return o.kind === 'int' ? '<int>' : '<number>';
    case 'enum': return `<${o.choices.join('|')}>`;
    case 'bool': return '';
    case 'class': return '<index|label>';
    case 'layer': return '<name|index>';
    case 'channel': return '<c>';
    case 'neuron': return '<c,y,x>';
    default: return '<text>';
  }
}

/** `--help` of one technique: its description, its options with defaults, presets, common flags. */
export function techniqueHelp(t: Technique<Options, unknown>): string {
  const rows: [string, string][] = t.options.map((o) => {
    const d = o.default === '' ? (o.kind === 'class' ? 'top-1 prediction' : o.kind === 'layer' ? "technique's default" : 'none') : String(o.default);
    return [`--${flagOf(o)} ${valueText(o)}`.trim(), /\bdefault\b/.test(o.help) ? o.help : `${o.help} (default: ${d})`];
  });
  const width = Math.max(...[...rows, ...COMMON].map((r) => r[0].length)) + 2;
  const line = ([a, b]: readonly [string, string]) => `  ${a.padEnd(width)} ${b}`;
  const presets = Object.entries(t.presets ?? {}).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return [
    `Usage: npm run --silent cli -- ${t.name} --model <name> [options] --out <dir>${t.needsImage ? ' <images...>' : ''}`,
    '',
    `${t.title}: ${t.description}`,
    '',
    'Options:',
    ...rows.map(line),
    '',
    'Common:',
    ...COMMON.map(line),
    ...(presets.length ? ['', 'Presets:', ...presets] : []),
    '',
    `Writes <out>/<stem>.${t.name}.png (+ .<view>.png), <out>/<stem>.${t.name}.npy and <out>/summary.json.`,
    'A wrong layer, channel or class fails listing the valid choices.',
  ].join('\n');
}

interface Args {
  model: ReturnType<typeof modelName>;
  weights: string;
  out: string;
  json: boolean;
  preset?: string;
  raw: Record<string, string>;
  files: string[];
}

/** Splits argv into the common flags, the technique's raw option strings and the image files. */
function parseArgs(t: Technique<Options, unknown>, argv: readonly string[]): Args | null {
  if (argv.includes('-h') || argv.includes('--help')) return null;
  const bools = new Set(t.options.filter((o) => o.kind === 'bool').map(flagOf));
  let model: string | undefined;
  const a: Omit<Args, 'model'> = { weights: join(REPO_ROOT, 'weights'), out: join(REPO_ROOT, 'results', t.name), json: false, raw: {}, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-') {
      a.files.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(0, eq) : arg).replace(/^--?/, '');
    const value = () => {
      if (eq > 0) return arg.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${t.name}: --${name} needs a value`);
      return argv[++i];
    };
    if (name === 'model' || name === 'm') model = value();
    else if (name === 'weights') a.weights = resolve(value());
    else if (name === 'out') a.out = resolve(value());
    else if (name === 'json') a.json = true;
    else if (name === 'preset') a.preset = value();
    else a.raw[name] = bools.has(name) && eq < 0 ? 'true' : value();
  }
  const m = modelName(model);
  if (t.needsImage && a.files.length === 0) throw new Error(`${t.name}: no image files given`);
  if (!t.needsImage && a.files.length > 0) throw new Error(`${t.name} takes no images (it shows the model's weights), got ${a.files.join(' ')}`);
  return { model: m, ...a };
}

interface FileEntry {
  path: string;
  meaning: string;
}

/** Writes one run's views and raw array; returns the summary entry for it. */
async function save(t: Technique<Options, unknown>, ctx: TechniqueContext, result: unknown, dir: string, stem: string): Promise<Record<string, unknown>> {
  const p = t.present(result, ctx);
  const files: FileEntry[] = [];
  for (const v of p.views) {
    const path = join(dir, `${stem}.${t.name}${v.suffix ? `.${v.suffix}` : ''}.png`);
    writeFileSync(path, await encodePng(v.image));
    files.push({ path, meaning: `${v.meaning} (${v.image.width}x${v.image.height} PNG)` });
  }
  const npy = join(dir, `${stem}.${t.name}.npy`);
  writeFileSync(npy, encodeNpy(p.raw.data, p.raw.shape));
  files.push({ path: npy, meaning: `${p.raw.meaning}; float32 .npy, shape (${p.raw.shape.join(', ')})` });
  return { ...p.summary, npy: { path: npy, shape: p.raw.shape, meaning: p.raw.meaning }, files };
}

/** Unique output stems: the file name without extension, '-2', '-3', ... on repeats. */
function stems(files: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return files.map((f) => {
    const s = basename(f, extname(f));
    const k = (seen.get(s) ?? 0) + 1;
    seen.set(s, k);
    return k === 1 ? s : `${s}-${k}`;
  });
}

/** Runs `t` on every image (or once, for techniques without images); returns the exit code. */
export async function runTechnique(t: Technique<Options, unknown>, argv: readonly string[]): Promise<number> {
  const args = parseArgs(t, argv);
  if (!args) {
    console.log(techniqueHelp(t));
    return 0;
  }
  const options = parseOptions(t, args.raw, args.preset);
  const log = (msg: string) => console.error(`${t.name}: ${msg}`);
  let failures = 0;
  const files = args.files.filter((f) => {
    if (existsSync(f) && statSync(f).isFile()) return true;
    failures++;
    log(`${f}: no such file`);
    return false;
  });
  if (t.needsImage && files.length === 0) return 1;
  const dir = modelDir(args.weights, args.model);
  mkdirSync(args.out, { recursive: true });
  const rt = await createRuntime();
  const items: Record<string, unknown>[] = [];
  try {
    const t0 = performance.now();
    const model = await loadModel(rt, dir);
    const loadMs = Math.round(performance.now() - t0);
    log(`${args.model} loaded in ${loadMs} ms on ${rt.describe()}`);
    const jobs = t.needsImage ? files.map((f, i) => ({ file: f as string | undefined, stem: stems(files)[i] })) : [{ file: undefined, stem: t.stem?.(model, options) ?? args.model }];
    for (const [k, job] of jobs.entries()) {
      const started = performance.now();
      try {
        const image = job.file ? await decodeFile(job.file) : undefined;
        let last = 0;
        // Time left from the speed since the first report (work already done then, e.g. cached, is not counted).
        let first: { t: number; done: number } | null = null;
        const ctx: TechniqueContext = {
          model, stem: job.stem,
          ...(image ? { image: { width: image.width, height: image.height, rgba: new Uint8ClampedArray(image.rgba.buffer, image.rgba.byteOffset, image.rgba.length) } } : {}),
          onProgress: (done, total) => {
            first ??= { t: performance.now(), done };
            if (total > 1 && (performance.now() - last > 1000 || done === total)) {
              last = performance.now();
              const left = done > first.done && done < total ? ((last - first.t) / (done - first.done)) * (total - done) : null;
              log(`  ${job.stem}: ${done}/${total}${left === null ? '' : `, about ${Math.ceil(left / 1000)} s left`}`);
            }
          },
        };
        const result = await t.run(ctx, options);
        const runMs = Math.round(performance.now() - started);
        const entry = await save(t, ctx, result, args.out, job.stem);
        const totalMs = Math.round(performance.now() - started);
        items.push({ ...(job.file ? { file: job.file, size: [image!.width, image!.height] } : {}), stem: job.stem, ...entry, timings: { runMs, totalMs } });
        log(`[${k + 1}/${jobs.length}] ${job.file ?? args.model} -> ${join(args.out, `${job.stem}.${t.name}.*`)} (${totalMs} ms)`);
      } catch (e) {
        failures++;
        const msg = e instanceof Error ? e.message : String(e);
        // An option error is the same for every image: stop at the first.
        if (!job.file || !msg.startsWith(job.file)) throw e;
        log(msg);
        items.push({ file: job.file, stem: job.stem, error: msg });
      }
    }
    const summary = {
      technique: t.name, title: t.title, model: args.model, weights: dir, adapter: rt.describe(), kind: rt.kind,
      preset: args.preset ?? null, options, defaults: defaultOptions(t), loadMs,
      images: items,
    };
    const path = join(args.out, 'summary.json');
    writeFileSync(path, JSON.stringify(summary, null, 2) + '\n');
    if (args.json) console.log(JSON.stringify(summary));
    else log(`wrote ${path}`);
    model.dispose();
  } finally {
    rt.destroy();
  }
  return failures > 0 ? 1 : 0;
}
