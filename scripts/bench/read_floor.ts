// How fast can a WGSL kernel read memory on this adapter? The floor under a batch-1 FC forward,
// which reads each weight once (issue 11: on SwiftShader that layer misses 3x TF.js).
//
//   npx vite-node scripts/bench/read_floor.ts -- [--out N] [--in N] [--reps R] [--json]
//
// A weight matrix of Out x In floats (default 4096 x 4096, AlexNet fc7's 64 MB) is read once per
// pass by kernels that only sum what they load, in the load patterns a GEMV can use:
//   scalar-adjacent  f32 loads, neighbouring lanes at neighbouring addresses, 8 per loop iteration
//   vec4-adjacent    vec4 loads, neighbouring lanes at neighbouring vec4s, 4 per iteration
//   vec4-rows        vec4 loads, one matrix row per invocation (the GEMV's layout), 8 per iteration
// and beside them, in the same run, the engine's own linear forward at batch 1 on the same shape
// (the adapter's default variant: on CPU adapters 'register', whose vec4 entry point reads like
// vec4-rows plus the multiply-adds), and a plain JavaScript loop summing the same floats on the CPU
// (what the machine's memory gives one thread). Each kernel's sums are checked against the CPU's
// sum of the data, so none can skip its loads. R repeats after a warm-up, in rounds that take
// every case in turn; ms are medians (min beside), GB/s from the median.

import { Runtime } from '../../engine/runtime';
import { Tensor } from '../../engine/tensor';
import { linear } from '../../engine/ops/linear';
import { linearVariant } from '../../engine/kernels/linear';
import { randomArray } from '../lib/random';
import { median } from './timing';

export interface FloorArgs { out: number; in: number; reps: number; json: boolean }

export interface FloorRow { case: string; ms: number; minMs: number; gbPerS: number; samples: number[] }

export function parseFloorArgs(argv: readonly string[]): FloorArgs {
  const a: FloorArgs = { out: 4096, in: 4096, reps: 7, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const num = (): number => {
      const s = argv[++i];
      const v = Number(s);
      if (!Number.isInteger(v) || v < 1) throw new Error(`read_floor: ${k} needs a positive integer, got '${s ?? ''}'`);
      return v;
    };
    if (k === '--') continue;
    else if (k === '--out') a.out = num();
    else if (k === '--in') a.in = num();
    else if (k === '--reps') a.reps = num();
    else if (k === '--json') a.json = true;
    else throw new Error(`read_floor: unknown option '${k}' (valid: --out N, --in N, --reps R, --json)`);
  }
  if (a.in % 32 !== 0) throw new Error(`read_floor: --in must be a multiple of 32 (whole vec4 rows, 8 per loop step), got ${a.in}`);
  if (a.out % 64 !== 0) throw new Error(`read_floor: --out must be a multiple of 64 (whole workgroups), got ${a.out}`);
  if ((a.out * a.in) % 65536 !== 0) throw new Error(`read_floor: --out x --in must be a multiple of 65536 (64 chunks of whole loop steps), got ${a.out * a.in}`);
  return a;
}

const WG = 64;
const CHUNKS = 64; // workgroups of the adjacent kernels, each summing one contiguous chunk

/** The read kernels: WGSL and their workgroup counts for an Out x In matrix. */
function readKernels(outF: number, inF: number): { name: string; code: string; workgroups: number; partials: number }[] {
  const total = outF * inF;
  const head = (t: string) => `@group(0) @binding(0) var<storage, read> w: array<${t}>;\n@group(0) @binding(1) var<storage, read_write> sums: array<f32>;\n`;
  const unroll = (n: number, stride: number) => Array.from({ length: n }, (_, i) => `w[b + ${i * stride}u]`).join(' + ');
  const chunk = total / CHUNKS; // floats per workgroup: a multiple of 1024 (parseFloorArgs), whole loop steps of both kernels
  return [
    {
      name: 'scalar-adjacent', workgroups: CHUNKS, partials: CHUNKS * WG,
      code: head('f32') + `@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let base = g.x * ${chunk}u + l.x;
  var s = 0.0;
  for (var j = 0u; j < ${chunk}u; j += ${8 * WG}u) { let b = base + j; s += ${unroll(8, WG)}; }
  sums[g.x * ${WG}u + l.x] = s;
}`,
    },
    {
      name: 'vec4-adjacent', workgroups: CHUNKS, partials: CHUNKS * WG,
      code: head('vec4f') + `@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let base = g.x * ${chunk / 4}u + l.x;
  var s = vec4f(0.0);
  for (var j = 0u; j < ${chunk / 4}u; j += ${4 * WG}u) { let b = base + j; s += ${unroll(4, WG)}; }
  sums[g.x * ${WG}u + l.x] = dot(s, vec4f(1.0));
}`,
    },
    {
      name: 'vec4-rows', workgroups: outF / WG, partials: outF,
      code: head('vec4f') + `@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) g: vec3u) {
  let base = g.x * ${inF / 4}u;
  var s = vec4f(0.0);
  for (var k = 0u; k < ${inF / 4}u; k += 8u) { let b = base + k; s += ${unroll(8, 1)}; }
  sums[g.x] = dot(s, vec4f(1.0));
}`,
    },
  ];
}

/** Seeded values in [-0.5, 0.5] (randomArray) with their float64 sum and absolute sum, for the checks. */
function data(n: number): { values: Float32Array; sum: number; absSum: number } {
  const values = randomArray(n, 12345, 0.5);
  let sum = 0;
  let absSum = 0;
  for (const v of values) {
    sum += v;
    absSum += Math.abs(v);
  }
  return { values, sum, absSum };
}

export async function runReadFloor(args: FloorArgs, log: (s: string) => void, rt?: Runtime): Promise<{ adapter: string; linearVariant: string; rows: FloorRow[] }> {
  const own = !rt;
  const runtime = rt ?? (await Runtime.create());
  const { device } = runtime;
  const { out: outF, in: inF } = args;
  const bytes = outF * inF * 4;
  const limit = device.limits.maxStorageBufferBindingSize;
  if (bytes > limit) throw new Error(`read_floor: ${outF} x ${inF} floats (${bytes} bytes) is over this device's maxStorageBufferBindingSize ${limit}`);
  const { values, sum, absSum } = data(outF * inF);
  const w = Tensor.fromData(runtime, values, [outF, inF, 1, 1], 'read_floor w');
  const x = Tensor.fromData(runtime, new Float32Array(inF).fill(1), [1, inF, 1, 1], 'read_floor x');
  const sums = Tensor.empty(runtime, [1, Math.max(CHUNKS * WG, outF), 1, 1], 'read_floor sums');
  try {
    const kernels = await Promise.all(readKernels(outF, inF).map(async (k) => {
      const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: k.code, label: `read_floor ${k.name}` }), entryPoint: 'main' } });
      const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: w.binding() }, { binding: 1, resource: sums.binding() }] });
      return { ...k, pipeline, bindGroup };
    }));
    const runKernel = (k: (typeof kernels)[number]) => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(k.pipeline);
      pass.setBindGroup(0, k.bindGroup);
      pass.dispatchWorkgroups(k.workgroups);
      pass.end();
      device.queue.submit([enc.finish()]);
    };
    const sumOf = async (n: number): Promise<number> => (await sums.read()).subarray(0, n).reduce((a, b) => a + b, 0);
    // float32 partial sums of ~1e7 values: allow a rounding error proportional to the magnitudes.
    const tol = 1e-5 * absSum + 1e-3;
    const check = (name: string, got: number) => {
      if (!(Math.abs(got - sum) <= tol)) throw new Error(`read_floor: ${name} summed ${got}, the data sums to ${sum} (tolerance ${tol.toExponential(1)}): it did not read every element once`);
    };
    for (const k of kernels) {
      runKernel(k);
      check(k.name, await sumOf(k.partials));
    }
    const y = linear(x, w, null);
    check('linear', (await y.read()).reduce((a, b) => a + b, 0));
    y.dispose();

    const cases: { name: string; run: () => Promise<void> }[] = [
      ...kernels.map((k) => ({ name: k.name, run: async () => { runKernel(k); await device.queue.onSubmittedWorkDone(); } })),
      { name: `engine linear b1 (${linearVariant(runtime, 1)})`, run: async () => { linear(x, w, null).dispose(); await runtime.sync(); } },
      { name: 'CPU: JavaScript loop, one thread', run: async () => {
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let i = 0; i < values.length; i += 4) { a0 += values[i]; a1 += values[i + 1]; a2 += values[i + 2]; a3 += values[i + 3]; }
        if (!(Math.abs(a0 + a1 + a2 + a3 - sum) <= tol)) throw new Error('read_floor: the CPU loop summed wrong');
      } },
    ];
    const samples = cases.map(() => [] as number[]);
    for (let r = -1; r < args.reps; r++) {
      for (const [i, c] of cases.entries()) {
        const t0 = performance.now();
        await c.run();
        if (r >= 0) samples[i].push(performance.now() - t0);
      }
    }
    const adapter = runtime.describe();
    log(`read floor: ${outF} x ${inF} floats (${(bytes / 2 ** 20).toFixed(1)} MiB) read once per pass; ${adapter}; median of ${args.reps} (min), wall time to queue completion`);
    const rows = cases.map((c, i) => {
      const ms = median(samples[i]);
      return { case: c.name, ms, minMs: Math.min(...samples[i]), gbPerS: bytes / (ms * 1e6), samples: samples[i] };
    });
    for (const r of rows) log(`  ${r.case.padEnd(34)} ${r.ms.toFixed(2).padStart(9)} ms (min ${r.minMs.toFixed(2)})  ${r.gbPerS.toFixed(2).padStart(6)} GB/s`);
    return { adapter, linearVariant: linearVariant(runtime, 1), rows };
  } finally {
    w.dispose();
    x.dispose();
    sums.dispose();
    if (own) runtime.destroy();
  }
}

// Run as a script (vite-node); the test imports runReadFloor and parseFloorArgs under Vitest.
if (!process.env.VITEST) {
  const args = parseFloorArgs(process.argv.slice(2));
  const result = await runReadFloor(args, (s) => console.log(s));
  if (args.json) console.log(JSON.stringify({ date: new Date().toISOString(), args, ...result }));
  process.exit(0);
}
