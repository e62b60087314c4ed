import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PMessage, parsePrototxt } from '../scripts/convert/prototxt';

const SHARED = resolve(__dirname, '../../shared');

describe('prototxt parser', () => {
  it('parses scalars, enums, booleans, repeated fields and nested messages in order', () => {
    const m = parsePrototxt(`
      name: "Net" # a comment
      input_dim: 10 input_dim: 3
      layer {
        name: 'conv/1'  type: "Convolution"
        bottom: "data" top: "conv/1"
        convolution_param: { num_output: 96 kernel_size: 11 stride: 4 pad: -2 bias_term: false }
        lrn_param < alpha: 1e-4 beta: .75 k: 2.0f norm_region: ACROSS_CHANNELS >
      }
      layer { name: "x\\"y\\n" top: "a" top: "b"; shape: [1, 2.5, -3e2] }
    `);
    expect(m.str('name')).toBe('Net');
    expect(m.nums('input_dim')).toEqual([10, 3]);
    const [l1, l2] = m.msgs('layer');
    expect(l1.str('name')).toBe('conv/1');
    const cp = l1.msg('convolution_param');
    expect([cp.num('num_output'), cp.num('kernel_size'), cp.num('stride'), cp.num('pad'), cp.bool('bias_term', true)]).toEqual([96, 11, 4, -2, false]);
    const lrn = l1.msg('lrn_param');
    expect([lrn.num('alpha'), lrn.num('beta'), lrn.num('k'), lrn.get('norm_region')]).toEqual([1e-4, 0.75, 2, 'ACROSS_CHANNELS']);
    expect(l2.str('name')).toBe('x"y\n');
    expect(l2.strs('top')).toEqual(['a', 'b']);
    expect(l2.nums('shape')).toEqual([1, 2.5, -300]);
    expect(l1.fields.map(([k]) => k)).toEqual(['name', 'type', 'bottom', 'top', 'convolution_param', 'lrn_param']);
  });

  it('gives defaults for absent fields and errors for wrong kinds', () => {
    const m = parsePrototxt('a: 1 b: "s" c { }');
    expect(m.num('z', 7)).toBe(7);
    expect(m.msg('z')).toBeInstanceOf(PMessage);
    expect(m.bool('z', true)).toBe(true);
    expect(() => m.num('b')).toThrow(/field 'b' should be a number, got "s"/);
    expect(() => m.str('a')).toThrow(/field 'a' should be a string, got 1/);
    expect(() => m.num('missing')).toThrow(/field 'missing' should be a number, got nothing/);
    expect(() => m.msg('a')).toThrow(/field 'a' should be a message/);
  });

  it('the last occurrence wins for a singular field', () => {
    expect(parsePrototxt('k: 1 k: 2').num('k')).toBe(2);
  });

  it.each([
    ['layer { name: "a"', /f\.prototxt: missing '}' \(at end of file\)/],
    ['name: "abc', /f\.prototxt:1:7: unterminated string/],
    ['a: 1\n  b 2', /f\.prototxt:2:5: expected ':' or '\{' after field 'b'/],
    ['a: 1\n  } ', /f\.prototxt:2:3: expected a field name/],
    ['a: @', /f\.prototxt:1:4: unexpected character '@'/],
    ['a:', /missing value for field 'a'/],
  ])('reports %j with file, line and column', (src, re) => {
    expect(() => parsePrototxt(src, 'f.prototxt')).toThrow(re);
  });

  it.each([
    ['squeezenet1_1', 67],
    ['googlenet', 143],
  ])('parses the real %s deploy.prototxt (%i layers)', (model, layers) => {
    const text = readFileSync(`${SHARED}/models/${model}/deploy.prototxt`, 'utf8');
    const net = parsePrototxt(text, `${model}/deploy.prototxt`);
    expect(net.msgs('layer').length).toBe(layers);
    expect(net.msgs('layer').length).toBe(text.match(/^layer \{/gm)!.length);
    expect(net.msgs('layer')[0].msg('input_param').msg('shape').nums('dim')).toEqual([10, 3, model === 'googlenet' ? 224 : 227, model === 'googlenet' ? 224 : 227]);
  });
});
