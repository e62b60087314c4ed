// Fully connected backward to the parameters (reductions over the batch N):
//   weights:  dw[o, i] = sum_n dy[n, o] * x[n, i]     (dw = dy^T x)
//   bias:     db[o]    = sum_n dy[n, o]
//
// x (N, In) at x_base + n * x_stride + i (channel views work); dy (N, Out, 1, 1) at
// dy_base + n * dy_stride + o; dw (Out, In, 1, 1) and db (1, Out, 1, 1) are dense, from element 0.
// Bindings: 0 params (uniform), 1 x (read), 2 dy (read), 3 dw (read_write)   -> entry `weights`
//           0 params (uniform),             2 dy (read), 4 db (read_write)   -> entry `bias`
//
// `weights` dispatch: (ceil(In / 256), ceil(Out / 4)), workgroup of 64. One invocation owns a
// 4-output x 4-input tile of dw: for every sample it loads one vec4 of x (neighbouring invocations
// read neighbouring vec4s) and the 4 dy values, and accumulates 4 vec4 outer-product rows in
// registers. No workgroup memory. Tiles past Out / In clamp their loads and skip their stores.
// `bias` dispatch: (ceil(Out / 64)); one invocation sums one column of dy.

struct Params {
  n: u32,
  in_features: u32,
  out_features: u32,
  x_base: u32, x_stride: u32,
  dy_base: u32, dy_stride: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

fn store(o: u32, i0: u32, v: vec4f) {
  if (o >= params.out_features) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (i0 + j < params.in_features) { dw[o * params.in_features + i0 + j] = v[j]; }
  }
}

@compute @workgroup_size(64)
fn weights(@builtin(global_invocation_id) gid: vec3u) {
  let i0 = gid.x * 4u;
  let K = params.in_features;
  if (i0 >= K) { return; }
  let last_i = K - 1u;
  let c1 = min(i0 + 1u, last_i);
  let c2 = min(i0 + 2u, last_i);
  let c3 = min(i0 + 3u, last_i);
  let o0 = gid.y * 4u;
  let last_o = params.out_features - 1u;
  let o1 = min(o0 + 1u, last_o);
  let o2 = min(o0 + 2u, last_o);
  let o3 = min(o0 + 3u, last_o);
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var n = 0u; n < params.n; n++) {
    let s = params.x_base + n * params.x_stride;
    let xv = vec4f(x[s + i0], x[s + c1], x[s + c2], x[s + c3]);
    let g = params.dy_base + n * params.dy_stride;
    a0 += dy[g + o0] * xv;
    a1 += dy[g + o1] * xv;
    a2 += dy[g + o2] * xv;
    a3 += dy[g + o3] * xv;
  }
  store(o0, i0, a0);
  store(o0 + 1u, i0, a1);
  store(o0 + 2u, i0, a2);
  store(o0 + 3u, i0, a3);
}

@compute @workgroup_size(64)
fn bias(@builtin(global_invocation_id) gid: vec3u) {
  let o = gid.x;
  if (o >= params.out_features) { return; }
  var acc = 0.0;
  for (var n = 0u; n < params.n; n++) { acc += dy[params.dy_base + n * params.dy_stride + o]; }
  db[o] = acc;
}
