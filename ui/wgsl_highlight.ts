// A small WGSL highlighter for the kernel inspector: splits source into tokens (comments,
// attributes, keywords, types, builtins, numbers, names) and renders each as a span with a class.
// Lit escapes the text, so kernel source can never inject markup.

import { html, type TemplateResult } from 'lit';

export type WgslToken = [kind: 'comment' | 'attr' | 'keyword' | 'type' | 'builtin' | 'number' | 'fn' | 'text', text: string];

const KEYWORDS = new Set('fn let var const override struct return if else for loop while break continue switch case default discard workgroup uniform storage read read_write function private alias enable requires true false continuing'.split(' '));
const TYPES = /^(?:[iuf]32|f16|bool|vec[234](?:[iuf]|h)?|mat[234]x[234](?:f|h)?|array|atomic|ptr|texture_\w+|sampler)$/;
const BUILTINS = new Set('min max clamp select abs exp log sqrt inverseSqrt pow floor ceil round fma dot cross length normalize mix step smoothstep sin cos tanh atomicAdd atomicMax atomicLoad atomicStore workgroupBarrier storageBarrier arrayLength bitcast countOneBits firstLeadingBit sign fract'.split(' '));
const TOKEN = /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|(@\w+)|(\b(?:0x[0-9a-fA-F]+|\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)[iuf]?\b)|([A-Za-z_]\w*)/g;

/** The source as tokens, in order; concatenated they give back the source exactly. */
export function tokenizeWgsl(src: string): WgslToken[] {
  const out: WgslToken[] = [];
  let at = 0;
  for (const m of src.matchAll(TOKEN)) {
    if (m.index! > at) out.push(['text', src.slice(at, m.index)]);
    const [t, comment, attr, num, word] = m;
    if (comment) out.push(['comment', t]);
    else if (attr) out.push(['attr', t]);
    else if (num) out.push(['number', t]);
    else if (word) {
      const prev = out.length > 1 && out[out.length - 2][0] === 'keyword' && out[out.length - 2][1] === 'fn' && out[out.length - 1][1] === ' ';
      out.push([KEYWORDS.has(word) ? 'keyword' : TYPES.test(word) ? 'type' : BUILTINS.has(word) ? 'builtin' : prev ? 'fn' : 'text', t]);
    }
    at = m.index! + t.length;
  }
  if (at < src.length) out.push(['text', src.slice(at)]);
  return out;
}

/** Highlighted WGSL: spans with class `tok-<kind>` (the element's stylesheet colours them). */
export function highlightWgsl(src: string): TemplateResult[] {
  return tokenizeWgsl(src).map(([k, t]) => (k === 'text' ? html`${t}` : html`<span class="tok-${k}">${t}</span>`));
}
