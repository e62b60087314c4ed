// Elementwise ops on (N, C, H, W) tensors (any may be a channel view): axpy, scale, fill,
// addScaled (in place), per-channel clamp and mul. Coefficients are numbers or GPU scalars
// ({ tensor, index, perSample, scale, reciprocal, eps }), so a normalized step
// x += lr * g / mean|g| is a reduction plus one addScaled, with nothing read back.

import { dispatchBinary, dispatchUnary, type GpuScalar, type Scalar, type Vec4 } from '../kernels/elementwise';
import { shapeStr, type Tensor } from '../tensor';
import { expectNoPartialAlias, expectSeparate, sameView } from './alias';
import { expectNonNegInt, expectShape, opError, outputFor } from './check';

export type { GpuScalar, Scalar };

/** A number, or a GPU scalar inside its tensor; a GPU scalar must not live in `out`'s buffer. */
function checkScalar(op: string, name: string, s: Scalar, n: number, out?: Tensor): void {
  if (typeof s === 'number') {
    if (!Number.isFinite(s)) throw opError(op, `${name} must be a finite number, got ${s}`);
    return;
  }
  const t = s.tensor;
  t.assertLive();
  expectSeparate(op, out, [t]);
  const index = s.index ?? 0;
  expectNonNegInt(op, `${name}.index`, index);
  const limit = s.perSample ? t.sampleSize : t.size;
  if (index >= limit) throw opError(op, `${name}.index ${index} is outside ${name}.tensor ${shapeStr(t.shape)} (${limit} values${s.perSample ? ' per sample' : ''})`);
  if (s.perSample && t.n !== n) throw opError(op, `${name}.tensor ${shapeStr(t.shape)} has ${t.n} samples, perSample needs ${n}`);
  for (const k of ['scale', 'eps'] as const) {
    if (s[k] !== undefined && !Number.isFinite(s[k])) throw opError(op, `${name}.${k} must be finite, got ${s[k]}`);
  }
}

/** out = a * x + b * y; x, y, out (N, C, H, W). out may be x or y (in place). */
export function axpy(a: Scalar, x: Tensor, b: Scalar, y: Tensor, out?: Tensor): Tensor {
  expectShape('axpy', 'y', y, x.shape);
  checkScalar('axpy', 'a', a, x.n, out);
  checkScalar('axpy', 'b', b, x.n, out);
  const o = outputFor('axpy', x, x.shape, out, 'axpy.out');
  expectNoPartialAlias('axpy', o, { x, y });
  if (sameView(o, y)) dispatchBinary(x.rt, 'axpy', x, null, o, a, b);
  else if (sameView(o, x)) dispatchBinary(x.rt, 'axpy', y, null, o, b, a);
  else dispatchBinary(x.rt, 'axpy', x, y, o, a, b);
  return o;
}

/** y += a * x, in place; returns y. */
export function addScaled(y: Tensor, a: Scalar, x: Tensor): Tensor {
  return axpy(a, x, 1, y, y);
}

/** out = a * x; out may be x (in place). */
export function scale(x: Tensor, a: Scalar, out?: Tensor): Tensor {
  checkScalar('scale', 'a', a, x.n, out);
  const o = outputFor('scale', x, x.shape, out, 'scale.out');
  expectNoPartialAlias('scale', o, { x });
  dispatchUnary(x.rt, 'scale', sameView(o, x) ? null : x, o, a);
  return o;
}

/** Every element of t becomes v (a number, or a GPU scalar, per sample with perSample); returns t. */
export function fill(t: Tensor, v: Scalar): Tensor {
  t.assertLive();
  checkScalar('fill', 'v', v, t.n, t);
  dispatchUnary(t.rt, 'fill', null, t, v);
  return t;
}

/** out = x * y elementwise (e.g. input x gradient); out may be x or y (in place). */
export function mul(x: Tensor, y: Tensor, out?: Tensor): Tensor {
  expectShape('mul', 'y', y, x.shape);
  const o = outputFor('mul', x, x.shape, out, 'mul.out');
  expectNoPartialAlias('mul', o, { x, y });
  if (sameView(o, y)) dispatchBinary(x.rt, 'mul', x, null, o, 1, 0);
  else if (sameView(o, x)) dispatchBinary(x.rt, 'mul', y, null, o, 1, 0);
  else dispatchBinary(x.rt, 'mul', x, y, o, 1, 0);
  return o;
}

function bounds(name: string, v: number | readonly number[], c: number): Vec4 {
  const arr = typeof v === 'number' ? Array.from({ length: c }, () => v) : [...v];
  if (arr.length !== c || c > 4) {
    throw opError('clamp', `${name} must be a number or one value per channel (${c}${c > 4 ? '; per-channel bounds need C <= 4' : ''}), got ${typeof v === 'number' ? v : `[${v.join(', ')}]`}`);
  }
  if (arr.some((b) => Number.isNaN(b))) throw opError('clamp', `${name} has a NaN: [${arr.join(', ')}]`);
  return [arr[0], arr[1] ?? 0, arr[2] ?? 0, arr[3] ?? 0];
}

/** out = min(max(x, lo[c]), hi[c]) (pixel clipping to the valid input range); lo/hi scalars or per channel. */
export function clamp(x: Tensor, lo: number | readonly number[], hi: number | readonly number[], out?: Tensor): Tensor {
  const c = typeof lo === 'number' && typeof hi === 'number' ? Math.min(x.c, 4) : x.c;
  const l = bounds('lo', lo, c);
  const h = bounds('hi', hi, c);
  const bad = l.findIndex((v, i) => i < c && v > h[i]);
  if (bad >= 0) throw opError('clamp', `lo ${l[bad]} > hi ${h[bad]} for channel ${bad}`);
  const o = outputFor('clamp', x, x.shape, out, 'clamp.out');
  expectNoPartialAlias('clamp', o, { x });
  dispatchUnary(x.rt, 'clamp', sameView(o, x) ? null : x, o, 0, l, h);
  return o;
}
