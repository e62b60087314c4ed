// The per-dispatch overhead benchmark (issue 11): what batch-1 inference pays on the CPU side.
//
//   npx vite-node scripts/bench/overhead.ts -- [--models squeezenet1_1,googlenet,tinyvgg] [--size N]
//       [--reps R] [--steps S] [--variant direct|tiled] [--fusion on|off|both] [--json]
//
// --variant forces the conv2d variant (default: the adapter's; 'tiled' is what GPUs run).
// --fusion: multi-conv launches (engine/models/plan.ts; 'tiled' only) on, off, or both, one model
// load each, side by side in the same run (default on); abba: off, on, on, off, so that the
// process warming up (JIT, caches) over the run favours neither.
//
// First the cost of one dispatch alone (a tiny ReLU, 2000 in a row). Then per model at batch 1 (its own input size unless --size): dispatches per forward and per
// forward + backward (a gradient seed at the logits, into a caller `out`), the CPU time of
// recording them (the ops and rt.dispatch calls up to the submit, by process.cpuUsage with the GPU
// idle, so other processes sharing the cores do not inflate it), the same in
// us per dispatch, the recording's own wall time (minimum), how many bind groups that recording created
// (Runtime.stats), and the wall time per forward and per forward + backward to queue completion.
// Beside them, measured the same way in the same run, the same two passes recorded once with
// rt.capture (engine/capture.ts) and replayed: the CPU time of recording a replay (capture.replay()
// up to the submit), per dispatch, the bind groups a replay creates (0), the wall time per
// replayed pass to queue completion, and the one-off CPU time of the capture itself.
// Then the iterations per second of a class-visualization loop (optvis/loop.ts, pixels, Adam,
// jitter) at a small size, with its model step replayed (capture: true, the loop's default) and
// recorded anew at every step (capture: false), alternating true, false, false, true. R repeats
// after one warm-up: recording CPU time as the minimum and the median, wall times as medians.
// Results go to stdout, and with --json one JSON line at the end (rows: forward, forwardBackward,
// replayForward, replayForwardBackward, classVis (capture: true) and classVisNoCapture).

import { join } from 'node:path';
import { loadModel, type Model } from '../../engine/index';
import { conv2dVariant } from '../../engine/kernels/conv2d';
import { Runtime } from '../../engine/runtime';
import { Tensor } from '../../engine/tensor';
import { relu } from '../../engine/ops/relu';
import { classLogit, loopSettings, maximize, optimize, pixelParam } from '../../engine/techniques/optvis/index';

interface Args {
  models: string[];
  size: number | null;
  reps: number;
  steps: number;
  variant: string | null;
  fusion: boolean[];
  json: boolean;
}

const FUSION: Record<string, boolean[]> = { on: [true], off: [false], both: [false, true], abba: [false, true, true, false] };

function parse(argv: readonly string[]): Args {
  const a: Args = { models: ['squeezenet1_1', 'googlenet', 'tinyvgg'], size: null, reps: 7, steps: 30, variant: null, fusion: [true], json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const s = argv[++i];
      if (s === undefined) throw new Error(`${k} needs a value`);
      return s;
    };
    if (k === '--') continue;
    else if (k === '--models') a.models = v().split(',').filter((m) => m && m !== 'none');
    else if (k === '--size') a.size = Number(v());
    else if (k === '--reps') a.reps = Number(v());
    else if (k === '--steps') a.steps = Number(v());
    else if (k === '--variant') a.variant = v();
    else if (k === '--fusion') {
      const f = v();
      if (!FUSION[f]) throw new Error(`--fusion ${f}: expected one of ${Object.keys(FUSION).join(', ')}`);
      a.fusion = FUSION[f];
    } else if (k === '--json') a.json = true;
    else throw new Error(`unknown option ${k} (valid: --models, --size, --reps, --steps, --variant, --fusion, --json)`);
  }
  return a;
}

/**
 * CPU time of this process in ms (getrusage: user + system, precise to microseconds). Recording
 * starts after a sync, so the GPU (SwiftShader's threads) is idle and this is the recording's own
 * cost, which other processes sharing the cores do not inflate the way they inflate wall time.
 */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];


/** Run `record` (which only records GPU work), then wait: JS ms of the recording, wall ms to completion, bind groups created. */
async function timed(rt: Runtime, record: () => void): Promise<{ cpuMs: number; recordWallMs: number; wallMs: number; bindGroups: number; dispatches: number }> {
  await rt.sync();
  const s0 = { ...rt.stats };
  const c0 = cpuMs();
  const t0 = performance.now();
  record();
  const t1 = performance.now();
  const c1 = cpuMs();
  await rt.sync();
  const t2 = performance.now();
  return { cpuMs: c1 - c0, recordWallMs: t1 - t0, wallMs: t2 - t0, bindGroups: rt.stats.bindGroupsCreated - s0.bindGroupsCreated, dispatches: rt.stats.dispatches - s0.dispatches };
}

interface Measured {
  dispatches: number;
  /** CPU ms of recording (process.cpuUsage, the GPU idle meanwhile): minimum and median over the repeats. */
  cpuMs: number;
  cpuMedianMs: number;
  /** Wall ms of the recording alone (no GPU wait), minimum over the repeats. */
  recordWallMs: number;
  bindGroups: number;
  wallMs: number;
}

/** A replayed capture: as Measured, per replay, plus the one-off recording of the capture. */
interface Replayed extends Measured {
  /** CPU ms of rt.capture() itself (recording the pass once, bind groups and uniforms included). */
  captureCpuMs: number;
  /** Bind groups rt.capture() created (one per dispatch), against `bindGroups` per replay (0). */
  captureBindGroups: number;
}

interface Row {
  model: string;
  fuseConvs: boolean;
  size: number;
  forward: Measured;
  forwardBackward: Measured;
  replayForward: Replayed;
  replayForwardBackward: Replayed;
}

/** Recording CPU per dispatch (minimum run). */
const perUs = (m: Measured) => `${((m.cpuMs * 1000) / m.dispatches).toFixed(1)} us per dispatch`;

async function benchModel(rt: Runtime, model: Model, fuseConvs: boolean, size: number, reps: number): Promise<Row> {
  const x = Tensor.fromData(rt, new Float32Array(3 * size * size).map((_, i) => Math.sin(i * 0.37)), [1, 3, size, size], 'input');
  const gIn = Tensor.empty(rt, [1, 3, size, size], 'input grad');
  // A one-hot gradient at the logits, made once: a class seed would upload a new one (and flush) per backward.
  const [k, kh, kw] = model.layerShape(model.spec.logits, size, size);
  const seed = Tensor.fromData(rt, new Float32Array(k * kh * kw).map((_, i) => (i === 1 ? 1 : 0)), [1, k, kh, kw], 'seed');
  const fwd = () => void model.forward(x);
  const fb = () => {
    model.forward(x);
    model.backward({ kind: 'gradient', layer: model.spec.logits, gradient: seed }, { out: gIn });
  };
  const summarize = async (f: () => void): Promise<Measured> => {
    await timed(rt, f); // warm-up: pipelines, plans, caches
    const runs = [];
    for (let i = 0; i < reps; i++) runs.push(await timed(rt, f));
    return {
      dispatches: runs[runs.length - 1].dispatches,
      cpuMs: Math.min(...runs.map((r) => r.cpuMs)),
      cpuMedianMs: median(runs.map((r) => r.cpuMs)),
      recordWallMs: Math.min(...runs.map((r) => r.recordWallMs)),
      bindGroups: runs[runs.length - 1].bindGroups,
      wallMs: median(runs.map((r) => r.wallMs)),
    };
  };
  // The same pass recorded once and replayed: summarize times replay() exactly as it times a recording.
  const replayed = async (pass: () => void, label: string): Promise<Replayed> => {
    await rt.sync();
    const b0 = rt.stats.bindGroupsCreated;
    const c0 = cpuMs();
    const cap = rt.capture(pass, label);
    const captureCpuMs = cpuMs() - c0;
    const captureBindGroups = rt.stats.bindGroupsCreated - b0;
    try {
      const m = await summarize(() => cap.replay());
      if (m.dispatches !== cap.dispatches) throw new Error(`${label}: a replay issued ${m.dispatches} dispatches, the capture holds ${cap.dispatches}`);
      return { ...m, captureCpuMs, captureBindGroups };
    } finally {
      cap.dispose();
    }
  };
  try {
    const forward = await summarize(fwd);
    const forwardBackward = await summarize(fb);
    const replayForward = await replayed(fwd, 'bench forward');
    const replayForwardBackward = await replayed(fb, 'bench forward + backward');
    return { model: model.spec.name, fuseConvs, size, forward, forwardBackward, replayForward, replayForwardBackward };
  } finally {
    x.dispose();
    gIn.dispose();
    seed.dispose();
  }
}

interface ClassVis { itPerSec: number; ms: number; bindGroupsPerStep: number; capture: boolean }

/** One loop of `steps` after a 3-step warm-up; `capture` is the loop's option (true: its model step is recorded once and replayed). */
async function classVis(model: Model, size: number, steps: number, capture: boolean): Promise<ClassVis> {
  const param = pixelParam(model, { height: size, width: size, init: 'noise', std: 0.1, seed: 1 });
  const rt = model.rt;
  try {
    const run = (n: number) => optimize({
      model, param, objective: maximize(classLogit(model, 1)), optimizer: 'adam', steps: n, seed: 1, objectiveEvery: 0,
      transforms: [{ kind: 'roll', max: 2 }], settings: loopSettings({ lr: 0.05 }), capture,
    });
    await run(3);
    const b0 = rt.stats.bindGroupsCreated;
    const r = await run(steps);
    return { itPerSec: (steps * 1000) / r.ms, ms: r.ms, bindGroupsPerStep: (rt.stats.bindGroupsCreated - b0) / steps, capture };
  } finally {
    param.dispose();
  }
}

/** The loop with capture true and false, alternating (true, false, false, true) so that warming up favours neither; it/s from the summed time of each. */
async function classVisBoth(model: Model, size: number, steps: number): Promise<{ on: ClassVis; off: ClassVis }> {
  const runs: ClassVis[] = [];
  for (const capture of [true, false, false, true]) runs.push(await classVis(model, size, steps, capture));
  const merge = (capture: boolean): ClassVis => {
    const rs = runs.filter((r) => r.capture === capture);
    const ms = rs.reduce((a, r) => a + r.ms, 0);
    return { itPerSec: (rs.length * steps * 1000) / ms, ms: ms / rs.length, bindGroupsPerStep: Math.max(...rs.map((r) => r.bindGroupsPerStep)), capture };
  };
  return { on: merge(true), off: merge(false) };
}

/** The cost of one dispatch alone: ReLU over 64 floats, `count` times (flushed every 256), CPU and wall microseconds each. */
async function perDispatch(rt: Runtime, count: number): Promise<{ cpuUs: number; wallUs: number }> {
  const x = Tensor.fromData(rt, new Float32Array(64).map((_, i) => i - 32), [1, 1, 8, 8], 'x');
  const y = Tensor.empty(rt, [1, 1, 8, 8], 'y');
  try {
    const runs = [];
    for (let r = 0; r < 4; r++) {
      await rt.sync();
      const c0 = cpuMs();
      const t0 = performance.now();
      for (let i = 0; i < count; i++) relu(x, y);
      const t1 = performance.now();
      runs.push({ cpuUs: ((cpuMs() - c0) * 1000) / count, wallUs: ((t1 - t0) * 1000) / count });
    }
    await rt.sync();
    return { cpuUs: Math.min(...runs.slice(1).map((r) => r.cpuUs)), wallUs: Math.min(...runs.slice(1).map((r) => r.wallUs)) };
  } finally {
    x.dispose();
    y.dispose();
  }
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const rt = await Runtime.create(args.variant ? { variants: { conv2d: args.variant } } : {});
  const root = join(process.cwd(), 'weights');
  const out: unknown[] = [];
  const variant = conv2dVariant(rt);
  console.log(`adapter: ${rt.describe()}; conv2d variant ${variant}; batch 1; ${args.reps} repeats after a warm-up (record: min, median; wall: median)`);
  try {
    const one = await perDispatch(rt, 2000);
    console.log(`one dispatch (ReLU of 64 floats, 2000 in a row): ${one.cpuUs.toFixed(1)} us CPU, ${one.wallUs.toFixed(1)} us wall to record`);
    out.push({ perDispatch: one });
    for (const name of args.models) for (const fuseConvs of args.fusion) {
      const model = await loadModel(rt, join(root, name), { fuseConvs });
      try {
        const size = args.size ?? model.spec.input.height;
        const row = await benchModel(rt, model, fuseConvs, size, args.reps);
        const f = row.forward;
        const fb = row.forwardBackward;
        const launches = model.nodes.filter((n) => n.fused).length;
        console.log(`${name} ${size}x${size}, fusion ${fuseConvs ? `on (${launches} multi-conv launches)` : 'off'}: forward ${f.dispatches} dispatches, record ${f.cpuMs.toFixed(2)} ms CPU (median ${f.cpuMedianMs.toFixed(2)}; ${perUs(f)}; wall ${f.recordWallMs.toFixed(2)}; ${f.bindGroups} bind groups created), ${f.wallMs.toFixed(1)} ms wall`);
        console.log(`${' '.repeat(name.length)} forward+backward ${fb.dispatches} dispatches, record ${fb.cpuMs.toFixed(2)} ms CPU (median ${fb.cpuMedianMs.toFixed(2)}; ${perUs(fb)}; wall ${fb.recordWallMs.toFixed(2)}; ${fb.bindGroups} bind groups created), ${fb.wallMs.toFixed(1)} ms wall`);
        for (const [what, r] of [['forward', row.replayForward], ['forward+backward', row.replayForwardBackward]] as const) {
          console.log(`${' '.repeat(name.length)} replayed ${what} ${r.dispatches} dispatches, replay ${r.cpuMs.toFixed(2)} ms CPU (median ${r.cpuMedianMs.toFixed(2)}; ${perUs(r)}; wall ${r.recordWallMs.toFixed(2)}; ${r.bindGroups} bind groups created), ${r.wallMs.toFixed(1)} ms wall; capture once ${r.captureCpuMs.toFixed(2)} ms CPU, ${r.captureBindGroups} bind groups`);
        }
        // Class visualization at 64 x 64 where the classifier takes it (GoogLeNet's needs 223 or more: skipped).
        const visSize = 64;
        if (model.minInputSize() <= visSize + 2) {
          const vis = await classVisBoth(model, visSize, args.steps);
          const say = (v: ClassVis) => `${v.itPerSec.toFixed(2)} it/s, ${v.bindGroupsPerStep.toFixed(1)} bind groups created per step`;
          console.log(`${' '.repeat(name.length)} class-vis ${visSize}x${visSize} (Adam, roll; 2 loops each of ${args.steps} steps, alternating): capture true ${say(vis.on)}; capture false ${say(vis.off)}`);
          out.push({ ...row, classVis: { size: visSize, steps: args.steps, ...vis.on }, classVisNoCapture: { size: visSize, steps: args.steps, ...vis.off } });
        } else out.push(row);
      } finally {
        model.dispose();
      }
    }
  } finally {
    rt.destroy();
  }
  if (args.json) console.log(JSON.stringify({ date: new Date().toISOString(), adapter: rt.describe(), conv2dVariant: variant, rows: out }));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  },
);
