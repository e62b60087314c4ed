// The URL holds the view: `technique`, `model`, `image` (a shared sample's stem or a URL) and every
// option of the technique, named as the CLI's flags (flagOf()), are query parameters; `weights`
// and `shared` (data locations, see sources.ts) and `canvas` (the live views' path, live_canvas.ts)
// pass through untouched. A link reproduces a view,
// and opening it runs it.

import { flagOf, type Options, type Technique } from '../engine/techniques/technique';

/** Parameters that are not technique options. */
const RESERVED = ['technique', 'model', 'image', 'weights', 'shared', 'canvas'];

export interface ViewState {
  technique: string;
  model: string;
  image: string;
  /** The technique's options as written in the URL (flag -> string). */
  raw: Record<string, string>;
}

export function readView(search: string): ViewState {
  const q = new URLSearchParams(search);
  const raw: Record<string, string> = {};
  for (const [k, v] of q) if (!RESERVED.includes(k)) raw[k] = v;
  return { technique: q.get('technique') ?? '', model: q.get('model') ?? '', image: q.get('image') ?? '', raw };
}

/** The query string of a view; options equal to their defaults are left out to keep links short. */
export function viewSearch(v: { technique: string; model: string; image: string }, t: Technique | undefined, options: Options | undefined, keep = location.search): string {
  const q = new URLSearchParams();
  const old = new URLSearchParams(keep);
  for (const k of ['weights', 'shared', 'canvas']) if (old.has(k)) q.set(k, old.get(k)!);
  if (v.technique) q.set('technique', v.technique);
  if (v.model) q.set('model', v.model);
  if (v.image) q.set('image', v.image);
  if (t && options) {
    for (const s of t.options) {
      const value = options[s.name];
      if (value !== undefined && value !== s.default) q.set(flagOf(s), String(value));
    }
  }
  const s = q.toString().replace(/%2F/g, '/').replace(/%2C/g, ',');
  return s ? `?${s}` : '';
}
