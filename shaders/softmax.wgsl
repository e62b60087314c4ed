// Softmax and log-softmax over channels, independently for each (n, h, w) (classification uses
// (N, C, 1, 1)). Numerically stable: m = max_c x(c) is subtracted before exponentiating.
//   softmax     (use_log = 0)  y(c) = exp(x(c) - m) / sum_c' exp(x(c') - m)
//   log-softmax (use_log = 1)  y(c) = x(c) - m - log(sum_c' exp(x(c') - m))
//
// x, y: (N, C, H, W); both may be channel views: element i of sample n of tensor t lives at
// t_base + n * t_stride + i, and channel c of pixel p is element c * H * W + p.
//
// Bindings: 0 params (uniform), 1 x (read), 2 y (read_write).
// Dispatch: one invocation per pixel of a sample, hw = H * W of them; workgroups along x fold
//   into y past 65535 (p = gid.x + gid.y * nwg.x * WG); the sample n is gid.z. Each invocation
//   makes three passes over its C channels (max, sum, write); neighbouring invocations are
//   neighbouring pixels, so each channel read is contiguous across the workgroup.

struct Params {
  hw: u32,   // H * W
  c: u32,
  use_log: u32,
  x_base: u32, x_stride: u32,
  y_base: u32, y_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * WG;
  if (p >= params.hw) { return; }
  let n = gid.z;
  let xp = params.x_base + n * params.x_stride + p;
  let yp = params.y_base + n * params.y_stride + p;
  var m = x[xp];
  for (var c = 1u; c < params.c; c++) { m = max(m, x[xp + c * params.hw]); }
  var sum = 0.0;
  for (var c = 0u; c < params.c; c++) { sum += exp(x[xp + c * params.hw] - m); }
  if (params.use_log != 0u) {
    let shift = m + log(sum);
    for (var c = 0u; c < params.c; c++) { y[yp + c * params.hw] = x[xp + c * params.hw] - shift; }
  } else {
    let inv = 1.0 / sum;
    for (var c = 0u; c < params.c; c++) { y[yp + c * params.hw] = exp(x[xp + c * params.hw] - m) * inv; }
  }
}
