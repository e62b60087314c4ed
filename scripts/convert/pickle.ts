// A small Python pickle virtual machine: enough of protocols 2-5 (and the few protocol-0 opcodes
// that old files mix in) to read what torch.save writes. Python values map to:
//   None -> null, bool -> boolean, int -> number (bigint past 2^53), float -> number,
//   str -> string, bytes -> Uint8Array, list/tuple -> array, dict -> Map, set -> Set.
// Classes and functions named by GLOBAL / STACK_GLOBAL are resolved by the caller's `findClass`;
// REDUCE / NEWOBJ call the resolved value when it is a JS function, and otherwise build a
// `PyObject` that records the class and arguments. Persistent ids go to `persistentLoad`.

export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of a class the caller did not resolve: kept for error messages and inspection. */
export class PyObject {
  state: unknown = undefined;
  constructor(readonly cls: PyGlobal, readonly args: unknown[]) {}
}

export interface PickleHooks {
  /** What GLOBAL module.name means: a JS function (called by REDUCE) or any other value. */
  findClass?(module: string, name: string): unknown;
  persistentLoad?(pid: unknown): unknown;
}

const MARK = Symbol('mark');

function toNumber(b: bigint): number | bigint {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** Little-endian two's complement (LONG1 / LONG4). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return toNumber(v);
}

/** Runs one pickle starting at `offset`; returns its value and the offset just past STOP. */
export function unpickle(bytes: Uint8Array, offset = 0, hooks: PickleHooks = {}, what = 'pickle'): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder();
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = offset;
  let op = 0;
  let opAt = 0;

  const fail = (msg: string) => new Error(`${what}: ${msg} (opcode 0x${op.toString(16)} at byte ${opAt})`);
  const need = (n: number) => {
    if (pos + n > bytes.length) throw fail(`truncated: needs ${n} more bytes, file has ${bytes.length - pos}`);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = () => {
    const lo = u32();
    const hi = u32();
    return lo + hi * 2 ** 32;
  };
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail('unterminated line');
    const s = dec.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) throw fail('stack underflow');
    const v = stack.pop();
    if (v === MARK) throw fail('unexpected MARK on the stack');
    return v;
  };
  const top = () => {
    if (stack.length === 0) throw fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw fail('no MARK on the stack');
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const global = (module: string, name: string) => (hooks.findClass ? hooks.findClass(module, name) : new PyGlobal(module, name));
  const call = (fn: unknown, args: unknown[]) => {
    if (typeof fn === 'function') return fn(...args);
    if (fn instanceof PyGlobal) return new PyObject(fn, args);
    throw fail(`cannot call ${String(fn)}`);
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) throw fail(`memo key ${i} is not set`);
    return memo.get(i);
  };
  const setItems = (target: unknown, kv: unknown[]) => {
    if (!(target instanceof Map)) throw fail('SETITEM(S) on a non-dict');
    for (let i = 0; i + 1 < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  };
  const append = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) throw fail('APPEND(S) on a non-list');
    for (const x of items) target.push(x);
  };

  for (;;) {
    opAt = pos;
    op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length prefix only
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) throw fail('stack underflow');
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x49: { // INT (text; I01/I00 are booleans)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : toNumber(BigInt(s)));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(toNumber(BigInt(line().replace(/L$/, ''))));
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(decodeLong(take(u32())));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(dec.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(dec.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(dec.decode(take(u64())));
        break;
      case 0x54: // BINSTRING (py2 str)
        stack.push(dec.decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(dec.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(new Uint8Array(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(new Uint8Array(take(u8())));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(new Uint8Array(take(u64())));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) throw fail('ADDITEMS on a non-set');
        for (const x of items) s.add(x);
        break;
      }
      case 0x61: { // APPEND
        const x = pop();
        append(top(), [x]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(Number(line()), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x67: // GET (text)
        stack.push(memoGet(Number(line())));
        break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL needs two strings');
        stack.push(global(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!Array.isArray(args)) throw fail('REDUCE arguments are not a tuple');
        stack.push(call(fn, args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args as unknown[]));
        break;
      }
      case 0x92: { // NEWOBJ_EX (kwargs dropped: torch does not use them for what we read)
        pop();
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args as unknown[]));
        break;
      }
      case 0x62: { // BUILD: obj.__setstate__(state)
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        // Maps (OrderedDict with attributes such as _metadata) and rebuilt tensors: state ignored.
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) throw fail('persistent id without a persistentLoad hook');
        stack.push(hooks.persistentLoad(pid));
        break;
      }
      case 0x50: { // PERSID (text)
        const pid = line();
        if (!hooks.persistentLoad) throw fail('persistent id without a persistentLoad hook');
        stack.push(hooks.persistentLoad(pid));
        break;
      }
      default:
        throw fail('unsupported pickle opcode');
    }
  }
}
