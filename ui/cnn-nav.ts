import { css, html, LitElement } from 'lit';
import type { Technique, TechniqueGroup } from '../engine/techniques/technique';

/** The lecture's groups, in its order, with their headings. */
export const GROUPS: [TechniqueGroup, string][] = [
  ['first-layer', 'First layer'],
  ['last-layer', 'Last layer'],
  ['activations', 'Activations'],
  ['gradients', 'Gradients'],
  ['optimization', 'Optimization'],
  ['gallery', 'Gallery'],
  ['engine', 'Engine'],
];

/**
 * `<cnn-nav>`: the list of technique panels, grouped as in the lecture. Each entry is a real link
 * (keyboard reachable, opens in a new tab with its view); a plain click fires `navigate` instead.
 *
 * @property techniques - the registry.
 * @property current - the open technique's name ('' = none).
 * @property hrefFor - the link of a technique's view (keeps model and image).
 * @fires navigate - `CustomEvent<string>`: the technique's name ('' = the overview).
 */
export class CnnNav extends LitElement {
  static override properties = {
    techniques: { attribute: false },
    current: { type: String },
    hrefFor: { attribute: false },
  };

  declare techniques: Technique[];
  declare current: string;
  declare hrefFor: (name: string) => string;

  static override styles = css`
    :host { display: block; }
    h2 { font-size: 0.72rem; text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted, #6b7080); margin: 1rem 0 0.3rem; }
    ul { list-style: none; margin: 0; padding: 0; }
    a { display: block; padding: 0.35rem 0.6rem; border-radius: 0.4rem; color: var(--ink, #1d2230); text-decoration: none; }
    a:hover { background: var(--track, #e6e8ee); }
    a[aria-current='page'] { background: var(--accent, #3b6fe0); color: #fff; }
    a:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent, #3b6fe0) 40%, transparent); }
    .empty { color: var(--muted, #6b7080); font-size: 0.82rem; padding: 0.2rem 0.6rem; }
  `;

  constructor() {
    super();
    this.techniques = [];
    this.current = '';
    this.hrefFor = (name) => `?technique=${name}`;
  }

  private go(ev: MouseEvent, name: string): void {
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    this.dispatchEvent(new CustomEvent<string>('navigate', { detail: name, bubbles: true, composed: true }));
  }

  override render() {
    return html`<nav aria-label="Techniques">
      ${GROUPS.map(([g, title]) => {
        const ts = this.techniques.filter((t) => t.group === g);
        return html`<h2>${title}</h2>
          ${ts.length === 0 ? html`<p class="empty">coming soon</p>` : html`<ul>
            ${ts.map((t) => html`<li><a href=${this.hrefFor(t.name)} data-technique=${t.name} aria-current=${t.name === this.current ? 'page' : 'false'}
              title=${t.description} @click=${(e: MouseEvent) => this.go(e, t.name)}>${t.title}</a></li>`)}
          </ul>`}`;
      })}
    </nav>`;
  }
}

customElements.define('cnn-nav', CnnNav);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-nav': CnnNav;
  }
  interface HTMLElementEventMap {
    navigate: CustomEvent<string>;
  }
}
