import { describe, expect, it } from 'vitest';
import { tv, tvBackward } from '../engine/ops/tv';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import { hostedView, type Shape } from './helpers/views';
import * as ref from './reference/tv';

const CASES: [Shape, number, number][] = [
  [[1, 1, 1, 1], 2, 0],
  [[2, 3, 7, 5], 2, 0],
  [[1, 3, 13, 11], 1, 1e-3],
  [[2, 2, 9, 17], 1.5, 1e-4],
  [[1, 3, 40, 33], 2, 0],
];

describe('tv and tvBackward', () => {
  it.each(CASES)('%j beta %d: value and gradient match the float64 reference', async (shape, beta, eps) => {
    const rt = await gpu();
    const xd = randomArray(size(shape), 1);
    const x = upload(rt, xd, shape);
    expectClose(await track(tv(x, { beta, eps })).read(), ref.tv(shape, xd, beta, eps), FORWARD_TOL, [shape[0]], 'tv');
    const weight = 0.75;
    const g = track(tvBackward(x, { beta, eps, weight }));
    const want = ref.tvBackward(shape, xd, beta, eps, Array(shape[0]).fill(weight));
    expectClose(await g.read(), want, GRAD_TOL, shape, 'tv gradient');
  });

  it.each(CASES.slice(1, 4))('%j beta %d: the reference gradient matches finite differences', (shape, beta, eps) => {
    const x = toF64(randomArray(size(shape), 2));
    const dv = randomArray(shape[0], 3);
    const [idx, num] = numericGrad(lossFn((v) => ref.tv(shape, v, beta, eps), dv), x);
    expectClose(pick(ref.tvBackward(shape, x, beta, eps, dv), idx), num, FD_TOL, undefined, 'tv fd');
  });

  it('accumulates into a gradient view (out += weight * dTV/dx), reading x from a view', async () => {
    const rt = await gpu();
    const shape: Shape = [2, 3, 6, 5];
    const x = hostedView(rt, shape, 4);
    const out = hostedView(rt, shape, 5, undefined, 'grad');
    const before = await out.view.read();
    tvBackward(x.view, { weight: -2, accumulate: true }, out.view);
    const tvg = ref.tvBackward(shape, await x.view.read(), 2, 0, [-2, -2]);
    expectClose(await out.view.read(), before.map((v, i) => v + tvg[i]), GRAD_TOL, shape, 'accumulated');
    expectClose(await track(tv(x.view)).read(), ref.tv(shape, await x.view.read(), 2, 0), FORWARD_TOL, [2], 'tv of a view');
  });

  it('refuses bad parameters with clear errors', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(24, 6), [1, 2, 3, 4], 'x');
    expect(() => tv(x, { beta: 1, eps: 0 })).toThrow(/tv: beta 1 < 2 needs eps > 0/);
    expect(() => tv(x, { beta: -1 })).toThrow(/beta must be a positive number, got -1/);
    expect(() => tvBackward(x, { accumulate: true })).toThrow(/accumulate needs out/);
    expect(() => tvBackward(x, {}, upload(rt, randomArray(24, 6), [1, 2, 4, 3], 'g'))).toThrow(/tvBackward: out has shape \(1, 2, 4, 3\), expected \(1, 2, 3, 4\)/);
    expect(() => tvBackward(x, {}, x)).toThrow(/shares a buffer/);
  });
});
