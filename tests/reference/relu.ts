// Float64 reference for ReLU forward and its three backward rules.

export type ReluRule = 'vanilla' | 'guided' | 'deconvnet';

export function reluForward(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

export function reluBackward(x: ArrayLike<number>, dy: ArrayLike<number>, rule: ReluRule): Float64Array {
  return Float64Array.from(dy, (g, i) => {
    const xPos = x[i] > 0;
    const gPos = g > 0;
    if (rule === 'vanilla') return xPos ? g : 0;
    if (rule === 'guided') return xPos && gPos ? g : 0;
    return gPos ? g : 0;
  });
}
