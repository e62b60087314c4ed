// Local response normalization across channels (Caffe LRN, norm_region ACROSS_CHANNELS):
//   s(c) = k + alpha / size * sum_{c' in window(c)} x(c')^2
//   y(c) = x(c) * s(c)^-beta
//   window(c) = [c - pre, c - pre + size) clipped to [0, C), pre = floor((size - 1) / 2)
// Caffe pads the channel axis with zeros, which is the same as clipping the window.
//
// x, y: (N, C, H, W); both may be channel views: element i of sample n of tensor t lives at
// t_base + n * t_stride + i.
//
// Bindings: 0 params (uniform), 1 x (read), 2 y (read_write).
// Dispatch: one invocation per element of a sample, per_sample = C * H * W of them; workgroups
//   along x fold into y past 65535 (i = gid.x + gid.y * nwg.x * WG); the sample n is gid.z.
//   Each invocation reads its `size` channel neighbours at the same (h, w); neighbouring
//   invocations are neighbouring pixels, so those reads are contiguous. No workgroup memory.

struct Params {
  per_sample: u32,   // C * H * W
  c: u32,
  hw: u32,           // H * W
  size: u32,
  pre: u32,
  alpha_over_size: f32,
  beta: f32,
  k: f32,
  x_base: u32, x_stride: u32,
  y_base: u32, y_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let c = i32(i / params.hw);
  let sample = params.x_base + n * params.x_stride + i % params.hw;
  let lo = max(c - i32(params.pre), 0);
  let hi = min(c - i32(params.pre) + i32(params.size), i32(params.c));
  var sum = 0.0;
  for (var cc = lo; cc < hi; cc++) {
    let v = x[sample + u32(cc) * params.hw];
    sum += v * v;
  }
  let s = params.k + params.alpha_over_size * sum;
  y[params.y_base + n * params.y_stride + i] = x[sample + u32(c) * params.hw] * pow(s, -params.beta);
}
