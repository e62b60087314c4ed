// A parser for protobuf text format, as Caffe's deploy.prototxt uses it:
//
//   name: "SqueezeNet"            scalar field: string ("..." or '...'), number, identifier
//   layer { name: "conv1" ... }   message field (an optional ':' before '{' is accepted)
//   # comment                     to the end of the line
//
// Repeated fields simply occur more than once; a message keeps its fields in order. Identifiers
// (enum values such as MAX, ACROSS_CHANNELS) stay strings; `true`/`false` become booleans.

export type PValue = string | number | boolean | PMessage;

export class PMessage {
  readonly fields: [string, PValue][] = [];

  all(key: string): PValue[] {
    return this.fields.filter(([k]) => k === key).map(([, v]) => v);
  }

  has(key: string): boolean {
    return this.fields.some(([k]) => k === key);
  }

  /** The last occurrence of a singular field (protobuf's rule), or undefined. */
  get(key: string): PValue | undefined {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i][0] === key) return this.fields[i][1];
    return undefined;
  }

  num(key: string, fallback?: number): number {
    const v = this.get(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number') throw new Error(`prototxt: field '${key}' should be a number, got ${describe(v)}`);
    return v;
  }

  nums(key: string): number[] {
    return this.all(key).map((v) => {
      if (typeof v !== 'number') throw new Error(`prototxt: field '${key}' should be a number, got ${describe(v)}`);
      return v;
    });
  }

  str(key: string, fallback?: string): string {
    const v = this.get(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string') throw new Error(`prototxt: field '${key}' should be a string, got ${describe(v)}`);
    return v;
  }

  strs(key: string): string[] {
    return this.all(key).map((v) => {
      if (typeof v !== 'string') throw new Error(`prototxt: field '${key}' should be a string, got ${describe(v)}`);
      return v;
    });
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw new Error(`prototxt: field '${key}' should be true or false, got ${describe(v)}`);
    return v;
  }

  /** A sub-message; an empty one when absent, so defaults apply. */
  msg(key: string): PMessage {
    const v = this.get(key);
    if (v === undefined) return new PMessage();
    if (!(v instanceof PMessage)) throw new Error(`prototxt: field '${key}' should be a message, got ${describe(v)}`);
    return v;
  }

  msgs(key: string): PMessage[] {
    return this.all(key).map((v) => {
      if (!(v instanceof PMessage)) throw new Error(`prototxt: field '${key}' should be a message, got ${describe(v)}`);
      return v;
    });
  }
}

function describe(v: PValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v instanceof PMessage) return 'a message';
  return JSON.stringify(v);
}

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; value?: string | number; line: number; col: number };

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0' };

function parseNumber(text: string): number {
  const t = text.toLowerCase();
  if (t.includes('inf')) return t.startsWith('-') ? -Infinity : Infinity;
  if (t.includes('nan')) return NaN;
  return Number(t.replace(/f$/, '')); // C-style float suffix: 0.5f
}

function tokenize(src: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const err = (msg: string, col = i - lineStart + 1) => new Error(`prototxt ${file}:${line}:${col}: ${msg}`);
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') {
      line++;
      lineStart = ++i;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if ('{}:;,<>[]'.includes(c)) {
      out.push({ kind: 'punct', text: c, line, col: i - lineStart + 1 });
      i++;
    } else if (c === '"' || c === "'") {
      const col = i - lineStart + 1;
      let s = '';
      i++;
      while (src[i] !== c) {
        if (i >= src.length || src[i] === '\n') throw err('unterminated string', col);
        if (src[i] === '\\') {
          const e = src[i + 1];
          if (!(e in ESCAPES)) throw err(`unknown escape \\${e}`);
          s += ESCAPES[e];
          i += 2;
        } else s += src[i++];
      }
      i++;
      out.push({ kind: 'string', text: s, value: s, line, col });
    } else {
      const m = /^[-+.\d]/.test(c) ? /^[-+]?(?:inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)[fF]?/i.exec(src.slice(i, i + 64)) : null;
      const col = i - lineStart + 1;
      if (m) {
        out.push({ kind: 'number', text: m[0], value: parseNumber(m[0]), line, col });
        i += m[0].length;
      } else {
        const id = /^[A-Za-z_][\w.]*/.exec(src.slice(i));
        if (!id) throw err(`unexpected character '${c}'`);
        out.push({ kind: 'ident', text: id[0], line, col });
        i += id[0].length;
      }
    }
  }
  return out;
}

export function parsePrototxt(src: string, file = '<prototxt>'): PMessage {
  const toks = tokenize(src, file);
  let p = 0;
  const err = (t: Token | undefined, msg: string) =>
    new Error(t ? `prototxt ${file}:${t.line}:${t.col}: ${msg} (at '${t.text}')` : `prototxt ${file}: ${msg} (at end of file)`);

  function parseMessage(close: string | null): PMessage {
    const msg = new PMessage();
    for (;;) {
      const t = toks[p];
      if (!t) {
        if (close) throw err(t, `missing '${close}'`);
        return msg;
      }
      if (t.kind === 'punct' && t.text === close) {
        p++;
        return msg;
      }
      if (t.kind === 'punct' && (t.text === ';' || t.text === ',')) {
        p++;
        continue;
      }
      if (t.kind !== 'ident') throw err(t, 'expected a field name');
      p++;
      let next = toks[p];
      let colon = false;
      if (next?.kind === 'punct' && next.text === ':') {
        colon = true;
        next = toks[++p];
      }
      if (next?.kind === 'punct' && (next.text === '{' || next.text === '<')) {
        p++;
        msg.fields.push([t.text, parseMessage(next.text === '{' ? '}' : '>')]);
      } else if (!colon) {
        throw err(next, `expected ':' or '{' after field '${t.text}'`);
      } else if (next?.kind === 'punct' && next.text === '[') {
        p++; // list shorthand: key: [a, b]
        while (toks[p] && !(toks[p].kind === 'punct' && toks[p].text === ']')) {
          if (toks[p].kind === 'punct' && toks[p].text === ',') p++;
          else msg.fields.push([t.text, scalar(toks[p++])]);
        }
        if (!toks[p]) throw err(undefined, "missing ']'");
        p++;
      } else {
        if (!next) throw err(next, `missing value for field '${t.text}'`);
        p++;
        msg.fields.push([t.text, scalar(next)]);
        // Adjacent string literals concatenate, as in C.
        while (next.kind === 'string' && toks[p]?.kind === 'string') {
          const last = msg.fields[msg.fields.length - 1];
          last[1] = (last[1] as string) + (toks[p++].value as string);
        }
      }
    }
  }

  function scalar(t: Token): PValue {
    if (t.kind === 'string' || t.kind === 'number') return t.value!;
    if (t.kind === 'ident') {
      if (t.text === 'true' || t.text === 'True') return true;
      if (t.text === 'false' || t.text === 'False') return false;
      if (/^(inf(inity)?|nan)$/i.test(t.text)) return parseNumber(t.text);
      return t.text;
    }
    throw err(t, 'expected a value');
  }

  return parseMessage(null);
}
