import { css, html, LitElement } from 'lit';

/** An image the page can classify: a sample on the server or a file the user chose (blob URL). */
export interface ImageChoice {
  name: string;
  url: string;
}

/**
 * `<cnn-image-picker>`: choose one of a few sample images (thumbnails) or a local JPEG/PNG file.
 *
 * @property samples - the sample images offered as thumbnails.
 * @property selected - URL of the image currently shown (its thumbnail is highlighted).
 * @fires image-selected - `CustomEvent<ImageChoice>` when the user picks a sample or a file.
 */
export class CnnImagePicker extends LitElement {
  static override properties = {
    samples: { attribute: false },
    selected: { type: String },
  };

  declare samples: ImageChoice[];
  declare selected: string;

  static override styles = css`
    :host { display: block; }
    .thumbs { display: flex; flex-wrap: wrap; gap: 0.4rem; margin-bottom: 0.6rem; }
    button.thumb { padding: 0; border: 2px solid transparent; border-radius: 0.4rem; background: none; cursor: pointer; line-height: 0; }
    button.thumb[aria-pressed='true'] { border-color: var(--accent, #3b6fe0); }
    button.thumb img { width: 3.5rem; height: 3.5rem; object-fit: cover; border-radius: 0.25rem; }
    label.file { display: inline-block; cursor: pointer; padding: 0.35rem 0.75rem; border-radius: 0.4rem;
      border: 1px solid var(--line, #ccd); background: var(--panel, #fff); }
    label.file input { display: none; }
  `;

  constructor() {
    super();
    this.samples = [];
    this.selected = '';
  }

  private choose(choice: ImageChoice): void {
    this.dispatchEvent(new CustomEvent<ImageChoice>('image-selected', { detail: choice, bubbles: true, composed: true }));
  }

  private onFile(ev: Event): void {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) this.choose({ name: file.name, url: URL.createObjectURL(file) });
    input.value = '';
  }

  override render() {
    return html`
      <div class="thumbs" role="group" aria-label="Sample images">
        ${this.samples.map((s) => html`
          <button class="thumb" title=${s.name} aria-pressed=${s.url === this.selected ? 'true' : 'false'}
                  data-url=${s.url} @click=${() => this.choose(s)}>
            <img src=${s.url} alt=${s.name} loading="lazy" />
          </button>`)}
      </div>
      <label class="file">Choose an image file…
        <input type="file" accept="image/jpeg,image/png" @change=${this.onFile} />
      </label>`;
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
