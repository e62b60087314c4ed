import { css, html, LitElement } from 'lit';
import type { View } from '../engine/techniques/technique';
import { fileName, saveBlob, viewPng } from './download';

/**
 * `<cnn-view>`: one picture of a technique's result on a canvas (small pictures scaled up with
 * crisp pixels), its caption, and a PNG download of the picture at its own resolution.
 *
 * @property view - the picture (suffix, meaning, RGBA image).
 * @property stem - the image's stem, for the file name.
 * @property technique - the technique's name, for the file name.
 */
export class CnnView extends LitElement {
  static override properties = {
    view: { attribute: false },
    stem: { type: String },
    technique: { type: String },
  };

  declare view: View;
  declare stem: string;
  declare technique: string;

  static override styles = css`
    :host { display: block; }
    figure { margin: 0; display: grid; gap: 0.35rem; }
    canvas { width: 100%; height: auto; max-height: 32rem; object-fit: contain; border-radius: 0.4rem;
      background: var(--track, #e6e8ee); image-rendering: pixelated; }
    figcaption { display: flex; justify-content: space-between; gap: 0.5rem; align-items: baseline; font-size: 0.82rem; color: var(--muted, #6b7080); }
    button { font: inherit; font-size: 0.8rem; padding: 0.2rem 0.55rem; border-radius: 0.35rem; border: 1px solid var(--line, #ccd);
      background: var(--panel, #fff); color: var(--ink, #1d2230); cursor: pointer; white-space: nowrap; }
    button:hover { border-color: var(--accent, #3b6fe0); }
  `;

  get file(): string {
    return fileName(this.stem, this.technique, this.view.suffix, 'png');
  }

  /** The PNG file the download button saves. */
  png(): Promise<Blob> {
    return viewPng(this.view);
  }

  protected override updated(): void {
    const canvas = this.renderRoot.querySelector('canvas');
    const img = this.view?.image;
    if (!canvas || !img) return;
    canvas.width = img.width;
    canvas.height = img.height;
    canvas.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(img.rgba), img.width, img.height), 0, 0);
  }

  override render() {
    const v = this.view;
    return html`<figure>
      <canvas role="img" aria-label=${v.meaning} data-suffix=${v.suffix}></canvas>
      <figcaption><span>${v.meaning} (${v.image.width} \u00d7 ${v.image.height})</span>
        <button class="png" title=${`save ${this.file}`} @click=${async () => saveBlob(await this.png(), this.file)}>PNG</button></figcaption>
    </figure>`;
  }
}

customElements.define('cnn-view', CnnView);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-view': CnnView;
  }
}
