import { describe, expect, it } from 'vitest';
import { affine, affineBackward, affineMatrices, affineMatrix, roll, type Affine, type PadMode } from '../engine/ops/transform';
import { EXACT, expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import { hostedView, type Shape } from './helpers/views';
import * as ref from './reference/transform';

interface Case { name: string; shape: Shape; out: [number, number]; mats: Affine[]; pad: PadMode; padValue?: number }

const CASES: Case[] = [
  { name: 'Lucid robustness (scale 1.07, rotate 9 degrees, shift), reflect', shape: [1, 3, 13, 11], out: [13, 11], mats: [affineMatrix({ scale: 1.07, rotate: 0.157, translate: [1.5, -2.25] }, 13, 11)], pad: 'reflect' },
  { name: 'zoom out 0.4 (taps several reflections away), reflect', shape: [1, 2, 8, 9], out: [8, 9], mats: [affineMatrix({ scale: 0.4, rotate: -0.3 }, 8, 9)], pad: 'reflect' },
  { name: 'constant pad 0.5, rotate 30 degrees', shape: [1, 3, 10, 10], out: [10, 10], mats: [affineMatrix({ rotate: Math.PI / 6, scale: 0.9 }, 10, 10)], pad: 'constant', padValue: 0.5 },
  { name: 'two samples, different matrices, resize 12x9 -> 7x10', shape: [2, 3, 12, 9], out: [7, 10], mats: [affineMatrix({ scale: 0.8 }, 12, 9, 7, 10), affineMatrix({ rotate: 0.1, translate: [0.3, 0.7] }, 12, 9, 7, 10)], pad: 'reflect' },
  { name: 'one-pixel-wide image, reflect', shape: [1, 1, 6, 1], out: [6, 3], mats: [affineMatrix({ scale: 1.3, translate: [0, 0.4] }, 6, 1, 6, 3)], pad: 'reflect' },
  { name: 'integer translate, constant 0', shape: [1, 2, 5, 6], out: [5, 6], mats: [affineMatrix({ translate: [2, -1] }, 5, 6)], pad: 'constant' },
];

describe('affineMatrix', () => {
  it('is the identity by default and turns content clockwise on screen for a positive angle', () => {
    expectClose(affineMatrix({}, 5, 7), [1, 0, 0, 0, 1, 0], { atol: 1e-12, rtol: 0 }, undefined, 'identity');
    const m = affineMatrix({ rotate: Math.PI / 2 }, 5, 5);
    // The output pixel right of the centre samples the input pixel above it.
    expectClose([m[0] * 3 + m[1] * 2 + m[2], m[3] * 3 + m[4] * 2 + m[5]], [2, 1], { atol: 1e-6, rtol: 0 }, undefined, 'rotation');
    const t = affineMatrix({ translate: [2, 1] }, 5, 5);
    expectClose([t[2], t[5]], [-2, -1], { atol: 1e-6, rtol: 0 }, undefined, 'translation');
  });
});

describe('affine and affineBackward', () => {
  it.each(CASES)('$name', async ({ shape, out: [oh, ow], mats, pad, padValue = 0 }) => {
    const rt = await gpu();
    const xd = randomArray(size(shape), 1);
    const m = track(affineMatrices(rt, mats));
    const y = track(affine(upload(rt, xd, shape), m, { pad, padValue, height: oh, width: ow }));
    const mats32 = mats.map((a) => Array.from(Float32Array.from(a)));
    expectClose(await y.read(), ref.affine(shape, xd, mats32, oh, ow, pad, padValue), FORWARD_TOL, [shape[0], shape[1], oh, ow], 'affine');
    const dyShape: Shape = [shape[0], shape[1], oh, ow];
    const dyd = randomArray(size(dyShape), 2);
    const dx = track(affineBackward(upload(rt, dyd, dyShape, 'dy'), m, { pad, height: shape[2], width: shape[3] }));
    const want = ref.affineBackward(shape, dyd, mats32, oh, ow, pad);
    expectClose(await dx.read(), want, GRAD_TOL, shape, 'affine backward');
    const [idx, num] = numericGrad(lossFn((v) => ref.affine(shape, v, mats32, oh, ow, pad, padValue), dyd), toF64(xd));
    expectClose(pick(want, idx), num, FD_TOL, undefined, 'affine fd');
  });

  it('the identity matrix copies exactly; a view in, a view out', async () => {
    const rt = await gpu();
    const shape: Shape = [2, 3, 5, 4];
    const x = hostedView(rt, shape, 3);
    const y = hostedView(rt, shape, 4, undefined, 'y');
    const m = track(affineMatrices(rt, [affineMatrix({}, 5, 4), affineMatrix({}, 5, 4)]));
    affine(x.view, m, {}, y.view);
    expectClose(await y.view.read(), await x.view.read(), EXACT, shape, 'identity');
  });

  it('refuses bad inputs with clear errors', async () => {
    const rt = await gpu();
    const x = upload(rt, randomArray(48, 5), [1, 3, 4, 4], 'x');
    const m = track(affineMatrices(rt, [affineMatrix({}, 4, 4)]));
    expect(() => affineMatrices(rt, [[1, 2, 0, 2, 4, 0]])).toThrow(/affineMatrices: matrix 0 \[1, 2, 0, 2, 4, 0\] is singular/);
    expect(() => affineMatrices(rt, [[1, 0, 0]])).toThrow(/matrix 0 must be 6 finite numbers/);
    expect(() => affine(x, m, { pad: 'wrap' as PadMode })).toThrow(/unknown pad mode 'wrap' \(constant, reflect\)/);
    expect(() => affine(upload(rt, randomArray(96, 5), [2, 3, 4, 4]), m)).toThrow(/affine: matrices has shape \(1, 1, 1, 6\), expected \(2, 1, 1, 6\)/);
    expect(() => affineMatrix({ scale: 0 }, 4, 4)).toThrow(/scale must be a positive number, got 0/);
    expect(() => roll(x, 0.5, 1)).toThrow(/roll: shifts must be integers/);
    expect(() => roll(x, 1, 1, x)).toThrow(/shares a buffer/);
  });
});

describe('roll (integer jitter)', () => {
  it.each([
    [[1, 3, 7, 5], 2, -3],
    [[2, 2, 4, 9], -5, 11],
    [[1, 1, 1, 1], 3, 3],
  ] as const)('%j by (%i, %i): forward matches the reference, the backward roll is its adjoint', async (shape, sy, sx) => {
    const rt = await gpu();
    const s = shape as unknown as Shape;
    const xd = randomArray(size(s), 6);
    const y = await track(roll(upload(rt, xd, s), sy, sx)).read();
    expectClose(y, ref.roll(s, xd, sy, sx), EXACT, s, 'roll');
    const gd = randomArray(size(s), 7);
    const dx = await track(roll(upload(rt, gd, s, 'g'), -sy, -sx)).read();
    const [idx, num] = numericGrad(lossFn((v) => ref.roll(s, v, sy, sx), gd), toF64(xd));
    expectClose(pick(dx, idx), num, FD_TOL, undefined, 'roll backward vs fd');
  });
});
