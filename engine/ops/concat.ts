// Concatenation and split along channels. Inception and fire branches normally write straight
// into their channel slice of the output (views from `out.channels(c0, count)`), so concat copies
// only inputs that are not already that slice; split returns zero-copy channel views.

import { dispatchCopy } from '../kernels/concat';
import { shapeStr, type Tensor } from '../tensor';
import { expectPositiveInt, opError, outputFor } from './check';

/** Whether `t` is exactly the view `slot` (same buffer, offset and per-sample stride). */
function sameView(t: Tensor, slot: Tensor): boolean {
  return t.buffer === slot.buffer && t.base === slot.base && (t.n === 1 || t.batchStride === slot.batchStride);
}

/** (N, C_i, H, W) for each input -> (N, sum C_i, H, W), in input order. */
export function concat(inputs: Tensor[], out?: Tensor, label = 'concat.y'): Tensor {
  const op = 'concat';
  if (inputs.length === 0) throw opError(op, 'needs at least one input');
  const first = inputs[0];
  inputs.forEach((t, i) => {
    t.assertLive();
    if (t.n !== first.n || t.h !== first.h || t.w !== first.w) {
      throw opError(op, `inputs[${i}] has shape ${shapeStr(t.shape)}, expected (${first.n}, C, ${first.h}, ${first.w}) to match inputs[0] ${shapeStr(first.shape)}`);
    }
  });
  const channels = inputs.reduce((s, t) => s + t.c, 0);
  const y = outputFor(op, first, [first.n, channels, first.h, first.w], out, label);
  let c0 = 0;
  inputs.forEach((t, i) => {
    const slot = y.channels(c0, t.c);
    if (!sameView(t, slot)) {
      if (t.buffer === y.buffer) throw opError(op, `inputs[${i}] shares the output's buffer but is not its channel slice [${c0}, ${c0 + t.c})`);
      dispatchCopy(y.rt, t, slot);
    }
    c0 += t.c;
  });
  return y;
}

/** Zero-copy channel views of `t`, `channels[i]` channels each, in order; they must sum to C. */
export function split(t: Tensor, channels: number[]): Tensor[] {
  const op = 'split';
  t.assertLive();
  channels.forEach((c, i) => expectPositiveInt(op, `channels[${i}]`, c));
  const total = channels.reduce((s, c) => s + c, 0);
  if (total !== t.c) throw opError(op, `channel counts (${channels.join(', ')}) sum to ${total}, expected ${t.c} for ${t.label} ${shapeStr(t.shape)}`);
  let c0 = 0;
  return channels.map((c) => {
    const view = t.channels(c0, c);
    c0 += c;
    return view;
  });
}
