import { css, html, LitElement, nothing } from 'lit';
import type { LoopSettings } from '../engine/techniques/optvis/loop';
import { flagOf, type LiveStep, type Options, type Technique } from '../engine/techniques/technique';
import './cnn-chart';
import type { ChartSpec } from './cnn-chart';
import { CANVAS_CHOICES, type CanvasChoice, type CanvasPath, type LiveCanvas } from './live_canvas';
import type { LiveRun } from './session';

export type LiveState = 'idle' | 'running' | 'done' | 'cancelled' | 'error';

/** Redraw the objective plot at most this often (ms): uPlot's setData is cheap, but not free. */
const PLOT_EVERY_MS = 250;
/** The live canvas's longest side on screen (CSS pixels); its own size is a whole multiple of the image's. */
const SIDE = 288;

/** The page's canvas choice, from the URL (`canvas=auto | gpu | readback`, default auto). */
export function canvasChoice(search = location.search): { choice: CanvasChoice; warning: string } {
  const v = new URLSearchParams(search).get('canvas') ?? 'auto';
  if ((CANVAS_CHOICES as readonly string[]).includes(v)) return { choice: v as CanvasChoice, warning: '' };
  return { choice: 'auto', warning: `canvas=${v} is not one of ${CANVAS_CHOICES.join(', ')}; using auto. ` };
}

/**
 * `<cnn-live-run>`: the live view of an iterative technique's run (class / neuron visualization,
 * fooling, DeepDream, inversion, texture, style: those with `liveOptions`), inside the technique's
 * own panel (<cnn-technique-panel>), which starts and cancels runs. Every iteration is drawn into
 * a canvas, straight from the GPU where the canvas can share the device (else read back, and it
 * says which and why: ui/live_canvas.ts); Pause / Resume; a live iterations-per-second counter and
 * a uPlot plot of the objective. The technique's `liveOptions` (moved on the panel's controls)
 * take effect at the next step; the others apply to the next run.
 *
 * The panel calls `begin(signal, options)` for the hooks runTechnique streams through (ui/session.ts),
 * and `end(state)` when the run is over.
 *
 * @property technique - the technique being run (its liveOptions are listed).
 * @attr data-state - `idle | running | done | cancelled | error` (a paused run is still `running`, with data-paused).
 * @attr data-frames - frames drawn in the current run; data-readbacks - of them, read back to the CPU to draw.
 * @attr data-path - `gpu | readback`, once the run's canvas exists.
 * @attr data-held - present while a paused run's loop waits (no step runs until Resume).
 */
export class CnnLiveRun extends LitElement {
  static override properties = {
    technique: { attribute: false },
    state: { state: true },
    paused: { state: true },
    step: { state: true },
    note: { state: true },
    plot: { state: true },
  };

  declare technique: Technique;
  declare state: LiveState;
  declare paused: boolean;
  declare step: LiveStep;
  declare note: string;
  declare plot: ChartSpec | null;
  /** How the current run's frames reach the canvas (null before its canvas exists). */
  path: CanvasPath | null = null;
  /** The running loop's settings as of the last step (the loop's own object: tests read it). */
  settings: Readonly<LoopSettings> | null = null;
  private view: LiveCanvas | null = null;
  /** The current run's canvas (placed in .frame once rendered). */
  private canvas: HTMLCanvasElement | null = null;
  private resume: (() => void) | null = null;
  private history: [number[], number[]] = [[], []];
  private plotAt = 0;
  private runId = 0;

  static override styles = css`
    :host { display: block; margin-top: 1.1rem; }
    .live { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 1.4rem; align-items: start; }
    @media (max-width: 60rem) { .live { grid-template-columns: 1fr; } }
    figure { margin: 0; }
    .frame { width: ${SIDE}px; min-height: 4rem; }
    .frame canvas { width: ${SIDE}px; height: auto; border-radius: 0.5rem; background: var(--track, #e6e8ee); image-rendering: pixelated; display: block; }
    figcaption { color: var(--muted, #6b7080); font-size: 0.8rem; margin-top: 0.35rem; max-width: ${SIDE}px; }
    .actions { display: flex; gap: 0.6rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.6rem; }
    button { font: inherit; padding: 0.35rem 1rem; border-radius: 0.45rem; border: 1px solid var(--line, #ccd); background: var(--panel, #fff); color: var(--ink, #1d2230); cursor: pointer; }
    button:disabled { opacity: 0.5; cursor: default; }
    button:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent, #3b6fe0) 40%, transparent); outline-offset: 2px; }
    .status { color: var(--muted, #6b7080); font-size: 0.85rem; }
    .counter { font-size: 1.6rem; font-weight: 650; font-variant-numeric: tabular-nums; letter-spacing: -0.01em; }
    .counter small { font-size: 0.85rem; font-weight: 400; color: var(--muted, #6b7080); margin-left: 0.3rem; }
    progress { width: 100%; height: 0.45rem; accent-color: var(--accent, #3b6fe0); }
  `;

  constructor() {
    super();
    this.state = 'idle';
    this.paused = false;
    this.step = { iteration: 0, steps: 0, objective: null, objectiveAt: 0, itPerSec: 0 };
    this.note = '';
    this.plot = null;
  }

  protected override updated(): void {
    const frame = this.renderRoot.querySelector('.frame');
    if (frame && this.canvas && frame.firstChild !== this.canvas) frame.replaceChildren(this.canvas);
    this.syncData();
  }

  private syncData(): void {
    this.dataset.state = this.state;
    this.dataset.frames = String(this.view?.frames ?? 0);
    this.dataset.readbacks = String(this.view?.readbacks ?? 0);
    if (this.path) this.dataset.path = this.path;
    else delete this.dataset.path;
    if (this.paused) this.dataset.paused = '';
    else delete this.dataset.paused;
  }

  /** Frames drawn in the current run. */
  get frames(): number {
    return this.view?.frames ?? 0;
  }

  /**
   * Start showing a run: a fresh canvas (a canvas keeps the kind of context it first gave), and the
   * hooks for runTechnique. `options` gives the panel's option values at each step; when `signal`
   * fires a paused run is let go, so it stops at its next step.
   */
  begin(signal: AbortSignal, options: () => Options): LiveRun {
    this.unpause();
    const id = ++this.runId;
    const canvas = (this.canvas = document.createElement('canvas'));
    canvas.setAttribute('aria-label', 'the image being optimized, live');
    this.renderRoot.querySelector('.frame')?.replaceChildren(canvas);
    const { choice, warning } = canvasChoice();
    this.view = null;
    this.path = null;
    this.settings = null;
    this.history = [[], []];
    this.plot = null;
    this.plotAt = 0;
    this.paused = false;
    this.note = warning;
    this.step = { iteration: 0, steps: 0, objective: null, objectiveAt: 0, itPerSec: 0 };
    this.state = 'running';
    this.syncData();
    signal.addEventListener('abort', () => {
      this.unpause();
      // The run stops at its next step (the panel may never call end(): a run superseded before it returns).
      if (id === this.runId && this.state === 'running') this.state = 'cancelled';
    }, { once: true });
    return {
      canvas, choice, options,
      onCanvas: (view) => {
        if (id !== this.runId) return;
        this.view = view;
        this.path = view.path;
        this.note = warning + view.note;
      },
      onStep: (s, _view, settings) => {
        if (id !== this.runId) return undefined;
        this.step = s;
        this.settings = settings ?? null;
        if (s.objective !== null && s.objectiveAt === s.iteration) {
          this.history[0].push(s.iteration);
          this.history[1].push(s.objective);
        }
        const now = performance.now();
        if (now - this.plotAt > PLOT_EVERY_MS) this.updatePlot(now);
        this.syncData();
        if (this.paused && !signal.aborted) {
          this.dataset.held = '';
          return new Promise<void>((res) => (this.resume = res));
        }
        return new Promise<void>((res) => setTimeout(res, 0)); // a macrotask per step: the page stays responsive
      },
    };
  }

  /** The run is over: `done`, `cancelled` or `error` (the canvas keeps the last frame). */
  end(state: 'done' | 'cancelled' | 'error'): void {
    this.unpause();
    this.updatePlot(performance.now());
    this.state = state;
    this.syncData();
  }

  private updatePlot(now: number): void {
    this.plotAt = now;
    const [x, y] = this.history;
    if (x.length === 0) return;
    this.plot = { title: 'Objective', x: { label: 'iteration' }, y: { label: 'objective' }, height: 220,
      series: [{ label: 'objective', x: [...x], y: [...y], color: '#3b6fe0' }] };
  }

  pause(): void {
    if (this.state === 'running') this.paused = true;
  }

  unpause(): void {
    this.paused = false;
    delete this.dataset.held;
    this.resume?.();
    this.resume = null;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unpause();
  }

  private renderStatus() {
    const s = this.step;
    if (this.state === 'idle') return html`<span class="status">Each iteration is drawn here while the technique runs.</span>`;
    const what = this.paused ? 'paused' : this.state === 'cancelled' ? `cancelled after ${s.iteration} iterations` : this.state;
    return html`<span class="status">${what}</span>`;
  }

  override render() {
    const t = this.technique;
    if (!t) return nothing;
    const s = this.step;
    const running = this.state === 'running';
    const live = (t.liveOptions ?? []).map((n) => { const o = t.options.find((x) => x.name === n); return o ? flagOf(o) : n; });
    return html`
      <div class="actions">
        <button class="pause" ?disabled=${!running} aria-pressed=${this.paused ? 'true' : 'false'}
          @click=${() => (this.paused ? this.unpause() : this.pause())}>${this.paused ? 'Resume' : 'Pause'}</button>
        ${this.renderStatus()}
        ${live.length ? html`<span class="status">\u00b7 live: ${live.join(', ')} take effect at the next step</span>` : nothing}
      </div>
      <div class="live">
        <figure>
          <div class="frame"></div>
          <figcaption>${this.note}</figcaption>
        </figure>
        <div>
          <div class="counter" aria-live="off">${s.itPerSec.toFixed(1)}<small>it/s</small> \u00b7 ${s.iteration}<small>/ ${s.steps}</small>
            ${s.objective !== null ? html` \u00b7 ${s.objective.toPrecision(4)}<small>objective</small>` : nothing}</div>
          <progress aria-label="iterations" max=${s.steps || 1} value=${s.iteration}></progress>
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
