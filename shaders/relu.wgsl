// ReLU forward:  y = max(x, 0).   Backward rules live beside it in relu_backward.wgsl.
//
// Tensors are (N, C, H, W) and may be channel views: element i (0 <= i < C*H*W) of sample n
// lives at <t>_base + n * <t>_stride + i.
//
// Bindings: 0 params (uniform), 1 x (read), 2 y (read_write).
//           relu_inplace uses only 0 and 2 (y = max(y, 0)), e.g. after a conv.
// Dispatch: sampleGrid(per_sample, N, WG) (engine/kernels/kernel.ts): i = gid.x + gid.y *
// num_workgroups.x * WG (x folds into y past 65535 groups), n = gid.z; one invocation per
// element, no workgroup memory.

struct Params {
  per_sample: u32,   // C * H * W
  x_base: u32, x_stride: u32,
  y_base: u32, y_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn relu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  y[params.y_base + n * params.y_stride + i] = max(x[params.x_base + n * params.x_stride + i], 0.0);
}

@compute @workgroup_size(WG)
fn relu_inplace(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let at = params.y_base + gid.z * params.y_stride + i;
  y[at] = max(y[at], 0.0);
}
