import { css, html, LitElement } from 'lit';
import type uPlot from 'uplot';

/** One series: points (x[i], y[i]); drawn as a line, as dots, or both. */
export interface ChartSeries {
  label: string;
  x: readonly number[];
  y: readonly (number | null)[];
  color: string;
  /** Default 'line'. */
  style?: 'line' | 'points' | 'both';
  /** Dashed line (ceilings, references). */
  dash?: boolean;
  /** Dot size in CSS pixels (points). */
  size?: number;
}

export interface ChartSpec {
  title: string;
  x: { label: string; log?: boolean };
  y: { label: string; log?: boolean };
  series: ChartSeries[];
  height?: number;
}

/** The series on one shared, sorted x axis (uPlot's aligned data), nulls where a series has no point. */
export function alignSeries(series: readonly ChartSeries[]): [number[], ...(number | null)[][]] {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col = new Array<number | null>(xs.length).fill(null);
    s.x.forEach((x, i) => (col[at.get(x)!] = s.y[i] ?? null));
    return col;
  });
  return [xs, ...ys];
}

/** SI-prefixed axis ticks: 1.2 G, 350 M, 4 k. */
export function siFormat(v: number): string {
  const a = Math.abs(v);
  const [d, p] = a >= 1e12 ? [1e12, 'T'] : a >= 1e9 ? [1e9, 'G'] : a >= 1e6 ? [1e6, 'M'] : a >= 1e3 ? [1e3, 'k'] : a > 0 && a < 1e-2 ? [1e-3, 'm'] : [1, ''];
  const s = v / (d as number);
  return `${Number(s.toPrecision(3))}${p ? ` ${p}` : ''}`;
}

let uplotModule: Promise<[typeof uPlot, string]> | null = null;

/** uPlot and its stylesheet, loaded on first use only (a dynamic import keeps it out of the main bundle). */
function loadUplot(): Promise<[typeof uPlot, string]> {
  uplotModule ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css?inline')]).then(([m, c]) => [m.default, c.default]);
  return uplotModule;
}

/**
 * Load uPlot ahead of need, when the page is idle: evaluating it costs a main-thread task of a few
 * hundred ms on a slow machine, which must not fall in the middle of a run.
 */
export function preloadCharts(): void {
  const go = () => void loadUplot().catch(() => (uplotModule = null));
  if ('requestIdleCallback' in window) requestIdleCallback(go, { timeout: 3000 });
  else setTimeout(go, 1000);
}

/**
 * `<cnn-chart>`: a line / scatter chart drawn by uPlot (loaded on first use). Set `spec`; the chart
 * redraws when it changes and follows the element's width. Log axes for rooflines.
 *
 * @property spec - what to draw (ChartSpec).
 * @attr data-state - `pending` until uPlot has drawn, then `done` (or `error`).
 */
export class CnnChart extends LitElement {
  static override properties = { spec: { attribute: false } };
  declare spec: ChartSpec | null;
  private plot: uPlot | null = null;
  /** The options the plot was made with (title, axes, series styles): equal keys only swap the data. */
  private key = '';
  private resize: ResizeObserver | null = null;

  static override styles = css`
    :host { display: block; min-width: 0; }
    .box { width: 100%; }
    h4 { margin: 0 0 0.3rem; font-size: 0.85rem; font-weight: 600; }
    .error { color: var(--bad, #b3261e); font-size: 0.85rem; }
  `;

  constructor() {
    super();
    this.spec = null;
    this.dataset.state = 'pending';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize = new ResizeObserver(() => {
      const w = this.box?.clientWidth ?? 0;
      if (this.plot && w > 0 && Math.abs(this.plot.width - w) > 2) this.plot.setSize({ width: w, height: this.plot.height });
    });
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize?.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private get box(): HTMLElement | null {
    return this.renderRoot.querySelector('.box');
  }

  protected override async updated(changed: Map<string, unknown>): Promise<void> {
    if (!changed.has('spec') || !this.spec) return;
    try {
      await this.draw(this.spec);
      this.dataset.state = 'done';
    } catch (e) {
      this.dataset.state = 'error';
      this.box!.textContent = `chart: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  private async draw(spec: ChartSpec): Promise<void> {
    // A task of its own: the chart reads its box's width (a layout of the page just rendered, 40 ms
    // for the kernel inspector on a slow machine) and uPlot draws, apart from the rendering that
    // set `spec`, so that neither makes one long main-thread task with the other.
    await new Promise((r) => setTimeout(r, 0));
    if (!this.isConnected) return; // removed meanwhile: disconnectedCallback already let go of the plot
    const [UPlot, styles] = await loadUplot();
    if (!this.renderRoot.querySelector('style[data-uplot]')) {
      const st = document.createElement('style');
      st.dataset.uplot = '';
      st.textContent = styles;
      this.renderRoot.appendChild(st);
    }
    const box = this.box!;
    const data = alignSeries(spec.series);
    const key = JSON.stringify([spec.title, spec.x, spec.y, spec.height, spec.series.map((s) => [s.label, s.color, s.style, s.dash, s.size])]);
    if (this.plot && key === this.key) {
      this.plot.setData(data as uPlot.AlignedData);
      return;
    }
    this.key = key;
    const axis = (label: string, log?: boolean): uPlot.Axis => ({
      label, stroke: '#5c6273', grid: { stroke: '#e6e8ee', width: 1 }, ticks: { stroke: '#d5d8e0', width: 1 },
      // Log axes: label the decades only (uPlot puts a tick at every 1..9 x 10^k).
      values: (_u, ticks) => ticks.map((t) => (log ? (Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-6 ? siFormat(t) : '')
        : Math.abs(t) >= 1e3 || (Math.abs(t) < 1e-2 && t !== 0) ? siFormat(t) : String(Number(t.toPrecision(4))))),
      size: 52,
    });
    const opts: uPlot.Options = {
      width: Math.max(box.clientWidth, 240),
      height: spec.height ?? 260,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: spec.x.log ? { time: false, distr: 3, log: 10 } : { time: false },
        y: spec.y.log ? { distr: 3, log: 10 } : {},
      },
      axes: [axis(spec.x.label, spec.x.log), axis(spec.y.label, spec.y.log)],
      series: [
        { label: spec.x.label },
        ...spec.series.map((s): uPlot.Series => {
          const pts = s.style === 'points' || s.style === 'both';
          return {
            label: s.label, stroke: s.color, width: s.style === 'points' ? 0 : 2, spanGaps: true,
            dash: s.dash ? [6, 4] : undefined,
            ...(s.style === 'points' ? { paths: () => null } : {}),
            points: pts ? { show: true, size: s.size ?? 7, fill: s.color, stroke: s.color, width: 1 } : { show: false },
          };
        }),
      ],
    };
    this.plot?.destroy();
    box.replaceChildren();
    this.plot = new UPlot(opts, data as uPlot.AlignedData, box);
  }

  override render() {
    return html`${this.spec ? html`<h4>${this.spec.title}</h4>` : ''}<div class="box" role="img" aria-label=${this.spec?.title ?? 'chart'}></div>`;
  }
}

customElements.define('cnn-chart', CnnChart);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-chart': CnnChart;
  }
}
