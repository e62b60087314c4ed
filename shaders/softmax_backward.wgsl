// Softmax and log-softmax backward over channels, for each (n, h, w), from the forward output y:
//   softmax     (use_log = 0)  dx(c) = y(c) * (dy(c) - sum_c' dy(c') * y(c'))
//   log-softmax (use_log = 1)  dx(c) = dy(c) - exp(y(c)) * sum_c' dy(c')
//
// y, dy, dx: (N, C, H, W); all may be channel views (t_base, t_stride); channel c of pixel p is
// element c * H * W + p of a sample.
//
// Bindings: 0 params (uniform), 1 y (read), 2 dy (read), 3 dx (read_write).
// Dispatch: one invocation per pixel of a sample, hw = H * W of them; workgroups along x fold
//   into y past 65535; the sample n is gid.z. Two passes over C (the dot product, then the write).

struct Params {
  hw: u32,
  c: u32,
  use_log: u32,
  y_base: u32, y_stride: u32,
  dy_base: u32, dy_stride: u32,
  dx_base: u32, dx_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * WG;
  if (p >= params.hw) { return; }
  let n = gid.z;
  let yp = params.y_base + n * params.y_stride + p;
  let gp = params.dy_base + n * params.dy_stride + p;
  let xp = params.dx_base + n * params.dx_stride + p;
  let log_mode = params.use_log != 0u;
  var dot = 0.0;
  for (var c = 0u; c < params.c; c++) {
    let at = c * params.hw;
    dot += select(dy[gp + at] * y[yp + at], dy[gp + at], log_mode);
  }
  for (var c = 0u; c < params.c; c++) {
    let at = c * params.hw;
    let g = dy[gp + at];
    dx[xp + at] = select(y[yp + at] * (g - dot), g - exp(y[yp + at]) * dot, log_mode);
  }
}
