import { css, html, LitElement, nothing } from 'lit';
import { defaultOptions, type OptionValue, type Options, type Technique } from '../engine/techniques/technique';
import './cnn-chart';
import './cnn-option-control';
import './cnn-live-run';
import './cnn-view';
import { fileName, rawNpy, saveBlob } from './download';
import { runTechnique, type ModelInfo, type TechniqueRun } from './session';
import { chartsFor } from './technique_charts';
import { WEBCAM_TECHNIQUES, WebcamLoop } from './webcam_loop';
import type { RgbaImage } from '../engine/techniques/technique';

export type PanelState = 'idle' | 'running' | 'done' | 'error';

/** The summary's key numbers: its scalar fields, and those one object deep ('class.label'). */
export function keyNumbers(summary: Record<string, unknown>, max = 14): [string, string][] {
  const out: [string, string][] = [];
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(4) : v.toExponential(3)) : String(v));
  const scalar = (v: unknown) => ['number', 'string', 'boolean'].includes(typeof v);
  for (const [k, v] of Object.entries(summary)) {
    if (typeof v === 'string' && v.includes('\n')) continue; // a text table: shown whole, see textBlocks()
    if (scalar(v)) out.push([k, fmt(v)]);
    else if (Array.isArray(v) && v.length <= 4 && v.every(scalar)) out.push([k, v.map(fmt).join(' \u00d7 ')]);
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) if (scalar(v2)) out.push([`${k}.${k2}`, fmt(v2)]);
    }
  }
  return out.slice(0, max);
}

/** The summary's multi-line texts (tables a technique formats for people), by key. */
export function textBlocks(summary: Record<string, unknown>): [string, string][] {
  return Object.entries(summary).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].includes('\n'));
}

/**
 * `<cnn-technique-panel>`: the panel of one technique, generated from its contract: a control per
 * option, Run / Cancel, progress, the result's views on canvases, the summary's key numbers and
 * downloads (each view as PNG, the raw array as .npy). An iterative technique (one with
 * liveOptions) streams its run into a <cnn-live-run> (every iteration, pause / resume, it/s, the
 * objective; its live options take effect at the next step). It holds no GPU state: runs go
 * through ui/session.ts.
 *
 * @property technique - the technique (from the registry).
 * @property model - the model's name; `info` its layers and labels.
 * @property image - the input picture (techniques with `needsImage`), `stem` its name for files.
 * @property options - the option values (the URL's); edits fire `options-change`.
 * @attr data-state - `idle | running | done | error`.
 * @attr data-webcam-frames - camera frames processed since the webcam mode was last turned on.
 * @fires options-change - `CustomEvent<Options>` when a control changes.
 */
export class CnnTechniquePanel extends LitElement {
  static override properties = {
    technique: { attribute: false },
    model: { type: String },
    info: { attribute: false },
    image: { attribute: false },
    stem: { type: String },
    options: { attribute: false },
    state: { state: true },
    progress: { state: true },
    result: { state: true },
    error: { state: true },
    webcam: { state: true },
  };

  declare technique: Technique;
  declare model: string;
  declare info: ModelInfo | null;
  declare image: RgbaImage | null;
  declare stem: string;
  declare options: Options;
  declare state: PanelState;
  declare progress: [number, number] | null;
  declare result: TechniqueRun | null;
  declare error: string;
  /** Continuous webcam mode is on (WEBCAM_TECHNIQUES only): each camera frame runs when the previous finished. */
  declare webcam: boolean;
  private readonly camera = new WebcamLoop();
  private controller: AbortController | null = null;
  private runId = 0;

  static override styles = css`
    :host { display: block; }
    header h2 { margin: 0; font-size: 1.35rem; }
    header p { margin: 0.35rem 0 0; color: var(--muted, #6b7080); max-width: 48rem; }
    form { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 0.9rem 1.2rem; margin: 1.1rem 0; }
    .actions { display: flex; gap: 0.6rem; align-items: center; flex-wrap: wrap; }
    button { font: inherit; padding: 0.45rem 1.1rem; border-radius: 0.45rem; border: 1px solid var(--line, #ccd); background: var(--panel, #fff);
      color: var(--ink, #1d2230); cursor: pointer; }
    button.run { background: var(--accent, #3b6fe0); border-color: var(--accent, #3b6fe0); color: #fff; font-weight: 600; }
    button:disabled { opacity: 0.5; cursor: default; }
    button:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent, #3b6fe0) 40%, transparent); outline-offset: 2px; }
    progress { width: 12rem; height: 0.5rem; accent-color: var(--accent, #3b6fe0); }
    .status { color: var(--muted, #6b7080); font-size: 0.88rem; }
    .error { color: var(--bad, #b3261e); background: color-mix(in srgb, var(--bad, #b3261e) 7%, transparent); border-radius: 0.45rem;
      padding: 0.6rem 0.8rem; white-space: pre-wrap; margin: 0.8rem 0 0; }
    .views { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: 1rem; margin-top: 1.1rem; }
    .views.stale { opacity: 0.55; }
    dl { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 0.4rem 1rem; margin: 1.1rem 0 0; font-size: 0.85rem; }
    dl div { border-top: 1px solid var(--line, #e1e4ec); padding-top: 0.3rem; min-width: 0; }
    dt { color: var(--muted, #6b7080); font-size: 0.75rem; }
    dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
    pre.text { font: 0.8rem/1.4 ui-monospace, 'SF Mono', Menlo, Consolas, monospace; background: var(--track, #eef0f5); border-radius: 0.45rem;
      padding: 0.8rem 1rem; overflow: auto; max-height: 28rem; margin: 1.1rem 0 0; }
    cnn-chart.chart { margin-top: 1.1rem; }
    .raw { margin-top: 0.8rem; font-size: 0.82rem; color: var(--muted, #6b7080); display: flex; gap: 0.6rem; align-items: center; flex-wrap: wrap; }
    .raw button { padding: 0.2rem 0.6rem; font-size: 0.8rem; }
  `;

  constructor() {
    super();
    this.model = '';
    this.info = null;
    this.image = null;
    this.stem = '';
    this.options = {};
    this.state = 'idle';
    this.progress = null;
    this.result = null;
    this.error = '';
    this.webcam = false;
  }

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('technique') && changed.get('technique') !== undefined) {
      this.stopWebcam();
      this.cancel();
      // The old technique's run, cancelled, may still return (an optimization returns its image so
      // far): it is no longer this panel's, so its result must not land here.
      this.runId++;
      this.result = null;
      this.error = '';
      this.state = 'idle';
    }
  }

  protected override updated(): void {
    this.dataset.state = this.state;
  }

  private get values(): Options {
    return { ...defaultOptions(this.technique), ...this.options };
  }

  /** Run the technique with the current options; a running one is cancelled first. */
  async run(): Promise<void> {
    this.stopWebcam();
    this.cancel();
    await this.updateComplete; // a technique just switched to resets the panel first
    const t = this.technique;
    if (t.needsImage && !this.image) {
      this.state = 'error';
      this.error = `${t.title} needs an image: pick one on the right.`;
      return;
    }
    const id = ++this.runId;
    const controller = new AbortController();
    this.controller = controller;
    this.state = 'running';
    this.dataset.state = 'running';
    this.error = '';
    this.progress = null;
    // Iterative techniques stream every iteration into the live view (ui/cnn-live-run.ts).
    const liveView = t.liveOptions ? this.renderRoot.querySelector('cnn-live-run') : null;
    const live = liveView?.begin(controller.signal, () => this.values);
    try {
      const r = await runTechnique(t, this.model, this.values, this.image ?? undefined, this.stem, controller.signal, (done, total) => {
        if (id === this.runId) this.progress = [done, total];
      }, live);
      if (id !== this.runId) return;
      this.result = r;
      this.state = 'done';
      liveView?.end(controller.signal.aborted ? 'cancelled' : 'done');
    } catch (e) {
      if (id !== this.runId) return;
      const aborted = e instanceof Error && e.name === 'AbortError';
      this.error = aborted ? 'Cancelled.' : e instanceof Error ? e.message : String(e);
      this.state = aborted ? 'idle' : 'error';
      liveView?.end(aborted ? 'cancelled' : 'error');
    } finally {
      if (id === this.runId) this.controller = null;
    }
  }

  /** Stop the run in flight (the technique stops at its next batch). */
  cancel(): void {
    this.controller?.abort();
    this.controller = null;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopWebcam();
    this.cancel();
  }

  /** Run the technique continuously on the webcam until toggled off (data-state stays `running`). */
  async startWebcam(): Promise<void> {
    this.cancel();
    const t = this.technique;
    const id = ++this.runId;
    const controller = (this.controller = new AbortController());
    this.webcam = true;
    this.dataset.webcamFrames = '0';
    this.state = 'running';
    this.error = '';
    try {
      await this.camera.start(async (img) => {
        const r = await runTechnique(t, this.model, this.values, img, 'webcam', controller.signal, () => undefined);
        if (id === this.runId) this.result = r;
      }, (n) => id === this.runId && (this.dataset.webcamFrames = String(n)));
      if (id === this.runId) this.state = this.result ? 'done' : 'idle';
    } catch (e) {
      if (id !== this.runId) return;
      const aborted = e instanceof Error && e.name === 'AbortError';
      this.error = aborted ? '' : e instanceof Error ? e.message : String(e);
      this.state = aborted ? (this.result ? 'done' : 'idle') : 'error';
    } finally {
      if (id === this.runId) {
        this.webcam = false;
        this.controller = null;
      }
    }
  }

  stopWebcam(): void {
    if (!this.webcam) return;
    this.camera.stop();
    this.webcam = false;
    if (this.state === 'running') this.state = this.result ? 'done' : 'idle';
  }

  private onOption(e: CustomEvent<{ name: string; value: OptionValue }>): void {
    this.options = { ...this.options, [e.detail.name]: e.detail.value };
    this.dispatchEvent(new CustomEvent<Options>('options-change', { detail: this.options, bubbles: true, composed: true }));
  }

  private renderControls() {
    const t = this.technique;
    const v = this.values;
    const layerSpec = t.options.find((s) => s.kind === 'layer');
    const layer = layerSpec && v[layerSpec.name] ? this.info?.layers.find((l) => l.name === v[layerSpec.name]) : undefined;
    return html`<form @submit=${(e: Event) => { e.preventDefault(); void this.run(); }} @option-change=${this.onOption}>
      ${t.options.map((s) => html`<cnn-option-control .spec=${s} .value=${v[s.name]} .layers=${this.info?.layers ?? []}
        .layer=${layer} .labels=${this.info?.labels ?? []} .receptiveField=${this.info?.receptiveField ?? new Map()}></cnn-option-control>`)}
      <button type="submit" hidden></button>
    </form>`;
  }

  private renderStatus() {
    if (this.webcam) return html`<span class="status">webcam live: each frame runs when the previous has finished</span>`;
    if (this.state === 'running') {
      const p = this.progress;
      return html`<progress aria-label="progress" max=${p ? p[1] : nothing} value=${p ? p[0] : nothing}></progress>
        <span class="status">${p ? `${p[0]} / ${p[1]}` : 'starting\u2026'}</span>`;
    }
    if (this.state === 'done' && this.result) return html`<span class="status">done in ${(this.result.ms / 1000).toFixed(2)} s</span>`;
    return nothing;
  }

  private renderResult() {
    const r = this.result;
    if (!r) return nothing;
    const p = r.presentation;
    const raw = p.raw;
    return html`
      <div class="views ${this.state === 'running' ? 'stale' : ''}">
        ${p.views.map((v) => html`<cnn-view .view=${v} stem=${this.stem} technique=${this.technique.name}></cnn-view>`)}
      </div>
      ${chartsFor(this.technique.name, p).map((c) => html`<cnn-chart class="chart" .spec=${c}></cnn-chart>`)}
      ${textBlocks(p.summary).map(([k, t]) => html`<pre class="text" aria-label=${k}>${t}</pre>`)}
      <dl aria-label="summary">${keyNumbers(p.summary).map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>
      <div class="raw"><span>raw: ${raw.meaning} (${raw.shape.join(' \u00d7 ')})</span>
        <button class="npy" @click=${() => saveBlob(rawNpy(raw), fileName(this.stem, this.technique.name, '', 'npy'))}>.npy</button>
        <button class="json" @click=${() => saveBlob(new Blob([JSON.stringify(p.summary, null, 1)], { type: 'application/json' }), fileName(this.stem, this.technique.name, 'summary', 'json'))}>summary.json</button>
      </div>`;
  }

  override render() {
    const t = this.technique;
    if (!t) return nothing;
    return html`
      <header><h2>${t.title}</h2><p>${t.description}</p></header>
      ${this.renderControls()}
      <div class="actions">
        <button class="run" @click=${() => void this.run()}>Run</button>
        <button class="cancel" ?disabled=${this.state !== 'running' || this.webcam} @click=${() => this.cancel()}>Cancel</button>
        ${WEBCAM_TECHNIQUES.has(t.name) ? html`<button class="webcam" aria-pressed=${this.webcam ? 'true' : 'false'}
          @click=${() => (this.webcam ? this.stopWebcam() : void this.startWebcam())}>${this.webcam ? 'Stop webcam' : 'Webcam live'}</button>` : nothing}
        ${this.renderStatus()}
      </div>
      ${this.error ? html`<p class=${this.state === 'error' ? 'error' : 'status'} role=${this.state === 'error' ? 'alert' : nothing}>${this.error}</p>` : nothing}
      ${t.liveOptions ? html`<cnn-live-run .technique=${t}></cnn-live-run>` : nothing}
      ${this.renderResult()}`;
  }
}

customElements.define('cnn-technique-panel', CnnTechniquePanel);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-technique-panel': CnnTechniquePanel;
  }
  interface HTMLElementEventMap {
    'options-change': CustomEvent<Options>;
  }
}
