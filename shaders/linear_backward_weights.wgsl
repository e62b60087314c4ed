// Fully connected backward to the parameters (reductions over the batch N):
//   weights:  dw[o, i] = sum_n dy[n, o] * x[n, i]     (dw = dy^T x)
//   bias:     db[o]    = sum_n dy[n, o]
//
// x (N, In) at x_base + n * x_stride + i (channel views work); dy (N, Out, 1, 1) at
// dy_base + n * dy_stride + o; dw (Out, In, 1, 1) and db (1, Out, 1, 1) are dense, from element 0.
// Bindings: 0 params (uniform), 1 x (read), 2 dy (read), 3 dw (read_write)   -> `weights`, `weights_cols`
//           0 params (uniform), 5 x4 (read), 2 dy (read), 6 dw4 (read_write) -> `weights_cols_vec4`
//           0 params (uniform),             2 dy (read), 4 db (read_write)   -> `bias`
// (x4 and dw4 are the x and dw buffers seen as vec4s.)
//
// `weights` (CPU adapters, variant 'register'). Dispatch: (ceil(In / 256), ceil(Out / 4)),
// workgroup of 64. One invocation owns a 4-output x 4-input tile of dw: for every sample it loads
// 4 consecutive x values and the 4 dy values, and accumulates 4 vec4 outer-product rows in
// registers. No workgroup memory. Tiles past Out / In clamp their loads and skip their stores.
//
// `weights_cols` / `weights_cols_vec4` (GPUs, variants 'gemv' and 'tiled'). Same dispatch,
// (ceil(In / 256), ceil(Out / 4)): for fc6 (9216 -> 4096) that is 36 x 1024 workgroups. A workgroup
// owns 4 rows o0..o0+3 and 256 consecutive columns; in `weights_cols` (workgroup of 256) an
// invocation owns one column, in `weights_cols_vec4` (workgroup of 64; needs In, x_base and
// x_stride multiples of 4) four consecutive columns as one vec4. Either way neighbouring
// invocations read neighbouring x values and write neighbouring dw values of each row (coalesced
// loads and stores; dw, Out x In floats, is the traffic that bounds this kernel), and the 4 dy
// values per sample are the same for the whole workgroup (broadcast).
// `bias` dispatch: (ceil(Out / 64)); one invocation sums one column of dy.

struct Params {
  n: u32,
  in_features: u32,
  out_features: u32,
  x_base: u32, x_stride: u32,
  dy_base: u32, dy_stride: u32,
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> dw4: array<vec4f>;

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

fn store(o: u32, i0: u32, v: vec4f) {
  if (o >= params.out_features) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (i0 + j < params.in_features) { dw[o * params.in_features + i0 + j] = v[j]; }
  }
}

@compute @workgroup_size(64)
fn weights(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(64u, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
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

@compute @workgroup_size(256)
fn weights_cols(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let wg = logical_id(wg_in, nwg, vec3u(0u), vec3u(1u));
  if (wg.z >= params.grid_z) { return; }
  let K = params.in_features;
  let i = wg.x * 256u + t;
  if (i >= K) { return; }
  let o0 = wg.y * 4u;
  let last_o = params.out_features - 1u;
  let o1 = min(o0 + 1u, last_o);
  let o2 = min(o0 + 2u, last_o);
  let o3 = min(o0 + 3u, last_o);
  var a = vec4f(0.0);
  for (var n = 0u; n < params.n; n++) {
    let xv = x[params.x_base + n * params.x_stride + i];
    let g = params.dy_base + n * params.dy_stride;
    a += vec4f(dy[g + o0], dy[g + o1], dy[g + o2], dy[g + o3]) * xv;
  }
  for (var j = 0u; j < 4u; j++) {
    if (o0 + j < params.out_features) { dw[(o0 + j) * K + i] = a[j]; }
  }
}

@compute @workgroup_size(64)
fn weights_cols_vec4(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let wg = logical_id(wg_in, nwg, vec3u(0u), vec3u(1u));
  if (wg.z >= params.grid_z) { return; }
  let K4 = params.in_features / 4u;
  let i4 = wg.x * 64u + t;
  if (i4 >= K4) { return; }
  let o0 = wg.y * 4u;
  let last_o = params.out_features - 1u;
  let o1 = min(o0 + 1u, last_o);
  let o2 = min(o0 + 2u, last_o);
  let o3 = min(o0 + 3u, last_o);
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var n = 0u; n < params.n; n++) {
    let xv = x4[(params.x_base + n * params.x_stride) / 4u + i4];
    let g = params.dy_base + n * params.dy_stride;
    a0 += dy[g + o0] * xv;
    a1 += dy[g + o1] * xv;
    a2 += dy[g + o2] * xv;
    a3 += dy[g + o3] * xv;
  }
  dw4[o0 * K4 + i4] = a0;
  if (o0 + 1u < params.out_features) { dw4[(o0 + 1u) * K4 + i4] = a1; }
  if (o0 + 2u < params.out_features) { dw4[(o0 + 2u) * K4 + i4] = a2; }
  if (o0 + 3u < params.out_features) { dw4[(o0 + 3u) * K4 + i4] = a3; }
}

@compute @workgroup_size(64)
fn bias(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(64u, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
  let o = gid.x;
  if (o >= params.out_features) { return; }
  var acc = 0.0;
  for (var n = 0u; n < params.n; n++) { acc += dy[params.dy_base + n * params.dy_stride + o]; }
  db[o] = acc;
}
