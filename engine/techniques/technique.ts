// The contract every visualization technique follows (engine/techniques/<name>.ts), so that the
// CLI (scripts/cli.ts), the app (ui/) and the tests drive every technique the same way:
//
//   - one options object per technique, described by `options` (OptionSpec[]): the CLI flags
//     (`--<flag>`), the URL query parameters (`?<flag>=`) and the panel controls are all generated
//     from it, so the three never drift apart; defaults come from the paper that introduced the
//     technique, `presets` hold published settings;
//   - `run(ctx, options)` computes the result as data (tensors read back into typed arrays plus
//     metadata), reporting progress `(done, total)` and honouring `ctx.signal`;
//   - `present(result)` turns the result into what people look at and what programs read: named
//     RGBA views (PNG in the CLI, canvases in the app), the raw array (.npy) and a JSON summary.
//     Colour maps, overlays and grids are shared display functions (engine/display/), never
//     re-written per technique.

import type { Model } from '../models/graph';
import type { Tensor } from '../tensor';
import type { LoopSettings } from './optvis/loop';

/** The lecture's grouping of techniques; the app's navigation follows it. */
export type TechniqueGroup = 'first-layer' | 'last-layer' | 'activations' | 'gradients' | 'optimization' | 'gallery' | 'engine';

interface OptionBase<K extends string, V> {
  kind: K;
  /** Key in the options object, e.g. 'patch'. */
  name: string;
  /** CLI flag and URL parameter (without dashes); default: `name` in kebab-case. */
  flag?: string;
  /** One line for --help, tooltips and labels. */
  help: string;
  default: V;
}

export type OptionSpec =
  | (OptionBase<'int' | 'number', number> & { min?: number; max?: number; step?: number })
  | (OptionBase<'enum', string> & { choices: readonly string[] })
  | OptionBase<'bool', boolean>
  /** Free text (e.g. a label substring). */
  | OptionBase<'string', string>
  /** A class: an index or a label substring; '' = the top-1 prediction. */
  | OptionBase<'class', string>
  /** A layer name; '' = the technique's default. `types` narrows the valid layers (e.g. ['conv']). */
  | (OptionBase<'layer', string> & { types?: readonly string[] })
  /** A channel index of the chosen layer; -1 = none. */
  | OptionBase<'channel', number>
  /** (channel, y, x) written 'c,y,x'; '' = none. */
  | OptionBase<'neuron', string>;

export type OptionValue = number | string | boolean;
export type Options = Record<string, OptionValue>;

/** An RGBA8 picture, row-major (engine/display/image.ts). */
export type { RgbaImage } from '../display/image';
import type { RgbaImage } from '../display/image';

/** What a technique runs on. */
export interface TechniqueContext {
  model: Model;
  /** The input image, when the technique takes one (decoded RGBA at its own size). */
  image?: RgbaImage;
  /** Stem used to name files ('n01443537_goldfish'); defaults chosen by the caller. */
  stem?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** A live run (the app's streaming panels) of an iterative technique: see optvis/live.ts. */
  live?: LiveHooks;
}

/** One step of a live run, counted over the whole run. */
export interface LiveStep {
  iteration: number;
  steps: number;
  /** The objective (mean over samples) read at `objectiveAt`; null before any read. */
  objective: number | null;
  objectiveAt: number;
  itPerSec: number;
}

/** What a live caller gives an iterative technique. */
export interface LiveHooks {
  /**
   * Awaited after every step with the image being optimized (N, 3, H, W), valid during the call,
   * and the loop's own settings object (what the step just used; read-only here).
   */
  onStep(step: LiveStep, image: Tensor, settings?: Readonly<LoopSettings>): void | Promise<void>;
  /** The option values now: the technique re-reads its `liveOptions` from them after each step. */
  options(): Options;
}

/** A picture a technique shows, e.g. the overlay, the heat map alone, a grid. */
export interface View {
  /** File suffix: '' gives `<stem>.<technique>.png`, 'heatmap' gives `<stem>.<technique>.heatmap.png`. */
  suffix: string;
  /** What it shows, for the summary and captions. */
  meaning: string;
  image: RgbaImage;
}

/** What a result becomes for people (views) and programs (raw array + summary). */
export interface Presentation {
  views: View[];
  /** The raw result, saved as float32 .npy. */
  raw: { data: Float32Array; shape: number[]; meaning: string };
  /** Per-image JSON: class, scores, timings, anything needed to recompute or judge the result. */
  summary: Record<string, unknown>;
}

export interface Technique<O extends Options = Options, R = unknown> {
  /** CLI subcommand and URL `technique=` value, e.g. 'saliency'. */
  name: string;
  title: string;
  group: TechniqueGroup;
  /** One paragraph: what it shows and who introduced it. */
  description: string;
  /** Whether run() needs ctx.image. */
  needsImage: boolean;
  options: readonly OptionSpec[];
  presets?: Record<string, Partial<O>>;
  run(ctx: TechniqueContext, options: O): Promise<R>;
  present(result: R, ctx: TechniqueContext): Presentation;
  /** Options an iterative technique re-reads at every step of a live run (ctx.live), e.g. lr. */
  liveOptions?: readonly string[];
  /** Output stem for a technique that takes no image (default: the model's name), e.g. the class or layer shown. */
  stem?(model: Model, options: O): string;
}

/** Throws an AbortError-named error when the signal has fired (call between GPU batches). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const e = new Error('aborted');
    e.name = 'AbortError';
    throw e;
  }
}

/** The flag / URL parameter of an option. */
export function flagOf(o: OptionSpec): string {
  return o.flag ?? o.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The default options object of a technique, with a preset applied when named. */
export function defaultOptions<O extends Options>(t: Technique<O>, preset?: string): O {
  const o = Object.fromEntries(t.options.map((s) => [s.name, s.default])) as O;
  if (preset !== undefined) {
    const p = t.presets?.[preset];
    if (!p) throw new Error(`${t.name}: unknown preset '${preset}' (presets: ${Object.keys(t.presets ?? {}).join(', ') || 'none'})`);
    Object.assign(o, p);
  }
  return o;
}

/**
 * Parse string values (CLI flags, URL parameters) into a checked options object. Unknown keys and
 * bad values fail naming the option and the valid choices.
 */
export function parseOptions<O extends Options>(t: Technique<O>, raw: Record<string, string>, preset?: string): O {
  const o = defaultOptions(t, preset);
  const byFlag = new Map(t.options.map((s) => [flagOf(s), s]));
  for (const [k, v] of Object.entries(raw)) {
    const s = byFlag.get(k);
    if (!s) throw new Error(`${t.name}: unknown option --${k} (options: ${[...byFlag.keys()].map((f) => `--${f}`).join(', ')})`);
    (o as Options)[s.name] = parseValue(t.name, s, v);
  }
  return o;
}

function parseValue(technique: string, s: OptionSpec, v: string): OptionValue {
  const bad = (want: string) => new Error(`${technique}: --${flagOf(s)} needs ${want}, got '${v}'`);
  switch (s.kind) {
    case 'int':
    case 'number': {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || (s.kind === 'int' && !Number.isInteger(n))) throw bad(s.kind === 'int' ? 'an integer' : 'a number');
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) throw bad(`a value in [${s.min ?? '-inf'}, ${s.max ?? 'inf'}]`);
      return n;
    }
    case 'channel': {
      const n = Number(v);
      if (!Number.isInteger(n) || n < -1) throw bad('a channel index (0, 1, ...)');
      return n;
    }
    case 'bool':
      if (v === '' || v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      throw bad('true or false');
    case 'enum':
      if (!s.choices.includes(v)) throw bad(`one of ${s.choices.join(', ')}`);
      return v;
    case 'neuron':
      if (v !== '' && !/^\d+,\d+,\d+$/.test(v)) throw bad('c,y,x (three non-negative integers)');
      return v;
    default:
      return v;
  }
}
