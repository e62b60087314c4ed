import { css, html, LitElement, nothing } from 'lit';
import { scopeLayers, type DispatchRecord } from '../engine/profile';
import type { RgbaImage } from '../engine/techniques/technique';
import './cnn-chart';
import { siFormat, type ChartSpec } from './cnn-chart';
import { inspectPass, type InspectorRun } from './session';
import { highlightWgsl } from './wgsl_highlight';

export type InspectorState = 'idle' | 'running' | 'done' | 'error';

/** A dispatch's seconds: its GPU time where timestamps exist, else null. */
function seconds(r: DispatchRecord): number | null {
  return r.gpuNs !== null ? r.gpuNs * 1e-9 : null;
}

/** Arithmetic intensity (FLOP / byte) of a dispatch, null without a cost. */
export function intensity(r: DispatchRecord): number | null {
  return r.flops !== null && r.bytes ? r.flops / r.bytes : null;
}

/** The roofline: attainable FLOP/s at intensity `ai` under the two ceilings. */
export function attainable(ai: number, flopsPerSec: number, bytesPerSec: number): number {
  return Math.min(flopsPerSec, bytesPerSec * ai);
}

/** The roofline chart of a profiled pass (selected layer's dispatches drawn apart). */
export function rooflineSpec(run: InspectorRun, layer: string | null): ChartSpec {
  const { flopsPerSec: peak, bytesPerSec: bw } = run.ceilings;
  const recs = run.profile.records.filter((r) => intensity(r) !== null && r.flops! > 0);
  const timed = run.profile.timing === 'timestamp-query';
  const rate = (r: DispatchRecord) => (timed ? (seconds(r) ? r.flops! / seconds(r)! : null) : attainable(intensity(r)!, peak, bw));
  const ais = recs.map((r) => intensity(r)!);
  const lo = Math.min(...ais, peak / bw) / 4;
  const hi = Math.max(...ais, peak / bw) * 4;
  const roof = [lo, peak / bw, hi];
  const pick = (inLayer: boolean) => recs.filter((r) => (layer !== null && scopeLayers(r.scope).includes(layer)) === inLayer);
  const other = pick(false);
  const sel = pick(true);
  const series: ChartSpec['series'] = [
    { label: `bandwidth ${siFormat(bw)}B/s`, x: roof.slice(0, 2), y: roof.slice(0, 2).map((a) => bw * a), color: '#8a93a8', dash: true },
    { label: `compute ${siFormat(peak)}FLOP/s`, x: roof.slice(1), y: roof.slice(1).map(() => peak), color: '#5c6273', dash: true },
    { label: timed ? 'dispatches (achieved)' : 'dispatches (at their bound)', x: other.map((r) => intensity(r)!), y: other.map(rate), color: '#3b6fe0aa', style: 'points', size: 6 },
  ];
  if (layer !== null) series.push({ label: layer, x: sel.map((r) => intensity(r)!), y: sel.map(rate), color: '#e0513b', style: 'points', size: 10 });
  if (!timed) {
    const flops = recs.reduce((s, r) => s + r.flops!, 0);
    const bytes = recs.reduce((s, r) => s + r.bytes!, 0);
    series.push({ label: 'whole pass (achieved, wall time)', x: [flops / bytes], y: [flops / (run.profile.wallMs * 1e-3)], color: '#1f9d6b', style: 'points', size: 12 });
  }
  return { title: 'Roofline: FLOP/s against arithmetic intensity', x: { label: 'FLOP / byte', log: true }, y: { label: 'FLOP/s', log: true }, series, height: 300 };
}

function fmtTime(r: DispatchRecord): string {
  const s = seconds(r);
  return s === null ? '\u2013' : s >= 1e-3 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(1)} \u00b5s`;
}

/**
 * `<cnn-inspector>`: the kernel inspector (`?technique=inspector`). Profiles a forward + backward
 * pass of the model on the image (rt.profile through ui/session.ts) and shows it as a list of
 * dispatches (kernel, entry point, variant, workgroup size, grid, FLOPs, bytes, GPU time where the
 * adapter has timestamp queries), the selected kernel's WGSL source, highlighted, and a roofline
 * chart under the adapter's measured ceilings. Clicking a layer highlights its dispatches.
 *
 * @property model - the model's name.
 * @property image - the input picture.
 * @attr data-state - `idle | running | done | error`.
 */
export class CnnInspector extends LitElement {
  static override properties = {
    model: { type: String },
    image: { attribute: false },
    state: { state: true },
    result: { state: true },
    error: { state: true },
    layer: { state: true },
    selected: { state: true },
  };

  declare model: string;
  declare image: RgbaImage | null;
  declare state: InspectorState;
  declare result: InspectorRun | null;
  declare error: string;
  /** The highlighted layer (null: none). */
  declare layer: string | null;
  /** The dispatch whose source is shown. */
  declare selected: number;
  private controller: AbortController | null = null;
  private runId = 0;

  static override styles = css`
    :host { display: block; }
    header h2 { margin: 0; font-size: 1.35rem; }
    header p { margin: 0.35rem 0 0; color: var(--muted, #6b7080); max-width: 48rem; }
    .actions { display: flex; gap: 0.6rem; align-items: center; margin: 1rem 0; }
    button { font: inherit; padding: 0.45rem 1.1rem; border-radius: 0.45rem; border: 1px solid var(--line, #ccd); background: var(--panel, #fff); color: var(--ink, #1d2230); cursor: pointer; }
    button.run { background: var(--accent, #3b6fe0); border-color: var(--accent, #3b6fe0); color: #fff; font-weight: 600; }
    button:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent, #3b6fe0) 40%, transparent); outline-offset: 2px; }
    .status { color: var(--muted, #6b7080); font-size: 0.88rem; }
    .error { color: var(--bad, #b3261e); background: color-mix(in srgb, var(--bad, #b3261e) 7%, transparent); border-radius: 0.45rem; padding: 0.6rem 0.8rem; white-space: pre-wrap; }
    .note { font-size: 0.85rem; color: var(--muted, #6b7080); margin: 0.4rem 0; }
    .note strong { color: var(--ink, #1d2230); }
    dl { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: 0.4rem 1rem; margin: 0.6rem 0 1rem; font-size: 0.85rem; }
    dl div { border-top: 1px solid var(--line, #e1e4ec); padding-top: 0.3rem; }
    dt { color: var(--muted, #6b7080); font-size: 0.75rem; }
    dd { margin: 0; font-variant-numeric: tabular-nums; }
    h3 { font-size: 0.72rem; text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted, #6b7080); margin: 1.2rem 0 0.4rem; }
    .layers { display: flex; flex-wrap: wrap; gap: 0.3rem; }
    .layers button { padding: 0.15rem 0.55rem; font-size: 0.78rem; border-radius: 1rem; }
    .layers button[aria-pressed='true'] { background: #e0513b; border-color: #e0513b; color: #fff; }
    .layers button small { color: inherit; opacity: 0.7; margin-left: 0.25rem; }
    .grid { display: grid; grid-template-columns: minmax(0, 1fr); gap: 1.2rem; }
    .table { max-height: 24rem; overflow: auto; border: 1px solid var(--line, #e1e4ec); border-radius: 0.5rem; }
    table { border-collapse: collapse; width: 100%; font-size: 0.76rem; font-variant-numeric: tabular-nums; }
    th, td { padding: 0.25rem 0.45rem; text-align: right; white-space: nowrap; }
    th { position: sticky; top: 0; background: var(--track, #eef0f5); font-weight: 600; z-index: 1; }
    td.l, th.l { text-align: left; }
    tbody tr { cursor: pointer; border-top: 1px solid var(--line, #eef0f5); }
    tbody tr:hover { background: color-mix(in srgb, var(--accent, #3b6fe0) 6%, transparent); }
    tbody tr.in-layer { background: color-mix(in srgb, #e0513b 13%, transparent); }
    tbody tr.sel { outline: 2px solid var(--accent, #3b6fe0); outline-offset: -2px; }
    pre.wgsl { font: 0.74rem/1.45 ui-monospace, 'SF Mono', Menlo, Consolas, monospace; background: #1e2230; color: #d8dce6; border-radius: 0.5rem;
      padding: 0.8rem 1rem; overflow: auto; max-height: 30rem; margin: 0; tab-size: 2; }
    .tok-comment { color: #7f8aa3; font-style: italic; }
    .tok-attr { color: #e6b673; }
    .tok-keyword { color: #c792ea; }
    .tok-type { color: #7fdbca; }
    .tok-builtin { color: #82aaff; }
    .tok-number { color: #f78c6c; }
    .tok-fn { color: #ffcb6b; font-weight: 600; }
    .src-head { font-size: 0.82rem; margin: 0 0 0.4rem; }
    code { font: 0.8rem ui-monospace, Menlo, Consolas, monospace; }
  `;

  constructor() {
    super();
    this.model = '';
    this.image = null;
    this.state = 'idle';
    this.result = null;
    this.error = '';
    this.layer = null;
    this.selected = 0;
  }

  protected override updated(): void {
    this.dataset.state = this.state;
  }

  /** Profile the pass (a run in flight is cancelled first). */
  async run(): Promise<void> {
    this.cancel();
    if (!this.image) {
      this.state = 'error';
      this.error = 'The kernel inspector profiles a pass on an image: pick one on the right.';
      return;
    }
    const id = ++this.runId;
    const controller = (this.controller = new AbortController());
    this.state = 'running';
    this.dataset.state = 'running';
    this.error = '';
    try {
      const r = await inspectPass(this.model, this.image, controller.signal);
      if (id !== this.runId) return;
      this.result = r;
      this.layer = null;
      this.selected = r.profile.records.find((x) => x.family.startsWith('conv2d'))?.index ?? 0;
      this.state = 'done';
    } catch (e) {
      if (id !== this.runId) return;
      const aborted = e instanceof Error && e.name === 'AbortError';
      this.error = aborted ? 'Cancelled.' : e instanceof Error ? e.message : String(e);
      this.state = aborted ? 'idle' : 'error';
    } finally {
      if (id === this.runId) this.controller = null;
    }
  }

  cancel(): void {
    this.controller?.abort();
    this.controller = null;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.cancel();
  }

  private renderSummary(r: InspectorRun) {
    const recs = r.profile.records;
    const flops = recs.reduce((s, x) => s + (x.flops ?? 0), 0);
    const bytes = recs.reduce((s, x) => s + (x.bytes ?? 0), 0);
    const gpu = recs.every((x) => x.gpuNs !== null) ? recs.reduce((s, x) => s + x.gpuNs!, 0) * 1e-6 : null;
    const c = r.ceilings;
    const items: [string, string][] = [
      ['dispatches', String(recs.length)],
      ['FLOPs', `${siFormat(flops)}FLOP`],
      ['bytes moved', `${siFormat(bytes)}B`],
      [gpu !== null ? 'GPU time (sum)' : 'wall time', `${(gpu ?? r.profile.wallMs).toFixed(1)} ms`],
      ['compute ceiling', `${siFormat(c.flopsPerSec)}FLOP/s`],
      ['bandwidth ceiling', `${siFormat(c.bytesPerSec)}B/s`],
      ['ridge point', `${(c.flopsPerSec / c.bytesPerSec).toFixed(2)} FLOP/B`],
      ['backward of', `${r.classIndex} ${r.label}`],
    ];
    return html`
      <p class="note"><strong>Timing: ${r.profile.timing}.</strong> ${r.profile.note}.</p>
      <p class="note">Ceilings: ${c.note}. Adapter: ${r.adapter}.</p>
      <dl aria-label="pass summary">${items.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
  }

  private renderLayers(r: InspectorRun) {
    const count = new Map<string, number>();
    // A multi-conv launch counts for each of its layers.
    for (const x of r.profile.records) for (const l of scopeLayers(x.scope)) count.set(l, (count.get(l) ?? 0) + 1);
    const layers = r.layers.filter((l) => count.has(l.name));
    return html`<h3>Layers (click to highlight their dispatches)</h3>
      <div class="layers" role="group" aria-label="layers">${layers.map((l) => html`<button class="layer" aria-pressed=${this.layer === l.name ? 'true' : 'false'}
        data-layer=${l.name} title="${l.type}, ${l.shape.join(' \u00d7 ')}" @click=${() => this.pickLayer(l.name)}>${l.name}<small>${count.get(l.name)}</small></button>`)}</div>`;
  }

  private pickLayer(name: string): void {
    this.layer = this.layer === name ? null : name;
    const first = this.result?.profile.records.find((x) => this.layer !== null && scopeLayers(x.scope).includes(this.layer));
    if (first) this.selected = first.index;
  }

  private renderTable(r: InspectorRun) {
    const timed = r.profile.timing === 'timestamp-query';
    return html`<div class="table"><table aria-label="dispatches">
      <thead><tr><th>#</th><th class="l">layer</th><th class="l">kernel</th><th class="l">entry point</th><th class="l">variant</th><th>workgroup</th><th>dispatch</th>
        <th>FLOPs</th><th>bytes</th><th>FLOP/B</th><th>${timed ? 'GPU time' : 'time'}</th>${timed ? html`<th>FLOP/s</th>` : nothing}</tr></thead>
      <tbody>${r.profile.records.map((x) => {
        const ai = intensity(x);
        const s = seconds(x);
        const cls = `${this.layer !== null && scopeLayers(x.scope).includes(this.layer) ? 'in-layer' : ''} ${x.index === this.selected ? 'sel' : ''}`;
        return html`<tr class=${cls} @click=${() => (this.selected = x.index)}>
          <td>${x.index}</td><td class="l">${x.scope ?? '\u2013'}</td><td class="l">${x.family}</td><td class="l">${x.entryPoint}</td><td class="l">${x.variant ?? '\u2013'}</td>
          <td>${x.workgroupSize.join('\u00d7')}</td><td>${x.workgroups.join('\u00d7')}</td>
          <td>${x.flops === null ? '\u2013' : siFormat(x.flops)}</td><td>${x.bytes === null ? '\u2013' : siFormat(x.bytes)}</td>
          <td>${ai === null ? '\u2013' : ai.toFixed(2)}</td><td>${fmtTime(x)}</td>
          ${timed ? html`<td>${s && x.flops ? siFormat(x.flops / s) : '\u2013'}</td>` : nothing}</tr>`;
      })}</tbody></table></div>`;
  }

  private renderSource(r: InspectorRun) {
    const x = r.profile.records[this.selected];
    if (!x) return nothing;
    const src = r.sources[x.family] ?? '';
    return html`<div><p class="src-head">Dispatch #${x.index}: <code>${x.family}.wgsl</code>, entry point <code>${x.entryPoint}</code>, pipeline <code>${x.label}</code></p>
      <pre class="wgsl" aria-label="WGSL source of ${x.family}">${src ? highlightWgsl(src) : 'source not in the kernel registry'}</pre></div>`;
  }

  override render() {
    const r = this.result;
    return html`
      <header><h2>Kernel inspector</h2>
        <p>Every GPU dispatch of one forward and one backward pass (the top-1 class score back to the image) of ${this.model}: which WGSL kernel ran, how it was launched, what it
        cost on paper and, where the adapter offers timestamp queries, on the GPU; and a roofline of the pass under this adapter's measured ceilings.</p></header>
      <div class="actions">
        <button class="run" @click=${() => void this.run()}>Profile the pass</button>
        ${this.state === 'running' ? html`<span class="status">calibrating and profiling\u2026</span>` : nothing}
        ${this.state === 'done' && r ? html`<span class="status">done in ${(r.ms / 1000).toFixed(2)} s</span>` : nothing}
      </div>
      ${this.error ? html`<p class=${this.state === 'error' ? 'error' : 'status'} role=${this.state === 'error' ? 'alert' : nothing}>${this.error}</p>` : nothing}
      ${r ? html`${this.renderSummary(r)}
        <cnn-chart .spec=${rooflineSpec(r, this.layer)}></cnn-chart>
        ${this.renderLayers(r)}
        <h3>Dispatches (click one for its WGSL)</h3>
        <div class="grid">${this.renderTable(r)}${this.renderSource(r)}</div>` : nothing}`;
  }
}

customElements.define('cnn-inspector', CnnInspector);

declare global {
  interface HTMLElementTagNameMap {
    'cnn-inspector': CnnInspector;
  }
}
