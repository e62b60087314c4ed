// ReLU backward, three rules chosen by params.mode:
//   0 vanilla     dx = dy * [x > 0]
//   1 guided      dx = dy * [x > 0] * [dy > 0]      (Springenberg et al., guided backprop)
//   2 deconvnet   dx = dy * [dy > 0]                (Zeiler & Fergus)
// x may be the forward input or output: [x > 0] is the same mask for both.
//
// Tensors are (N, C, H, W) channel views as in relu.wgsl.
// Bindings: 0 params (uniform), 1 x (read), 2 dy (read), 3 dx (read_write).
// Dispatch: sampleGrid(per_sample, N, WG): i = gid.x + gid.y * num_workgroups.x * WG, n = gid.z;
// one invocation per element.

struct Params {
  per_sample: u32,
  mode: u32,
  x_base: u32, x_stride: u32,
  dy_base: u32, dy_stride: u32,
  dx_base: u32, dx_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let g = dy[params.dy_base + n * params.dy_stride + i];
  var keep = true;
  if (params.mode != 2u) { keep = x[params.x_base + n * params.x_stride + i] > 0.0; }
  if (params.mode != 0u) { keep = keep && g > 0.0; }
  dx[params.dx_base + n * params.dx_stride + i] = select(0.0, g, keep);
}
