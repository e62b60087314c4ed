import { css, html, LitElement, nothing } from 'lit';
import type { LayerInfo } from '../engine/index';
import { flagOf, type OptionSpec, type OptionValue } from '../engine/techniques/technique';
import './cnn-class-picker';

/** The shape of a layer as people read it: C x H x W. */
export function shapeText(l: LayerInfo): string {
  return l.shape.join(' \u00d7 ');
}

/**
 * `<cnn-option-control>`: the labelled control for one technique option, generated from its
 * OptionSpec: int / number -> number input (with a slider when bounded), enum -> select, bool ->
 * checkbox, class -> `<cnn-class-picker>`, layer -> a select showing each layer's shape, channel
 * and neuron -> inputs bounded by the chosen layer's shape.
 *
 * @property spec - the option.
 * @property value - its current value.
 * @property layers - the model's layers (layer pickers).
 * @property layer - the layer the technique's `layer` option names (bounds channel / neuron).
 * @property labels - class labels (class pickers).
 * @property receptiveField - each layer's receptive field in input pixels (layer pickers).
 * @fires option-change - `CustomEvent<{ name: string; value: OptionValue }>`.
 */
export class CnnOptionControl extends LitElement {
  static override properties = {
    spec: { attribute: false },
    value: { attribute: false },
    layers: { attribute: false },
    layer: { attribute: false },
    labels: { attribute: false },
    receptiveField: { attribute: false },
  };

  declare spec: OptionSpec;
  declare value: OptionValue;
  declare layers: LayerInfo[];
  declare layer: LayerInfo | undefined;
  declare labels: string[];
  declare receptiveField: Map<string, number>;

  static override styles = css`
    :host { display: block; }
    label, .label { display: block; font-size: 0.85rem; font-weight: 600; margin-bottom: 0.2rem; }
    .help { display: block; font-weight: 400; color: var(--muted, #6b7080); font-size: 0.78rem; }
    input, select { font: inherit; box-sizing: border-box; padding: 0.3rem 0.45rem; border: 1px solid var(--line, #ccd); border-radius: 0.4rem; background: var(--field, #fff); color: inherit; }
    input[type='number'], select { width: 100%; }
    .row { display: flex; gap: 0.5rem; align-items: center; }
    .row input[type='range'] { flex: 1; }
    .row input[type='number'] { width: 6rem; }
    .check { display: flex; gap: 0.5rem; align-items: baseline; font-weight: 600; font-size: 0.85rem; }
    .neuron { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0.35rem; }
    .neuron label { font-weight: 400; font-size: 0.75rem; color: var(--muted, #6b7080); margin: 0; }
  `;

  constructor() {
    super();
    this.layers = [];
    this.layer = undefined;
    this.labels = [];
    this.receptiveField = new Map();
  }

  private rf(layer: string): string {
    const r = this.receptiveField.get(layer);
    return r ? `, sees ${r}\u00d7${r} px` : '';
  }

  private emit(value: OptionValue): void {
    this.value = value;
    this.dispatchEvent(new CustomEvent('option-change', { detail: { name: this.spec.name, value }, bubbles: true, composed: true }));
  }

  private number(ev: Event, int: boolean): void {
    const input = ev.target as HTMLInputElement;
    if (input.value === '' || !input.checkValidity()) return;
    const n = Number(input.value);
    if (Number.isFinite(n)) this.emit(int ? Math.round(n) : n);
  }

  private get controlId(): string {
    return `opt-${flagOf(this.spec)}`;
  }

  private heading() {
    return html`${flagOf(this.spec)}<span class="help">${this.spec.help}</span>`;
  }

  private renderNumber(s: Extract<OptionSpec, { kind: 'int' | 'number' }>) {
    const step = s.step ?? (s.kind === 'int' ? 1 : 'any');
    const bounded = s.min !== undefined && s.max !== undefined;
    const input = (type: string, label: string) => html`<input type=${type} id=${type === 'number' ? this.controlId : nothing} aria-label=${label}
      min=${s.min ?? nothing} max=${s.max ?? nothing} step=${step} .value=${String(this.value)}
      @change=${(e: Event) => this.number(e, s.kind === 'int')} @input=${type === 'range' ? (e: Event) => this.number(e, s.kind === 'int') : nothing} />`;
    return html`<label for=${this.controlId}>${this.heading()}</label>
      ${bounded ? html`<div class="row">${input('range', `${flagOf(s)} slider`)}${input('number', flagOf(s))}</div>` : input('number', flagOf(s))}`;
  }

  private renderNeuron() {
    const parts = String(this.value) === '' ? ['', '', ''] : String(this.value).split(',');
    const shape = this.layer?.shape;
    const names = ['channel', 'y', 'x'];
    const change = (i: number, v: string) => {
      const next = [...parts];
      next[i] = v;
      this.emit(next.every((p) => p === '') ? '' : next.every((p) => /^\d+$/.test(p)) ? next.join(',') : String(this.value));
    };
    return html`<span class="label" id=${this.controlId}>${this.heading()}</span>
      <div class="neuron" role="group" aria-labelledby=${this.controlId}>
        ${names.map((n, i) => html`<label>${n}${shape ? ` (0-${shape[i] - 1})` : ''}
          <input type="number" min="0" max=${shape ? shape[i] - 1 : nothing} step="1" .value=${parts[i] ?? ''}
            aria-label=${`${flagOf(this.spec)} ${n}`} @change=${(e: Event) => change(i, (e.target as HTMLInputElement).value)} /></label>`)}
      </div>`;
  }

  override render() {
    const s = this.spec;
    switch (s.kind) {
      case 'int':
      case 'number':
        return this.renderNumber(s);
      case 'enum':
        return html`<label for=${this.controlId}>${this.heading()}</label>
          <select id=${this.controlId} @change=${(e: Event) => this.emit((e.target as HTMLSelectElement).value)}>
            ${s.choices.map((c) => html`<option value=${c} ?selected=${c === this.value}>${c}</option>`)}
          </select>`;
      case 'bool':
        return html`<label class="check"><input type="checkbox" .checked=${this.value === true}
          @change=${(e: Event) => this.emit((e.target as HTMLInputElement).checked)} /><span>${this.heading()}</span></label>`;
      case 'class':
        return html`<span class="label">${this.heading()}</span>
          <cnn-class-picker .labels=${this.labels} .value=${String(this.value)} label=${flagOf(s)}
            @value-change=${(e: CustomEvent<string>) => { e.stopPropagation(); this.emit(e.detail); }}></cnn-class-picker>`;
      case 'layer': {
        const layers = this.layers.filter((l) => l.type !== 'input' && (!s.types || s.types.includes(l.type)));
        return html`<label for=${this.controlId}>${this.heading()}</label>
          <select id=${this.controlId} @change=${(e: Event) => this.emit((e.target as HTMLSelectElement).value)}>
            <option value="" ?selected=${this.value === ''}>default</option>
            ${layers.map((l) => html`<option value=${l.name} ?selected=${l.name === this.value}>${l.name} (${l.type}, ${shapeText(l)}${this.rf(l.name)})</option>`)}
          </select>`;
      }
      case 'channel': {
        const c = this.layer?.shape[0];
        return html`<label for=${this.controlId}>${flagOf(s)}${c ? ` (0-${c - 1}, -1 = none)` : ' (-1 = none)'}<span class="help">${s.help}</span></label>
          <input type="number" id=${this.controlId} min="-1" max=${c ? c - 1 : nothing} step="1" .value=${String(this.value)}
            @change=${(e: Event) => this.number(e, true)} />`;
      }
      case 'neuron':
        return this.renderNeuron();
      default:
        return html`<label for=${this.controlId}>${this.heading()}</label>
          <input type="text" id=${this.controlId} .value=${String(this.value)} @change=${(e: Event) => this.emit((e.target as HTMLInputElement).value)} />`;
    }
  }
}

customElements.define('cnn-option-control', CnnOptionControl);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-option-control': CnnOptionControl;
  }
}
