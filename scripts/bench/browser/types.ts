// What `npm run bench:browser` passes between Node and the benchmark page: the cases to time
// (computed in Node from the converted specs, see cases.ts) and the rows the page measures.
// Plain data only, no imports with side effects: both sides import this file.

import type { BenchLayer } from '../layers';
import type { TimingOptions } from '../timing';

export type Chw = [number, number, number];

/** A non-conv, non-linear layer at its real shape: pooling, LRN, ReLU, softmax, concat. */
export interface OpCase {
  model: string;
  name: string;
  /** Other layers of the same model with the identical shape and parameters. */
  same: string[];
  family: 'maxpool' | 'avgpool' | 'lrn' | 'relu' | 'softmax' | 'concat';
  /** One (C, H, W) per input (concat has several); batch 1. */
  inputs: Chw[];
  output: Chw;
  kernel?: [number, number];
  stride?: [number, number];
  pad?: [number, number, number, number];
  ceil?: boolean;
  countIncludePad?: boolean;
  lrn?: { size: number; alpha: number; beta: number; k: number };
}

/** A whole network the page loads from /weights/<dir>/. */
export interface NetworkCase {
  dir: string;
  /** Forward FLOPs per image (conv + linear). */
  flopsPerImage: number;
  batches: number[];
}

/** A conv / linear layer of scripts/bench/layers.ts with what the page cannot compute (layers.ts reads files). */
export interface LayerCase {
  layer: BenchLayer;
  id: string;
  shape: string;
  flops: number;
}

/** Technique rows (techniques.ts): one network at one input size, and the items to time there (technique_plan.ts names them). */
export interface TechniqueCase {
  dir: string;
  /** The spec's name (optvis_cases.ts picks its layers by it). */
  network: string;
  group: 'attribution' | 'optimization';
  size: number;
  items: string[];
  /** --quick: the small attribution counts and 2 loop steps a call. */
  quick: boolean;
}

export interface PageConfig {
  layers: LayerCase[];
  ops: OpCase[];
  networks: NetworkCase[];
  /** --iters / --repeats; the page picks the defaults by adapter kind (scripts/bench/context.ts). */
  iters?: number;
  repeats?: number;
  tfjs: boolean;
  /** Whole-network forward rows also on ONNX Runtime Web's WebGPU EP (ort.ts); default true, --no-ort: false. */
  ort?: boolean;
  /** --ort-no-adapter: ORT's WebGPU EP is refused an adapter (ort.ts), so its rows say 'unavailable: <reason>'. */
  ortNoAdapter?: boolean;
  techniques: TechniqueCase[];
}

/** One engine's measurement of one row. */
export interface EngineTiming {
  /** The reported ms: GPU time from timestamp queries where the adapter has them, else wall time. */
  ms: number | null;
  wallMs: number | null;
  gpuMs: number | null;
  gflops: number | null;
  gbps: number | null;
  /** Per-repeat ms of the reported clock. */
  samples?: number[];
  /** (max - min) / median of the samples. */
  spread?: number | null;
  error?: string;
}

export interface BrowserRow {
  /** 'layer' (conv, linear), 'op' (the other families), 'network' or 'technique' (family: attribution | optimization). */
  kind: 'layer' | 'op' | 'network' | 'technique';
  id: string;
  family: string;
  /** forward | backward for layers and ops; forward | forward+backward for networks and techniques. */
  direction: string;
  /** Our kernel variant ('default' for ops and networks). */
  variant: string;
  shape: string;
  batch: number;
  flops: number;
  bytes: number;
  ours: EngineTiming;
  /** Conv / linear: every kernel variant (ours is the adapter's default one). */
  variants?: Record<string, EngineTiming>;
  /** TF.js ms / our fastest variant's ms. */
  ratioBest?: number | null;
  tfjs: EngineTiming | null;
  /** TF.js ms / our ms (> 1: ours is faster). */
  ratio: number | null;
  /** Techniques: how our side is computed; their ms are wall time per image / loop step, each call ending with its result on the CPU. */
  how?: string;
  /** Techniques: what the numbers depend on, also in the id: attribution rows the counts (smoothN, smoothSigma, igSteps, batch, occlusionGrid), optimization rows { steps } a call. */
  counts?: Record<string, number>;
  /** Network forward rows: ONNX Runtime Web's WebGPU EP on the exported model (null: not run; error 'unavailable: ...' where the EP failed). */
  ort?: EngineTiming | null;
  /** ORT wall ms / our wall ms (wallMs: both wall clocks; > 1: ours is faster). */
  ratioOrt?: number | null;
  /** max |ORT logits - our logits| for the same input, and max |our logits| for scale. */
  ortMaxAbsDiff?: number | null;
  ortMaxAbsLogit?: number | null;
  /** ORT's session warnings (e.g. nodes it placed on its CPU EP) and errors. */
  ortNote?: string;
  /**
   * Network rows: our same pass (forward, or forward + backward) recorded once with rt.capture
   * (outside the timed region) and timed as capture.replay() + queue completion, exactly like
   * `ours` (same clock, warm-up, repeats); error 'replay check failed: ...' where it could not run.
   */
  oursReplayed?: EngineTiming;
  /**
   * max |replayed - ordinary| over the pass's output for the same input (the logits; the input
   * gradient for forward + backward); 0: bit-identical; null where the check failed.
   */
  replayMaxAbsDiff?: number | null;
  /** Dispatches per replay, and bind groups created over all the timed replays (0). */
  replayDispatches?: number;
  replayBindGroups?: number;
  /** Our ordinary pass's ms / our replayed ms (> 1: the replay is faster). */
  ratioReplayed?: number | null;
  /** TF.js ms / our replayed ms. */
  ratioTfjsReplayed?: number | null;
  /** ORT wall ms / our replayed wall ms (both prepared graphs; > 1: ours is faster). */
  ratioOrtReplayed?: number | null;
}

export interface PageResult {
  adapter: { vendor: string; architecture: string; device: string; description: string; kind: string; features: string[] };
  tfjsAdapter: string | null;
  tfjsMissing: string | null;
  /** Which clock `ms` is: 'timestamp-query' (GPU time of each dispatch) or 'wall-time'. */
  timing: 'timestamp-query' | 'wall-time';
  tfjsTiming: 'timestamp-query' | 'wall-time' | null;
  defaultVariants: Record<string, string>;
  timingOptions: TimingOptions;
  rows: BrowserRow[];
  /** The ONNX Runtime Web side (null: --no-ort). */
  ort?: {
    version: string; executionProvider: string; timing: string;
    /** --ort-no-adapter was given. */
    adapterRefused: boolean;
    /** '<network>: unavailable: <reason>' for each network ORT could not open (empty: every one opened). */
    unavailable: string[];
  } | null;
}
