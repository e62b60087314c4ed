// Float64 reference for the sum kernel (shaders/sum.wgsl, engine/ops/sum.ts): k equally shaped
// tensors stored back to back, `slot` = N*C*H*W elements each, summed in a fixed order:
//
//   y[j] = sum_{s < k} stack[s * slot + j]      0 <= j < slot

export function sumStack(stack: ArrayLike<number>, k: number): Float64Array {
  if (!Number.isInteger(k) || k < 1 || stack.length % k) throw new Error(`sumStack reference: ${stack.length} elements do not split into k = ${k} slots`);
  const slot = stack.length / k;
  const y = new Float64Array(slot);
  for (let s = 0; s < k; s++) for (let j = 0; j < slot; j++) y[j] += stack[s * slot + j];
  return y;
}
