import { css, html, LitElement, nothing } from 'lit';
import type { LoopSettings } from '../engine/techniques/optvis/index';
import type { VisOptions, VisPlan } from '../engine/techniques/optvis/vis';
import { defaultOptions, type OptionValue, type Options, type Technique } from '../engine/techniques/technique';
import { LIVE_SETTINGS } from './app_panels';
import './cnn-chart';
import type { ChartSpec } from './cnn-chart';
import './cnn-option-control';
import type { CanvasPath } from './live_canvas';
import { liveSettings, runLive, type LiveResult, type ModelInfo } from './session';

export type LiveState = 'idle' | 'running' | 'done' | 'error';

/** Redraw the objective plot at most this often (ms): uPlot's setData is cheap, but not free. */
const PLOT_EVERY_MS = 250;

/**
 * `<cnn-live-run>`: an iterative technique run live (the optimization loop of
 * engine/techniques/optvis/loop.ts, with the class-vis technique's options): every iteration drawn into a canvas, straight from the GPU
 * where the canvas can share the device (else a read-back per frame, and it says which), Pause /
 * Resume / Cancel, a live iterations-per-second counter and a uPlot plot of the objective. The
 * options marked "(live)" change the running loop at its next step; the others apply to the next run.
 *
 * @property technique - the panel's entry (its options: app_panels.ts LIVE_CLASS_VIS).
 * @property model - the model's name; `info` its layers and labels.
 * @property options - option values (the URL's); edits fire `options-change`.
 * @attr data-state - `idle | running | done | error` (a paused run is still `running`, with data-paused).
 * @attr data-frames - frames drawn in the current run.
 * @fires options-change - `CustomEvent<Options>` when a control changes.
 */
export class CnnLiveRun extends LitElement {
  static override properties = {
    technique: { attribute: false },
    model: { type: String },
    info: { attribute: false },
    options: { attribute: false },
    state: { state: true },
    paused: { state: true },
    step: { state: true },
    error: { state: true },
    result: { state: true },
    path: { state: true },
    plot: { state: true },
  };

  declare technique: Technique;
  declare model: string;
  declare info: ModelInfo | null;
  declare options: Options;
  declare state: LiveState;
  declare paused: boolean;
  declare step: { iteration: number; steps: number; itPerSec: number; objective: number | null };
  declare error: string;
  declare result: LiveResult | null;
  declare path: CanvasPath | null;
  declare plot: ChartSpec | null;
  private controller: AbortController | null = null;
  private resume: (() => void) | null = null;
  /** The running loop's settings (the loop reads them at every step) and its resolved plan. */
  settings: LoopSettings | null = null;
  private plan: VisPlan | null = null;
  private history: [number[], number[]] = [[], []];
  private plotAt = 0;
  private frames = 0;
  private runId = 0;

  static override styles = css`
    :host { display: block; }
    header h2 { margin: 0; font-size: 1.35rem; }
    header p { margin: 0.35rem 0 0; color: var(--muted, #6b7080); max-width: 48rem; }
    form { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: 0.9rem 1.2rem; margin: 1.1rem 0; }
    .actions { display: flex; gap: 0.6rem; align-items: center; flex-wrap: wrap; }
    button { font: inherit; padding: 0.45rem 1.1rem; border-radius: 0.45rem; border: 1px solid var(--line, #ccd); background: var(--panel, #fff); color: var(--ink, #1d2230); cursor: pointer; }
    button.run { background: var(--accent, #3b6fe0); border-color: var(--accent, #3b6fe0); color: #fff; font-weight: 600; }
    button:disabled { opacity: 0.5; cursor: default; }
    button:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent, #3b6fe0) 40%, transparent); outline-offset: 2px; }
    .status { color: var(--muted, #6b7080); font-size: 0.88rem; font-variant-numeric: tabular-nums; }
    .error { color: var(--bad, #b3261e); background: color-mix(in srgb, var(--bad, #b3261e) 7%, transparent); border-radius: 0.45rem; padding: 0.6rem 0.8rem; white-space: pre-wrap; margin: 0.8rem 0 0; }
    .live { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 1.4rem; margin-top: 1.1rem; align-items: start; }
    @media (max-width: 60rem) { .live { grid-template-columns: 1fr; } }
    figure { margin: 0; }
    canvas { width: 288px; height: 288px; border-radius: 0.5rem; background: var(--track, #e6e8ee); image-rendering: pixelated; display: block; }
    figcaption { color: var(--muted, #6b7080); font-size: 0.8rem; margin-top: 0.35rem; max-width: 288px; }
    .counter { font-size: 1.6rem; font-weight: 650; font-variant-numeric: tabular-nums; letter-spacing: -0.01em; }
    .counter small { font-size: 0.85rem; font-weight: 400; color: var(--muted, #6b7080); margin-left: 0.3rem; }
    progress { width: 100%; height: 0.45rem; accent-color: var(--accent, #3b6fe0); }
  `;

  constructor() {
    super();
    this.model = '';
    this.info = null;
    this.options = {};
    this.state = 'idle';
    this.paused = false;
    this.step = { iteration: 0, steps: 0, itPerSec: 0, objective: null };
    this.error = '';
    this.result = null;
    this.path = null;
    this.plot = null;
  }

  protected override updated(): void {
    this.dataset.state = this.state;
    this.dataset.frames = String(this.frames);
    if (this.paused) this.dataset.paused = '';
    else delete this.dataset.paused;
  }

  private get values(): Options {
    return { ...defaultOptions(this.technique), ...this.options };
  }

  private get canvas(): HTMLCanvasElement | null {
    return this.renderRoot.querySelector('canvas');
  }

  /** Start a run (one in flight is cancelled first); resolves when it ends. */
  async run(): Promise<void> {
    this.cancel();
    await this.updateComplete;
    const canvas = this.canvas;
    if (!canvas) return;
    const side = Number(this.values.size) || (this.info?.input[1] ?? 224);
    canvas.width = canvas.height = side * Math.max(1, Math.ceil(288 / side));
    const v = this.values;
    const id = ++this.runId;
    const controller = (this.controller = new AbortController());
    this.history = [[], []];
    this.plot = null;
    this.plotAt = 0;
    this.frames = 0;
    this.paused = false;
    this.result = null;
    this.error = '';
    this.step = { iteration: 0, steps: v.steps as number, itPerSec: 0, objective: null };
    this.state = 'running';
    this.dataset.state = 'running';
    try {
      const o = v as VisOptions & { class: string };
      const settings = (plan: VisPlan) => {
        this.plan = plan;
        return (this.settings = liveSettings(plan, o));
      };
      const r = await runLive(this.model, o, settings, canvas, controller.signal, (s, path) => {
        if (id !== this.runId) return;
        this.frames++;
        this.path = path;
        this.step = s;
        if (s.objective !== null && s.objectiveAt === s.iteration) {
          this.history[0].push(s.iteration);
          this.history[1].push(s.objective);
        }
        const now = performance.now();
        if (now - this.plotAt > PLOT_EVERY_MS || s.iteration === s.steps) this.updatePlot(now);
        if (this.paused && !controller.signal.aborted) return new Promise<void>((res) => (this.resume = res));
        return new Promise<void>((res) => setTimeout(res, 0)); // a macrotask per step: the page stays responsive
      });
      if (id !== this.runId) return;
      this.updatePlot(performance.now());
      this.result = r;
      this.state = r.loop.aborted ? 'idle' : 'done';
      if (r.loop.aborted) this.error = `Cancelled after ${r.loop.iterations} iterations.`;
    } catch (e) {
      if (id !== this.runId) return;
      this.error = e instanceof Error ? e.message : String(e);
      this.state = 'error';
    } finally {
      if (id === this.runId) {
        this.controller = null;
        this.paused = false;
        this.dataset.frames = String(this.frames);
      }
    }
  }

  private updatePlot(now: number): void {
    this.plotAt = now;
    const [x, y] = this.history;
    this.plot = { title: 'Objective (class logit)', x: { label: 'iteration' }, y: { label: 'logit' }, height: 240,
      series: [{ label: 'objective', x: [...x], y: [...y], color: '#3b6fe0' }] };
  }

  pause(): void {
    if (this.state === 'running') this.paused = true;
  }

  unpause(): void {
    this.paused = false;
    this.resume?.();
    this.resume = null;
  }

  /** Stop the run at its next step (the canvas keeps the last frame). */
  cancel(): void {
    this.controller?.abort();
    this.controller = null;
    this.unpause();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.cancel();
  }

  private onOption(e: CustomEvent<{ name: string; value: OptionValue }>): void {
    const { name, value } = e.detail;
    this.options = { ...this.options, [name]: value };
    if (this.settings && this.plan && (LIVE_SETTINGS as readonly string[]).includes(name)) {
      // lr 0 means "the default for the parameterization" (visPlan); the pixel regularizers do nothing in Fourier space.
      const v = name === 'lr' ? (value as number) || this.plan.lr : this.plan.param === 'pixel' ? (value as number) : 0;
      (this.settings as unknown as Record<string, number>)[name] = v;
    }
    this.dispatchEvent(new CustomEvent<Options>('options-change', { detail: this.options, bubbles: true, composed: true }));
  }

  private renderStatus() {
    const s = this.step;
    if (this.state === 'idle' && !s.iteration) return html`<span class="status">Press Run to start.</span>`;
    return html`<span class="status">${this.paused ? 'paused' : this.state === 'running' ? 'running' : this.state}
      ${this.result ? html` \u00b7 ${this.result.loop.iterations} iterations in ${(this.result.loop.ms / 1000).toFixed(1)} s` : nothing}</span>`;
  }

  override render() {
    const t = this.technique;
    if (!t) return nothing;
    const v = this.values;
    const s = this.step;
    const running = this.state === 'running';
    return html`
      <header><h2>${t.title}</h2><p>${t.description}</p></header>
      <form @submit=${(e: Event) => { e.preventDefault(); void this.run(); }} @option-change=${this.onOption}>
        ${t.options.map((o) => html`<cnn-option-control .spec=${o} .value=${v[o.name]} .layers=${this.info?.layers ?? []} .labels=${this.info?.labels ?? []}
          .receptiveField=${this.info?.receptiveField ?? new Map()}></cnn-option-control>`)}
        <button type="submit" hidden></button>
      </form>
      <div class="actions">
        <button class="run" @click=${() => void this.run()}>${running ? 'Restart' : 'Run'}</button>
        <button class="pause" ?disabled=${!running} @click=${() => (this.paused ? this.unpause() : this.pause())}>${this.paused ? 'Resume' : 'Pause'}</button>
        <button class="cancel" ?disabled=${!running} @click=${() => this.cancel()}>Cancel</button>
        ${this.renderStatus()}
      </div>
      ${this.error ? html`<p class=${this.state === 'error' ? 'error' : 'status'} role=${this.state === 'error' ? 'alert' : nothing}>${this.error}</p>` : nothing}
      <div class="live">
        <figure>
          <canvas aria-label="the image being optimized"></canvas>
          <figcaption>${this.result ? `class ${this.result.classIndex} (${this.result.label}); ` : ''}${this.path === 'gpu'
            ? 'drawn from the GPU each iteration (the canvas shares the device, no read-back)'
            : this.path === 'readback' ? 'read back each iteration (a CPU adapter, or no WebGPU canvas on this device: see ui/live_canvas.ts)' : ''}</figcaption>
        </figure>
        <div>
          <div class="counter" aria-live="off">${s.itPerSec.toFixed(1)}<small>it/s</small> \u00b7 ${s.iteration}<small>/ ${s.steps || v.steps}</small>
            ${s.objective !== null ? html` \u00b7 ${s.objective.toFixed(3)}<small>objective</small>` : nothing}</div>
          <progress aria-label="iterations" max=${s.steps || (v.steps as number)} value=${s.iteration}></progress>
          ${this.plot ? html`<cnn-chart .spec=${this.plot}></cnn-chart>` : nothing}
        </div>
      </div>`;
  }
}

customElements.define('cnn-live-run', CnnLiveRun);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-live-run': CnnLiveRun;
  }
}
