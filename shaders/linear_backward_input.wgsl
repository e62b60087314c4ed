// Fully connected backward to the input:   dx[n, i] = sum_o dy[n, o] * w[o, i]    (dx = dy W)
//
// dy (N, Out, 1, 1) at dy_base + n * dy_stride + o; w (Out, In, 1, 1) row-major from w_base;
// dx (N, C, H, W) with C*H*W = In, written at dx_base + n * dx_stride + i (channel views work).
// Bindings: 0 params (uniform), 1 dy (read), 2 w (read), 3 dx (read_write).
//
// Dispatch: (ceil(In / 256), ceil(N / TN)), workgroup of 64. One invocation owns 4 consecutive
// inputs i0..i0+3 of TN samples (TN = 1..4, an override): it walks the Out rows of w, loading one
// vec4 of each row (neighbouring invocations read neighbouring vec4s, so the reads are coalesced on
// a GPU and contiguous for a CPU adapter) and one dy value per sample, and keeps one vec4
// accumulator per sample in registers. No workgroup memory. Columns past In and samples past N are
// clamped for loading and skipped for storing.

struct Params {
  n: u32,
  in_features: u32,
  out_features: u32,
  dy_base: u32, dy_stride: u32,
  w_base: u32,
  dx_base: u32, dx_stride: u32,
}

override TN: u32 = 1;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn store(n: u32, i0: u32, v: vec4f) {
  if (n >= params.n) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (i0 + j < params.in_features) { dx[params.dx_base + n * params.dx_stride + i0 + j] = v[j]; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i0 = gid.x * 4u;
  let K = params.in_features;
  if (i0 >= K) { return; }
  let last_i = K - 1u;
  let c1 = min(i0 + 1u, last_i);
  let c2 = min(i0 + 2u, last_i);
  let c3 = min(i0 + 3u, last_i);
  let n0 = gid.y * TN;
  let last_n = params.n - 1u;
  let g0 = params.dy_base + min(n0, last_n) * params.dy_stride;
  let g1 = params.dy_base + min(n0 + 1u, last_n) * params.dy_stride;
  let g2 = params.dy_base + min(n0 + 2u, last_n) * params.dy_stride;
  let g3 = params.dy_base + min(n0 + 3u, last_n) * params.dy_stride;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var o = 0u; o < params.out_features; o++) {
    let r = params.w_base + o * K;
    let wv = vec4f(w[r + i0], w[r + c1], w[r + c2], w[r + c3]);
    a0 += dy[g0 + o] * wv;
    if (TN > 1u) { a1 += dy[g1 + o] * wv; }
    if (TN > 2u) { a2 += dy[g2 + o] * wv; }
    if (TN > 3u) { a3 += dy[g3 + o] * wv; }
  }
  store(n0, i0, a0);
  if (TN > 1u) { store(n0 + 1u, i0, a1); }
  if (TN > 2u) { store(n0 + 2u, i0, a2); }
  if (TN > 3u) { store(n0 + 3u, i0, a3); }
}
