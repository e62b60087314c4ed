import { css, html, LitElement } from 'lit';
import './cnn-image-picker';
import './cnn-predictions';
import type { ImageChoice } from './cnn-image-picker';
import { adapterDescription, classifyUrl, PAGE_MODELS, type ClassifyResult } from './session';

export type AppState = 'idle' | 'pending' | 'done' | 'error';

const IMAGENET = ['n01443537_goldfish', 'n02056570_king_penguin', 'n02099601_golden_retriever', 'n01882714_koala',
  'n02279972_monarch', 'n02391049_zebra', 'n03662601_lifeboat', 'n07873807_pizza', 'n09472597_volcano', 'n11939491_daisy'];
const TINYVGG = ['boat_1', 'bug_1', 'bus_1', 'car_1', 'espresso_1', 'koala_1', 'orange_1', 'panda_1', 'pepper_1', 'pizza_1'];

/** Sample images served from the shared folder, per model family. */
function samplesFor(model: string): ImageChoice[] {
  if (model === 'tinyvgg') return TINYVGG.map((n) => ({ name: n, url: `/shared/models/tinyvgg/samples/${n}.jpeg` }));
  return IMAGENET.map((n) => ({ name: n.slice(10).replace(/_/g, ' '), url: `/shared/images/imagenet-samples/${n}.JPEG` }));
}

/**
 * `<cnn-app>`: the classification page. Pick a model and an image; the page shows the image, the
 * top-5 classes with bars, the WebGPU adapter and the time taken.
 *
 * @property model - the converted model to run (default squeezenet1_1).
 * @attr data-state - `idle`, `pending`, `done` or `error`, for the current classification.
 */
export class CnnApp extends LitElement {
  static override properties = {
    model: { type: String },
    image: { state: true },
    state: { state: true },
    result: { state: true },
    error: { state: true },
    adapter: { state: true },
  };

  declare model: string;
  declare image: ImageChoice | null;
  declare state: AppState;
  declare result: ClassifyResult | null;
  declare error: string;
  declare adapter: string;
  /** Only the latest request may update the page. */
  private run = 0;

  static override styles = css`
    :host { display: block; max-width: 58rem; margin: 0 auto; padding: 1.5rem; color: var(--ink, #1d2230);
      font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; }
    header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 0.5rem; }
    h1 { font-size: 1.5rem; margin: 0; }
    .adapter { color: var(--muted, #6b7080); font-size: 0.85rem; }
    .controls { margin: 1rem 0; display: grid; gap: 0.75rem; }
    select { font: inherit; padding: 0.3rem 0.5rem; border-radius: 0.4rem; border: 1px solid var(--line, #ccd); }
    main { display: grid; grid-template-columns: minmax(0, 18rem) minmax(0, 1fr); gap: 1.5rem; align-items: start; }
    @media (max-width: 40rem) { main { grid-template-columns: 1fr; } }
    figure { margin: 0; }
    figure img { width: 100%; border-radius: 0.5rem; background: var(--track, #e6e8ee); display: block; }
    figcaption { color: var(--muted, #6b7080); font-size: 0.85rem; margin-top: 0.3rem; word-break: break-all; }
    .panel { background: var(--panel, #fff); border: 1px solid var(--line, #e1e4ec); border-radius: 0.6rem; padding: 1rem 1.2rem; min-height: 8rem; }
    .status { color: var(--muted, #6b7080); font-size: 0.85rem; margin-top: 0.75rem; }
    .error { color: #b3261e; white-space: pre-wrap; }
  `;

  constructor() {
    super();
    this.model = 'squeezenet1_1';
    this.image = null;
    this.state = 'idle';
    this.result = null;
    this.error = '';
    this.adapter = '';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    adapterDescription().then(
      (d) => (this.adapter = d),
      (e: unknown) => (this.adapter = `no WebGPU: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  protected override updated(): void {
    this.dataset.state = this.state;
  }

  /** Show `image` and classify it with `model`; resolves with the result the page now displays. */
  async show(image: ImageChoice, model = this.model): Promise<ClassifyResult> {
    const run = ++this.run;
    this.image = image;
    this.model = model;
    this.state = 'pending';
    this.error = '';
    this.dataset.state = 'pending';
    try {
      const result = await classifyUrl(image.url, model);
      if (run === this.run) {
        this.result = result;
        this.state = 'done';
        await this.updateComplete;
      }
      return result;
    } catch (e) {
      if (run === this.run) {
        this.result = null;
        this.error = e instanceof Error ? e.message : String(e);
        this.state = 'error';
        await this.updateComplete;
      }
      throw e;
    }
  }

  /** UI-driven runs report errors on the page (data-state="error"), not as rejections. */
  private showQuietly(image: ImageChoice, model: string): void {
    this.show(image, model).catch(() => undefined);
  }

  /** A new model keeps a user's file, and a sample when the new model's family offers it. */
  private onModel(ev: Event): void {
    const model = (ev.target as HTMLSelectElement).value;
    const samples = samplesFor(model);
    const img = this.image;
    if (!img) {
      this.model = model;
      return;
    }
    const keep = img.url.startsWith('blob:') || samples.some((s) => s.url === img.url);
    this.showQuietly(keep ? img : samples[0], model);
  }

  private renderResult() {
    switch (this.state) {
      case 'idle':
        return html`<p class="status">Choose an image to classify.</p>`;
      case 'pending':
        return html`<p class="status">Classifying with ${this.model}…</p>`;
      case 'error':
        return html`<p class="error" role="alert">${this.error}</p>`;
      case 'done': {
        const r = this.result!;
        return html`
          <cnn-predictions .predictions=${r.top}></cnn-predictions>
          <p class="status">${r.model}: forward pass ${r.forwardMs.toFixed(0)} ms, decode + preprocess ${r.decodeMs.toFixed(0)} ms</p>`;
      }
    }
  }

  override render() {
    return html`
      <header>
        <h1>cnnvis</h1>
        <span class="adapter" title="WebGPU adapter">${this.adapter || 'finding a WebGPU adapter…'}</span>
      </header>
      <div class="controls">
        <label>Model
          <select @change=${this.onModel} .value=${this.model}>
            ${PAGE_MODELS.map((m) => html`<option value=${m} ?selected=${m === this.model}>${m}</option>`)}
          </select>
        </label>
        <cnn-image-picker .samples=${samplesFor(this.model)} selected=${this.image?.url ?? ''}
          @image-selected=${(e: CustomEvent<ImageChoice>) => this.showQuietly(e.detail, this.model)}></cnn-image-picker>
      </div>
      <main>
        <figure>
          ${this.image ? html`<img src=${this.image.url} alt=${this.image.name} />` : html`<img alt="" />`}
          <figcaption>${this.image?.name ?? 'no image yet'}</figcaption>
        </figure>
        <section class="panel" aria-live="polite">${this.renderResult()}</section>
      </main>`;
  }
}

customElements.define('cnn-app', CnnApp);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-app': CnnApp;
  }
}
