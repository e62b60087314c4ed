// Sum of k equally shaped tensors stored back to back (a gradient stack), used where one
// activation feeds several layers and so receives several gradient contributions:
//
//   y[n, i] = sum_{s < k} stack[stack_base + s * slot + n * per_sample + i]      0 <= i < C*H*W
//
// The stack is dense: contribution s of sample n starts at stack_base + s * slot + n * per_sample
// (slot = N * per_sample). y may be a channel view (y_base, y_stride), e.g. a slice of a concat gradient.
//
// Bindings: 0 params (uniform), 1 stack (read), 2 y (read_write).
// Dispatch: sampleGrid(per_sample, N, WG): i = gid.x + gid.y * num_workgroups.x * WG, n = gid.z.
// One invocation per output element, summing in a fixed order (deterministic).

struct Params {
  per_sample: u32,
  k: u32,
  slot: u32,
  stack_base: u32,
  y_base: u32, y_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> stack: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  var acc = 0.0;
  for (var s = 0u; s < params.k; s++) {
    acc += stack[params.stack_base + s * params.slot + n * params.per_sample + i];
  }
  y[params.y_base + n * params.y_stride + i] = acc;
}
