// Local response normalization backward (Caffe CrossChannelBackward), with s, window and pre as
// in lrn.wgsl:
//   dx(c) = dy(c) * s(c)^-beta
//           - 2 * alpha * beta / size * x(c) * sum_{c' : c in window(c')} dy(c') * y(c') / s(c')
// c lies in window(c') exactly when c' is in [c - post, c + pre], post = size - 1 - pre, clipped
// to [0, C). s(c') is recomputed from x (size loads each) rather than stored by the forward.
//
// x, y, dy, dx: (N, C, H, W); all may be channel views (t_base, t_stride).
//
// Bindings: 0 params (uniform), 1 x (read), 2 y (read), 3 dy (read), 4 dx (read_write).
// Dispatch: one invocation per element of a sample, per_sample = C * H * W of them; workgroups
//   along x fold into y past 65535; the sample n is gid.z. Each invocation does about size^2
//   channel reads at its own (h, w). No workgroup memory.

struct Params {
  per_sample: u32,   // C * H * W
  c: u32,
  hw: u32,
  size: u32,
  pre: u32,
  alpha_over_size: f32,
  beta: f32,
  k: f32,
  x_base: u32, x_stride: u32,
  y_base: u32, y_stride: u32,
  dy_base: u32, dy_stride: u32,
  dx_base: u32, dx_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// s(c) at the pixel whose channel-0 element is x[pixel].
fn scale(pixel: u32, c: i32) -> f32 {
  let lo = max(c - i32(params.pre), 0);
  let hi = min(c - i32(params.pre) + i32(params.size), i32(params.c));
  var sum = 0.0;
  for (var cc = lo; cc < hi; cc++) {
    let v = x[pixel + u32(cc) * params.hw];
    sum += v * v;
  }
  return params.k + params.alpha_over_size * sum;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let p = i % params.hw;
  let c = i32(i / params.hw);
  let x_pixel = params.x_base + n * params.x_stride + p;
  let y_pixel = params.y_base + n * params.y_stride + p;
  let dy_pixel = params.dy_base + n * params.dy_stride + p;
  let post = i32(params.size) - 1 - i32(params.pre);
  let lo = max(c - post, 0);
  let hi = min(c + i32(params.pre), i32(params.c) - 1);
  var acc = 0.0;
  for (var cc = lo; cc <= hi; cc++) {
    let at = u32(cc) * params.hw;
    acc += dy[dy_pixel + at] * y[y_pixel + at] / scale(x_pixel, cc);
  }
  let at = u32(c) * params.hw;
  let g = dy[dy_pixel + at] * pow(scale(x_pixel, c), -params.beta)
        - 2.0 * params.alpha_over_size * params.beta * x[x_pixel + at] * acc;
  dx[params.dx_base + n * params.dx_stride + i] = g;
}
