// Page side: the ONNX Runtime Web rows of the whole-network forward. The page exports the same
// converted model it gives our engine (scripts/onnx/export.ts, same spec, same safetensors bytes)
// to ONNX, opens it with onnxruntime-web's WebGPU execution provider (its own GPUDevice on the
// same adapter), checks its logits against ours for the same input, and times session.run().
//
// Timing: ORT exposes no GPU timestamps, so this is wall time, like our and TF.js's rows on
// adapters without timestamp queries: the input lives in a GPU buffer on ORT's device, outputs
// stay on the GPU ('gpu-buffer', disposed after each run), `iters` runs are chained back to back
// and one repeat ends when the last run has resolved and ORT's queue reports onSubmittedWorkDone.
// Where the EP cannot start, the row says 'unavailable: <reason>' (ORT's own error) and the run
// goes on; ops ORT places on its CPU EP instead (its session-creation warnings) are listed in the
// row's note. `--ort-no-adapter` makes that happen on purpose: while ORT sets up its EP,
// navigator.gpu.requestAdapter() answers null to it (as in a browser that gives ORT no WebGPU
// adapter), and our engine and TF.js keep the adapter they already have.

import * as ort from 'onnxruntime-web/webgpu';
import type { Model } from '../../../engine/models/graph';
import type { ModelSpec } from '../../../engine/models/spec';
import type { Tensor } from '../../../engine/tensor';
import { exportOnnx } from '../../onnx/export';
import type { Runner } from './ops';
import type { BrowserRow, EngineTiming, PageResult } from './types';

/** Where the Vite server serves onnxruntime-web's .wasm / .mjs (repository root = server root). */
export const ORT_WASM_PATH = '/node_modules/onnxruntime-web/dist/';
export const ORT_TIMING =
  'wall time around session.run() (no timestamps exposed): input in a GPU buffer, outputs kept on the GPU (gpu-buffer), iterations chained, then onSubmittedWorkDone on its device';

export interface OrtNet {
  session: ort.InferenceSession;
  device: GPUDevice;
  spec: ModelSpec;
  /** Session-creation warnings (e.g. nodes placed on the CPU EP). */
  warnings: string[];
}

/** An opened network, or why ORT's WebGPU EP could not run it. */
export type OrtSide = { net: OrtNet } | { error: string };

const short = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);

function configure(): void {
  ort.env.wasm.wasmPaths = ORT_WASM_PATH;
  // No cross-origin isolation on the page, so no SharedArrayBuffer: one thread (ORT would fall back to it anyway).
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'warning';
}

/** Why ORT could not open a network in this page ('unavailable: ...'), for the JSON. */
const unavailable: string[] = [];

/** Run `f` with navigator.gpu.requestAdapter() answering null (ORT's EP then fails to start with its own error). */
async function withoutAdapter<T>(f: () => Promise<T>): Promise<T> {
  const gpu = navigator.gpu as GPU & { requestAdapter: GPU['requestAdapter'] };
  gpu.requestAdapter = async () => null;
  try {
    return await f();
  } finally {
    // The own property shadowed GPU.prototype.requestAdapter; removing it restores the real one.
    delete (gpu as Partial<GPU>).requestAdapter;
  }
}

/** Export `spec` + `weights` to ONNX in the page and open it on the WebGPU EP (`noAdapter`: refuse ORT an adapter, see above). */
export async function openOrt(spec: ModelSpec, weights: Uint8Array, file: string, o: { noAdapter?: boolean } = {}): Promise<OrtSide> {
  const side = await open(spec, weights, file, o.noAdapter ?? false);
  if ('error' in side) unavailable.push(`${spec.name}: ${side.error}`);
  return side;
}

async function open(spec: ModelSpec, weights: Uint8Array, file: string, noAdapter: boolean): Promise<OrtSide> {
  configure();
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(spec, weights, { file }).bytes;
  } catch (e) {
    return { error: `unavailable: ${short(e)}` };
  }
  // ORT reports placement on the console while the session is built (its native log goes to console.error).
  const warnings: string[] = [];
  const saved = { warn: console.warn, log: console.log, error: console.error };
  const grab = (to: (...a: unknown[]) => void) => (...a: unknown[]) => {
    const s = a.map(String).join(' ');
    // ORT colours its log lines with ANSI escapes.
    if (/onnxruntime|\[W:|\[E:/.test(s)) warnings.push(s.replace(/\x1b\[[0-9;]*m/g, '').slice(0, 300));
    to(...a);
  };
  console.warn = grab(saved.warn);
  console.log = grab(saved.log);
  console.error = grab(saved.error);
  try {
    const create = () => ort.InferenceSession.create(bytes, {
      executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer', graphOptimizationLevel: 'all', logSeverityLevel: 2,
    });
    const session = await (noAdapter ? withoutAdapter(create) : create());
    const device = (await ort.env.webgpu.device) as GPUDevice;
    return { net: { session, device, spec, warnings } };
  } catch (e) {
    return { error: `unavailable: ${short(e)}` };
  } finally {
    console.warn = saved.warn;
    console.log = saved.log;
    console.error = saved.error;
  }
}

function gpuInput(net: OrtNet, data: Float32Array<ArrayBuffer>, shape: number[]): { tensor: ort.Tensor; buffer: GPUBuffer } {
  const buffer = net.device.createBuffer({ label: 'ort bench input', size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  net.device.queue.writeBuffer(buffer, 0, data);
  return { tensor: ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: shape }), buffer };
}

/** One whole-network forward per run(); sync() waits for every chained run and ORT's queue. */
function ortRunner(net: OrtNet, data: Float32Array<ArrayBuffer>, shape: number[]): Runner {
  const input = gpuInput(net, data, shape);
  const feeds = { [net.spec.input.name]: input.tensor };
  let chain: Promise<void> = Promise.resolve();
  return {
    run() {
      chain = chain.then(async () => {
        const out = await net.session.run(feeds);
        for (const t of Object.values(out)) t.dispose();
      });
    },
    async sync() {
      await chain;
      await net.device.queue.onSubmittedWorkDone();
    },
    dispose() {
      void chain.finally(() => input.buffer.destroy());
    },
  };
}

/** ORT's logits for the input, read back. */
async function ortLogits(net: OrtNet, data: Float32Array<ArrayBuffer>, shape: number[]): Promise<Float32Array> {
  const input = gpuInput(net, data, shape);
  try {
    const out = await net.session.run({ [net.spec.input.name]: input.tensor });
    const logits = (await out[net.spec.logits].getData()) as Float32Array;
    for (const t of Object.values(out)) t.dispose();
    return logits;
  } finally {
    input.buffer.destroy();
  }
}

const failed = (error: string): EngineTiming => ({ ms: null, wallMs: null, gpuMs: null, gflops: null, gbps: null, error });

/**
 * The ORT fields of a forward row: its timing (through the page's `time`, warm-up, repeats and
 * median as for the other engines) and max |ORT - ours| over the logits of the same input (ours
 * from a forward of `input`, ORT's from the values read back from it).
 */
export async function ortForward(
  side: OrtSide, model: Model, input: Tensor, time: (make: () => Runner) => Promise<EngineTiming>,
): Promise<Pick<BrowserRow, 'ort' | 'ortMaxAbsDiff' | 'ortMaxAbsLogit' | 'ortNote'>> {
  if ('error' in side) return { ort: failed(side.error), ortMaxAbsDiff: null };
  const { net } = side;
  const shape = [...input.shape];
  let data: Float32Array<ArrayBuffer>;
  let diff: number | null = null;
  let scale = 0;
  const note = net.warnings.length ? net.warnings.join(' | ') : undefined;
  try {
    data = new Float32Array(await input.read());
    model.forward(input);
    const ours = await model.readActivation(net.spec.logits);
    const theirs = await ortLogits(net, data, shape);
    if (theirs.length !== ours.length) throw new Error(`ORT logits have ${theirs.length} values, ours ${ours.length}`);
    diff = 0;
    for (let i = 0; i < ours.length; i++) {
      diff = Math.max(diff, Math.abs(theirs[i] - ours[i]));
      scale = Math.max(scale, Math.abs(ours[i]));
    }
  } catch (e) {
    return { ort: failed(`logits check failed: ${short(e)}`), ortMaxAbsDiff: null, ortNote: note };
  }
  return { ort: await time(() => ortRunner(net, data, shape)), ortMaxAbsDiff: diff, ortMaxAbsLogit: scale, ortNote: note };
}

export async function closeOrt(side: OrtSide | null): Promise<void> {
  if (side && 'net' in side) await side.net.session.release();
}

/** What the JSON says about the ORT side. */
export function ortInfo(noAdapter: boolean): NonNullable<PageResult['ort']> {
  return {
    version: ort.env.versions.web ?? ort.env.versions.common, executionProvider: 'webgpu', timing: ORT_TIMING,
    adapterRefused: noAdapter, unavailable: [...unavailable],
  };
}
