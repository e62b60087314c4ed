import { css, html, LitElement, nothing } from 'lit';
import type { ImageChoice } from './sources';

export type { ImageChoice };

/** What to tell a user whose camera could not be opened. */
export function cameraMessage(e: unknown): string {
  const name = e instanceof Error ? e.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'Camera access was refused. Allow the camera for this site (the camera icon in the address bar) and try again, or pick an image another way.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera was found. Connect one, or pick an image another way.';
  if (name === 'NotReadableError') return 'The camera is in use by another program. Close it and try again.';
  return `The camera could not be opened (${e instanceof Error ? e.message : String(e)}).`;
}

/**
 * `<cnn-image-picker>`: choose the input image: a sample thumbnail, a local JPEG/PNG file, a file
 * dropped anywhere on the page, an image pasted from the clipboard, or a frame of the webcam.
 *
 * @property samples - the sample images offered as thumbnails.
 * @property selected - URL of the image currently shown (its thumbnail is highlighted).
 * @fires image-selected - `CustomEvent<ImageChoice>` when the user picks an image.
 */
export class CnnImagePicker extends LitElement {
  static override properties = {
    samples: { attribute: false },
    selected: { type: String },
    camera: { state: true },
    dragging: { state: true },
    message: { state: true },
  };

  declare samples: ImageChoice[];
  declare selected: string;
  declare camera: MediaStream | null;
  declare dragging: boolean;
  declare message: string;

  static override styles = css`
    :host { display: block; }
    .thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(3.1rem, 1fr)); gap: 0.35rem; margin-bottom: 0.6rem; }
    button.thumb { padding: 0; border: 2px solid transparent; border-radius: 0.4rem; background: none; cursor: pointer; line-height: 0; aspect-ratio: 1; }
    button.thumb[aria-pressed='true'] { border-color: var(--accent, #3b6fe0); }
    button.thumb:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent, #3b6fe0) 40%, transparent); }
    button.thumb img { width: 100%; height: 100%; object-fit: cover; border-radius: 0.25rem; }
    .ways { display: flex; flex-wrap: wrap; gap: 0.4rem; }
    .ways button, label.file { font: inherit; font-size: 0.85rem; cursor: pointer; padding: 0.3rem 0.65rem; border-radius: 0.4rem;
      border: 1px solid var(--line, #ccd); background: var(--panel, #fff); color: var(--ink, #1d2230); }
    label.file:focus-within { outline: 3px solid color-mix(in srgb, var(--accent, #3b6fe0) 40%, transparent); }
    label.file input { position: absolute; opacity: 0; width: 1px; height: 1px; }
    .hint { color: var(--muted, #6b7080); font-size: 0.78rem; margin: 0.4rem 0 0; }
    .drop { position: fixed; inset: 0; background: color-mix(in srgb, var(--accent, #3b6fe0) 18%, transparent); border: 4px dashed var(--accent, #3b6fe0);
      display: grid; place-items: center; font-size: 1.5rem; color: var(--ink, #1d2230); pointer-events: none; z-index: 10; }
    video { width: 100%; border-radius: 0.4rem; margin-top: 0.5rem; background: #000; }
    .message { color: var(--bad, #b3261e); font-size: 0.85rem; margin: 0.4rem 0 0; }
  `;

  constructor() {
    super();
    this.samples = [];
    this.selected = '';
    this.camera = null;
    this.dragging = false;
    this.message = '';
  }

  private readonly onPaste = (e: ClipboardEvent) => {
    const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file) this.useFile(file, 'pasted image');
  };
  private readonly onDragOver = (e: DragEvent) => {
    if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
    e.preventDefault();
    this.dragging = true;
  };
  private readonly onDragLeave = (e: DragEvent) => {
    if (e.relatedTarget === null) this.dragging = false;
  };
  private readonly onDrop = (e: DragEvent) => {
    e.preventDefault();
    this.dragging = false;
    const file = e.dataTransfer?.files[0];
    if (file) this.useFile(file, file.name);
  };

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('paste', this.onPaste);
    window.addEventListener('dragover', this.onDragOver);
    window.addEventListener('dragleave', this.onDragLeave);
    window.addEventListener('drop', this.onDrop);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('paste', this.onPaste);
    window.removeEventListener('dragover', this.onDragOver);
    window.removeEventListener('dragleave', this.onDragLeave);
    window.removeEventListener('drop', this.onDrop);
    this.stopCamera();
  }

  private choose(choice: ImageChoice): void {
    this.message = '';
    this.dispatchEvent(new CustomEvent<ImageChoice>('image-selected', { detail: choice, bubbles: true, composed: true }));
  }

  private useFile(file: Blob, name: string): void {
    this.choose({ name, url: URL.createObjectURL(file) });
  }

  private onFile(ev: Event): void {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) this.useFile(file, file.name);
    input.value = '';
  }

  private async startCamera(): Promise<void> {
    this.message = '';
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('this browser offers no camera access here (it needs https or http://127.0.0.1)'), { name: 'TypeError' });
      this.camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
      await this.updateComplete;
      const video = this.renderRoot.querySelector('video');
      if (video) video.srcObject = this.camera;
    } catch (e) {
      this.message = cameraMessage(e);
    }
  }

  private stopCamera(): void {
    this.camera?.getTracks().forEach((t) => t.stop());
    this.camera = null;
  }

  /** Take the webcam's current frame as the image. */
  private snap(): void {
    const video = this.renderRoot.querySelector('video');
    if (!video || !video.videoWidth) return;
    const c = document.createElement('canvas');
    c.width = video.videoWidth;
    c.height = video.videoHeight;
    c.getContext('2d')?.drawImage(video, 0, 0);
    c.toBlob((b) => b && this.useFile(b, `webcam ${new Date().toLocaleTimeString()}`), 'image/png');
  }

  override render() {
    return html`
      <div class="thumbs" role="group" aria-label="Sample images">
        ${this.samples.map((s) => html`
          <button class="thumb" title=${s.name} aria-label=${s.name} aria-pressed=${s.url === this.selected ? 'true' : 'false'}
                  data-url=${s.url} @click=${() => this.choose(s)}>
            <img src=${s.url} alt="" loading="lazy" />
          </button>`)}
      </div>
      <div class="ways">
        <label class="file">Open file\u2026<input type="file" accept="image/jpeg,image/png" @change=${this.onFile} /></label>
        ${this.camera
          ? html`<button @click=${this.snap}>Take frame</button><button @click=${this.stopCamera}>Stop camera</button>`
          : html`<button class="camera" @click=${this.startCamera}>Webcam</button>`}
      </div>
      ${this.camera ? html`<video autoplay muted playsinline aria-label="webcam"></video>` : nothing}
      <p class="hint">or drop an image anywhere, or paste one (Ctrl+V)</p>
      ${this.message ? html`<p class="message" role="alert">${this.message}</p>` : nothing}
      ${this.dragging ? html`<div class="drop">Drop the image to use it</div>` : nothing}`;
  }
}

customElements.define('cnn-image-picker', CnnImagePicker);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-image-picker': CnnImagePicker;
  }
  interface HTMLElementEventMap {
    'image-selected': CustomEvent<ImageChoice>;
  }
}
