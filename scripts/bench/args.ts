// Command-line options of `npm run bench`.

export interface BenchArgs {
  /** A few representative layers only. */
  quick: boolean;
  /** Timed iterations per repeat (default: 1 on CPU adapters, 10 on GPUs). */
  iters?: number;
  /** Repeats; the median is reported (default: 3 on CPU adapters, 5 on GPUs). */
  repeats?: number;
  /** Only layers whose name (model/layer) matches. */
  filter?: RegExp;
  model?: 'alexnet' | 'squeezenet' | 'googlenet' | 'tinyvgg';
  /** Whole-network images/second instead of per-layer timings. */
  networks: boolean;
  /** Every technique (attribution, optimization, gallery) beside TF.js (technique_bench.ts). */
  techniques: boolean;
  /** Skip TF.js. */
  noTfjs: boolean;
  /** Larger batch for the FC layers and the networks. */
  batch: number;
  /** Where converted models live (weights/<model>/). */
  weightsDir: string;
}

export const USAGE = `usage: npm run bench -- [options]
  --quick              a few representative layers
  --iters N            timed iterations per repeat (default 1 on CPU adapters, 10 on GPUs)
  --repeats N          repeats, median reported (default 3 on CPU adapters, 5 on GPUs)
  --filter REGEX       only layers whose "model/layer" matches
  --model NAME         alexnet | squeezenet | googlenet | tinyvgg (tinyvgg: --techniques only)
  --networks           whole networks: images/second forward and forward+backward
  --techniques         every technique vs the same in TF.js: attribution img/s, optimization it/s
                       (--iters = loop steps per call), gallery features / distances / t-SNE;
                       --quick: TinyVGG only with small counts, a 256-dim distance matrix; with
                       --model squeezenet|googlenet, that network's attribution size and its smallest
                       optimization size with the quick counts
  --batch N            the larger batch for FC layers and networks (default 8)
  --weights DIR        converted models (default weights)
  --no-tfjs            our engine only`;

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${v ?? 'nothing'}`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = { quick: false, networks: false, techniques: false, noTfjs: false, batch: 8, weightsDir: 'weights' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (flag) {
      case '--': break;
      case '--quick': a.quick = true; break;
      case '--networks': a.networks = true; break;
      case '--techniques': a.techniques = true; break;
      case '--no-tfjs': a.noTfjs = true; break;
      case '--iters': a.iters = positiveInt(flag, next()); break;
      case '--repeats': a.repeats = positiveInt(flag, next()); break;
      case '--batch': a.batch = positiveInt(flag, next()); break;
      case '--weights': a.weightsDir = next() ?? a.weightsDir; break;
      case '--filter': a.filter = new RegExp(next() ?? '', 'i'); break;
      case '--model': {
        const m = next();
        if (m !== 'alexnet' && m !== 'squeezenet' && m !== 'googlenet' && m !== 'tinyvgg') throw new Error(`--model must be alexnet, squeezenet, googlenet or tinyvgg, got ${m}`);
        a.model = m;
        break;
      }
      case '--help': case '-h': throw new Error(USAGE);
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return a;
}
