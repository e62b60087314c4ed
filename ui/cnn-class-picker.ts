import { css, html, LitElement } from 'lit';

/**
 * `<cnn-class-picker>`: choose a class by typing part of its label (or its index); '' means the
 * network's top-1 prediction. The suggestions list every label that contains the typed text.
 *
 * @property labels - the model's class labels, by index.
 * @property value - the class as the technique options hold it: an index as text, or ''.
 * @property label - the visible label of the input.
 * @fires value-change - `CustomEvent<string>`: the class index as text, or '' for the top-1.
 */
export class CnnClassPicker extends LitElement {
  static override properties = {
    labels: { attribute: false },
    value: { type: String },
    label: { type: String },
  };

  declare labels: string[];
  declare value: string;
  declare label: string;
  private static count = 0;
  private readonly listId = `classes-${CnnClassPicker.count++}`;

  static override styles = css`
    :host { display: block; }
    input { font: inherit; width: 100%; box-sizing: border-box; padding: 0.35rem 0.5rem; border: 1px solid var(--line, #ccd); border-radius: 0.4rem; background: var(--field, #fff); color: inherit; }
    .hint { color: var(--muted, #6b7080); font-size: 0.8rem; }
  `;

  constructor() {
    super();
    this.labels = [];
    this.value = '';
    this.label = 'Class';
  }

  /** What the input shows for a value: "index: label". */
  private text(value: string): string {
    if (value === '') return '';
    const i = Number(value);
    return Number.isInteger(i) && this.labels[i] !== undefined ? `${i}: ${this.labels[i]}` : value;
  }

  private onChange(ev: Event): void {
    const t = (ev.target as HTMLInputElement).value.trim();
    let value = '';
    if (t !== '') {
      const m = /^(\d+)(:|$)/.exec(t);
      if (m) value = m[1];
      else {
        const i = this.labels.findIndex((l) => l.toLowerCase().includes(t.toLowerCase()));
        value = i >= 0 ? String(i) : t; // an unknown label goes through: the technique names the choices
      }
    }
    this.value = value;
    this.dispatchEvent(new CustomEvent<string>('value-change', { detail: value, bubbles: true, composed: true }));
  }

  override render() {
    return html`
      <input list=${this.listId} aria-label=${this.label} placeholder="top-1 prediction (type a label to search)"
        .value=${this.text(this.value)} @change=${this.onChange} />
      <datalist id=${this.listId}>
        ${this.labels.map((l, i) => html`<option value=${`${i}: ${l}`}></option>`)}
      </datalist>`;
  }
}

customElements.define('cnn-class-picker', CnnClassPicker);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-class-picker': CnnClassPicker;
  }
}
