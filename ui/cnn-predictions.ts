import { css, html, LitElement } from 'lit';
import type { Prediction } from './session';

/**
 * `<cnn-predictions>`: the top-k classes of one image as labelled probability bars, best first.
 * The best class's label is also printed on its own line (`part="top-label"`).
 *
 * @property predictions - the classes to show, best first (index, label, probability in [0, 1]).
 * @csspart top-label - the best class's label.
 */
export class CnnPredictions extends LitElement {
  static override properties = {
    predictions: { attribute: false },
  };

  declare predictions: Prediction[];

  static override styles = css`
    :host { display: block; font: inherit; }
    .top { font-size: 1.35rem; font-weight: 600; margin: 0 0 0.75rem; }
    ol { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.45rem; }
    li { display: grid; grid-template-columns: 1fr 4.5rem; gap: 0.2rem 0.6rem; align-items: center; }
    .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .index { color: var(--muted, #777); font-variant-numeric: tabular-nums; margin-right: 0.35rem; }
    .prob { text-align: right; font-variant-numeric: tabular-nums; }
    .bar { grid-column: 1 / -1; height: 0.45rem; border-radius: 0.25rem; background: var(--track, #e6e8ee); overflow: hidden; }
    .bar > span { display: block; height: 100%; background: var(--accent, #3b6fe0); border-radius: inherit; transition: width 0.3s; }
  `;

  constructor() {
    super();
    this.predictions = [];
  }

  override render() {
    const p = this.predictions;
    if (p.length === 0) return html``;
    return html`
      <p class="top" part="top-label">${p[0].label}</p>
      <ol>
        ${p.map((x) => html`
          <li data-index=${x.index}>
            <span class="label"><span class="index">${x.index}</span>${x.label}</span>
            <span class="prob">${(x.prob * 100).toFixed(2)}%</span>
            <span class="bar"><span style="width: ${Math.max(0.5, x.prob * 100).toFixed(2)}%"></span></span>
          </li>`)}
      </ol>`;
  }
}

customElements.define('cnn-predictions', CnnPredictions);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-predictions': CnnPredictions;
  }
}
