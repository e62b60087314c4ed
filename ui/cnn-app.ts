import { css, html, LitElement, nothing } from 'lit';
import { TECHNIQUES } from '../engine/techniques/index';
import { parseOptions, type Options, type RgbaImage, type Technique } from '../engine/techniques/technique';
import { APP_PANELS, PANEL_ALIASES } from './app_panels';
import { preloadCharts } from './cnn-chart';
import './cnn-image-picker';
import './cnn-inspector';
import './cnn-nav';
import './cnn-predictions';
import './cnn-technique-panel';
import { GROUPS } from './cnn-nav';
import type { CnnTechniquePanel } from './cnn-technique-panel';
import { adapterDescription, classifyImage, loadImage, modelInfo, PAGE_MODELS, sessionEvents, type ClassifyResult, type ModelInfo } from './session';
import { resolveImage, samplesFor, type ImageChoice } from './sources';
import { readView, viewSearch } from './url';

export type AppState = 'idle' | 'pending' | 'done' | 'error';

const DEFAULT_MODEL = 'squeezenet1_1';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);
}

/**
 * `<cnn-app>`: the shell. A header with the network picker (input size, parameter count) and the
 * adapter; the navigation of technique panels grouped as in the lecture; the open panel; and the
 * input image with its top-5, always visible. The URL holds the view (see url.ts): opening a link
 * restores it and runs it; changing a control rewrites the URL.
 *
 * @attr data-state - `idle | pending | done | error`, for the current classification.
 */
export class CnnApp extends LitElement {
  static override properties = {
    model: { state: true },
    info: { state: true },
    modelError: { state: true },
    image: { state: true },
    picture: { state: true },
    state: { state: true },
    result: { state: true },
    error: { state: true },
    adapter: { state: true },
    fatal: { state: true },
    notice: { state: true },
    technique: { state: true },
    options: { state: true },
  };

  declare model: string;
  declare info: ModelInfo | null;
  declare modelError: string;
  declare image: ImageChoice | null;
  declare picture: RgbaImage | null;
  declare state: AppState;
  declare result: ClassifyResult | null;
  declare error: string;
  declare adapter: string;
  /** No WebGPU at all: the page cannot compute anything; says what to do. */
  declare fatal: string;
  declare notice: string;
  declare technique: Technique | null;
  declare options: Options;
  /** Only the latest request may update the page. */
  private seq = 0;
  readonly techniques: Technique[] = [...TECHNIQUES, ...APP_PANELS];

  static override styles = css`
    :host { display: block; min-height: 100vh; color: var(--ink, #1d2230); font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; }
    header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 0.6rem 1.5rem; padding: 0.8rem 1.5rem;
      background: var(--panel, #fff); border-bottom: 1px solid var(--line, #e1e4ec); position: sticky; top: 0; z-index: 5; }
    h1 { font-size: 1.25rem; margin: 0; letter-spacing: -0.01em; }
    h1 a { color: inherit; text-decoration: none; }
    h1 small { font-weight: 400; color: var(--muted, #6b7080); font-size: 0.85rem; margin-left: 0.4rem; }
    .model { display: flex; align-items: center; gap: 0.6rem; }
    .model label { font-weight: 600; font-size: 0.88rem; }
    select { font: inherit; padding: 0.3rem 0.5rem; border-radius: 0.4rem; border: 1px solid var(--line, #ccd); background: var(--field, #fff); color: inherit; }
    .meta { color: var(--muted, #6b7080); font-size: 0.85rem; font-variant-numeric: tabular-nums; }
    .adapter { margin-left: auto; color: var(--muted, #6b7080); font-size: 0.8rem; max-width: 28rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .layout { display: grid; grid-template-columns: 13rem minmax(0, 1fr) 19rem; gap: 1.5rem; padding: 1.2rem 1.5rem 3rem; align-items: start; max-width: 96rem; margin: 0 auto; }
    @media (max-width: 68rem) { .layout { grid-template-columns: 12rem minmax(0, 1fr); } aside.input { grid-column: 1 / -1; grid-row: 1; } }
    @media (max-width: 44rem) { .layout { grid-template-columns: 1fr; padding: 1rem; } }
    cnn-nav { position: sticky; top: 4.5rem; }
    .card { background: var(--panel, #fff); border: 1px solid var(--line, #e1e4ec); border-radius: 0.7rem; padding: 1.1rem 1.3rem; }
    aside.input { display: grid; gap: 1rem; position: sticky; top: 4.5rem; }
    figure { margin: 0; }
    figure img { width: 100%; aspect-ratio: 1; object-fit: cover; border-radius: 0.5rem; background: var(--track, #e6e8ee); display: block; }
    figcaption { color: var(--muted, #6b7080); font-size: 0.82rem; margin-top: 0.3rem; word-break: break-all; }
    h3 { font-size: 0.72rem; text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted, #6b7080); margin: 0 0 0.5rem; }
    .status { color: var(--muted, #6b7080); font-size: 0.85rem; margin: 0.6rem 0 0; }
    .error, .fatal { color: var(--bad, #b3261e); white-space: pre-wrap; margin: 0.5rem 0 0; font-size: 0.9rem; }
    .fatal { background: color-mix(in srgb, var(--bad, #b3261e) 8%, var(--panel, #fff)); border: 1px solid color-mix(in srgb, var(--bad, #b3261e) 30%, transparent);
      border-radius: 0.6rem; padding: 0.9rem 1.1rem; margin: 1rem 1.5rem 0; }
    .notice { background: color-mix(in srgb, var(--accent, #3b6fe0) 9%, var(--panel, #fff)); border-radius: 0.5rem; padding: 0.6rem 0.9rem; margin-bottom: 1rem; font-size: 0.9rem; }
    .overview h2 { margin: 0 0 0.4rem; }
    .overview ul { padding-left: 1.2rem; }
    .overview a { color: var(--accent, #3b6fe0); }
  `;

  constructor() {
    super();
    this.model = DEFAULT_MODEL;
    this.info = null;
    this.modelError = '';
    this.image = null;
    this.picture = null;
    this.state = 'idle';
    this.result = null;
    this.error = '';
    this.adapter = '';
    this.fatal = '';
    this.notice = '';
    this.technique = null;
    this.options = {};
  }

  private readonly onPop = () => void this.applyView(location.search);
  private readonly onLost = (e: Event) => void this.recover((e as CustomEvent<string>).detail);

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('popstate', this.onPop);
    preloadCharts();
    sessionEvents.addEventListener('device-lost', this.onLost);
    adapterDescription().then(
      (d) => (this.adapter = d),
      (e: unknown) => {
        this.adapter = 'no WebGPU';
        this.fatal = message(e);
      },
    );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('popstate', this.onPop);
    sessionEvents.removeEventListener('device-lost', this.onLost);
  }

  protected override updated(): void {
    this.dataset.state = this.state;
  }

  /** The open panel: a technique's (iterative ones stream live) or the kernel inspector (each has run() and data-state). */
  get panel(): Pick<CnnTechniquePanel, 'run'> | null {
    return this.renderRoot.querySelector<HTMLElement & Pick<CnnTechniquePanel, 'run'>>('cnn-technique-panel, cnn-inspector');
  }

  /** Restore the view a query string describes, then run it (classification, and the technique). */
  async applyView(search: string): Promise<void> {
    const v = readView(search);
    if (Object.hasOwn(PANEL_ALIASES, v.technique)) v.technique = PANEL_ALIASES[v.technique];
    this.technique = v.technique ? this.techniques.find((t) => t.name === v.technique) ?? null : null;
    let optionsError = '';
    if (v.technique && !this.technique) {
      optionsError = `Unknown technique '${v.technique}'. Techniques: ${this.techniques.map((t) => t.name).join(', ')}.`;
    }
    try {
      this.options = this.technique ? parseOptions(this.technique, v.raw) : {};
    } catch (e) {
      this.options = {};
      optionsError = `The link's options are not valid: ${message(e)}`;
    }
    const model = v.model || (this.model ?? DEFAULT_MODEL);
    const image = v.image ? resolveImage(v.image) : this.image && (this.image.url.startsWith('blob:') || this.image.stem) ? this.image : samplesFor(model)[0];
    this.notice = optionsError;
    await this.load(image, model, !!this.technique && !optionsError);
  }

  /** Show `image` and classify it with `model`; resolves with the result the page now displays. */
  async show(image: ImageChoice, model = this.model): Promise<ClassifyResult> {
    const seq = ++this.seq;
    if (model !== this.model || !this.info) {
      this.model = model;
      this.info = null;
      this.modelError = '';
      modelInfo(model).then(
        (i) => seq === this.seq && (this.info = i),
        (e: unknown) => seq === this.seq && (this.modelError = message(e)),
      );
    }
    this.state = 'pending';
    this.error = '';
    this.dataset.state = 'pending';
    try {
      const picture = await loadImage(image.url, image.name);
      if (seq === this.seq) {
        this.image = image;
        this.picture = picture;
      }
      const result = await classifyImage(picture, model);
      if (seq === this.seq) {
        this.result = result;
        this.state = 'done';
        await this.updateComplete;
      }
      return result;
    } catch (e) {
      if (seq === this.seq) {
        // What was on screen stays: the previous image, its top-5 and the panel's result.
        this.error = /HTTP|decode|corrupt|format|fetch/i.test(message(e)) && !/weights/.test(message(e))
          ? `Could not read the image: ${message(e)}. Use a JPEG or PNG file, or another sample.`
          : message(e);
        this.state = 'error';
        await this.updateComplete;
      }
      throw e;
    }
  }

  /** Classify, then run the open technique; errors are shown on the page, never thrown. */
  private async load(image: ImageChoice, model: string, runTechnique: boolean): Promise<void> {
    const ok = await this.show(image, model).then(() => true, () => false);
    await this.updateComplete;
    if (runTechnique && (ok || !this.technique?.needsImage) && !this.modelError) await this.panel?.run();
  }

  private async recover(reason: string): Promise<void> {
    this.notice = `The GPU device was lost (${reason}). A new device is being created and ${this.model} reloaded\u2026`;
    if (!this.image) return;
    const ok = await this.show(this.image, this.model).then(() => true, () => false);
    this.notice = ok
      ? `The GPU device was lost (${reason}); a new one was created and ${this.model} reloaded. Run the technique again to redo its result.`
      : `The GPU device was lost (${reason}) and could not be recreated. Reload the page; if it persists, restart the browser.`;
  }

  private search(technique = this.technique?.name ?? '', options = this.options): string {
    const t = this.techniques.find((x) => x.name === technique);
    return viewSearch({ technique, model: this.model, image: this.image?.stem ?? '' }, t, t === this.technique ? options : undefined);
  }

  private writeUrl(push: boolean): void {
    const url = `${location.pathname}${this.search()}`;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }

  private onNavigate(e: CustomEvent<string>): void {
    this.technique = this.techniques.find((t) => t.name === e.detail) ?? null;
    this.options = {};
    this.notice = '';
    this.writeUrl(true);
    void this.updateComplete.then(() => this.panel?.run());
  }

  private onModel(ev: Event): void {
    const model = (ev.target as HTMLSelectElement).value;
    const img = this.image;
    const keep = img && (img.url.startsWith('blob:') || samplesFor(model).some((s) => s.url === img.url));
    this.options = {};
    this.model = model;
    const image = keep ? img : samplesFor(model)[0];
    this.image = image;
    this.writeUrl(false);
    void this.load(image, model, !!this.technique);
  }

  private onImage(e: CustomEvent<ImageChoice>): void {
    const seq = this.seq;
    void this.load(e.detail, this.model, !!this.technique).then(() => seq + 1 === this.seq && this.state === 'done' && this.writeUrl(false));
  }

  private onOptions(e: CustomEvent<Options>): void {
    this.options = e.detail;
    this.writeUrl(false);
  }

  private renderModel() {
    const models: string[] = PAGE_MODELS.includes(this.model as never) ? [...PAGE_MODELS] : [...PAGE_MODELS, this.model];
    const i = this.info;
    return html`<div class="model">
      <label for="model">Network</label>
      <select id="model" name="model" @change=${this.onModel}>
        ${models.map((m) => html`<option value=${m} ?selected=${m === this.model}>${m}</option>`)}
      </select>
      <span class="meta" aria-live="polite">${i ? `input ${i.input.join(' \u00d7 ')} \u00b7 ${formatCount(i.parameters)} parameters \u00b7 ${i.layers.length - 1} layers` : this.modelError ? '' : 'loading\u2026'}</span>
    </div>`;
  }

  private renderPredictions() {
    return html`<section class="card" aria-live="polite" aria-label="Top-5 predictions">
      <h3>Top-5 (${this.model})</h3>
      ${this.result ? html`<cnn-predictions .predictions=${this.result.top}></cnn-predictions>` : nothing}
      ${this.state === 'pending' ? html`<p class="status">Classifying\u2026</p>` : nothing}
      ${this.state === 'idle' ? html`<p class="status">Choose an image to classify.</p>` : nothing}
      ${this.state === 'done' && this.result ? html`<p class="status">forward pass ${this.result.forwardMs.toFixed(0)} ms</p>` : nothing}
      ${this.state === 'error' ? html`<p class="error" role="alert">${this.fatal && this.error === this.fatal ? 'Needs WebGPU: see the message above.' : this.error}</p>` : nothing}
    </section>`;
  }

  private renderOverview() {
    return html`<section class="card overview">
      <h2>Look inside a convnet</h2>
      <p>Pick a technique on the left. Each runs live on this page's GPU, on the chosen network and image; the address bar holds the view, so a link reproduces it.</p>
      <ul>${GROUPS.map(([g, title]) => {
        const ts = this.techniques.filter((t) => t.group === g);
        return ts.length ? html`<li><strong>${title}</strong>: ${ts.map((t, k) => html`${k ? ', ' : ''}<a href=${this.search(t.name)}
          @click=${(e: MouseEvent) => { e.preventDefault(); this.onNavigate(new CustomEvent('navigate', { detail: t.name })); }}>${t.title}</a>`)}</li>` : nothing;
      })}</ul>
    </section>`;
  }

  /** The open panel: the app's own (inspector) by name, else the technique's generated panel. */
  private renderPanel(t: Technique) {
    if (t.name === 'inspector') return html`<cnn-inspector model=${this.model} .image=${this.picture}></cnn-inspector>`;
    return html`<cnn-technique-panel .technique=${t} model=${this.model} .info=${this.info}
      .image=${this.picture} stem=${this.image?.stem?.split('/').pop()?.replace(/\.\w+$/, '') ?? 'image'} .options=${this.options}
      @options-change=${this.onOptions}></cnn-technique-panel>`;
  }

  override render() {
    return html`
      <header class="top">
        <h1><a href="./">cnnvis</a><small>convnets, visualized on WebGPU</small></h1>
        ${this.renderModel()}
        <span class="adapter" title=${this.adapter}>${this.adapter || 'finding a WebGPU adapter\u2026'}</span>
      </header>
      ${this.fatal ? html`<p class="fatal" role="alert">${this.fatal}</p>` : nothing}
      <div class="layout">
        <cnn-nav .techniques=${this.techniques} current=${this.technique?.name ?? ''} .hrefFor=${(n: string) => this.search(n)}
          @navigate=${this.onNavigate}></cnn-nav>
        <main>
          ${this.notice ? html`<p class="notice" role="status">${this.notice}</p>` : nothing}
          ${this.modelError && this.modelError !== this.fatal ? html`<p class="card error" role="alert">${this.modelError}</p>` : nothing}
          ${this.technique ? html`<section class="card">${this.renderPanel(this.technique)}</section>` : this.renderOverview()}
        </main>
        <aside class="input" aria-label="Input image">
          <section class="card">
            <h3>Image</h3>
            <figure>
              ${this.image ? html`<img src=${this.image.url} alt=${this.image.name} />` : html`<img alt="" />`}
              <figcaption>${this.image?.name ?? 'no image yet'}</figcaption>
            </figure>
            <cnn-image-picker .samples=${samplesFor(this.model)} selected=${this.image?.url ?? ''} @image-selected=${this.onImage}></cnn-image-picker>
          </section>
          ${this.renderPredictions()}
        </aside>
      </div>`;
  }
}

customElements.define('cnn-app', CnnApp);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-app': CnnApp;
  }
}
