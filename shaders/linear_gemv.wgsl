// Fully connected forward, variant 'gemv' (GPUs, small batches: at N <= 8 the layer is a
// matrix-vector product, bound by streaming the weights once from memory).
//
//   y[n, o] = act( sum_i x[n, i] * w[o, i] + b[o] ),   act = relu when params.relu != 0
//
// Same tensors, uniforms and bindings as linear.wgsl (the 'register' variant):
// x (N, In) at x_base + n * x_stride + i; w (Out, In) row-major from w_base; b (Out) from b_base
// when has_bias != 0; y (N, Out) at y_base + n * y_stride + o.
// Bindings: 0 params (uniform), 1 x (read), 2 w (read), 3 b (read), 4 y (read_write);
//           `forward_vec4` reads 5 x4 and 6 w4 (the same buffers seen as vec4s) instead of 1, 2.
//
// Dispatch: (ceil(Out / R), ceil(N / NB)), workgroup of WG = 256. A workgroup owns R output
// rows (R = 4 or 8, an override) and NB samples (NB = 1, 2, 4 or 8, an override). Its 256
// invocations stride over In together: invocation t reads elements t, t + 256, t + 512, ... of
// each of the R weight rows and NB input rows, so each warp's loads are one contiguous run
// (coalesced), and every weight element is read once per sample block. Each invocation keeps
// R x NB partial dot products in registers; at the end the workgroup reduces them in rounds of
// RV = 8 values through workgroup memory: the 256 partials of each value are summed 8 at a time
// by 32 invocations (lane l sums l, l + 32, ..., a conflict-free stride), then one invocation per
// value adds the 32 sums in a fixed order (deterministic), adds the bias, applies the activation
// and stores. No atomics, no subgroup operations.
// `forward` takes any alignment (scalar loads); `forward_vec4` loads vec4s (thread t reads vec4 t,
// t + 256, ...) and needs In, w_base, x_base and x_stride to be multiples of 4 (the host checks).
// Rows past Out and samples past N are clamped for loading and skipped for storing.

struct Params {
  n: u32,
  in_features: u32,
  out_features: u32,
  relu: u32,
  has_bias: u32,
  x_base: u32, x_stride: u32,
  w_base: u32,
  b_base: u32,
  y_base: u32, y_stride: u32,
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
}

const WG = 256u;
const MAX_R = 8u;
const MAX_NB = 8u;
const RV = 8u;   // values reduced per round
const ACC = MAX_R * MAX_NB;
override R: u32 = 4;    // output rows per workgroup, <= MAX_R
override NB: u32 = 1;   // samples per workgroup, <= MAX_NB

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;
@group(0) @binding(6) var<storage, read> w4: array<vec4f>;

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

var<workgroup> red: array<f32, 2048>;   // RV values x WG partials
var<private> acc: array<f32, ACC>;      // this invocation's R x NB partial sums, [r * NB + s]

/// Element offset of row r of this workgroup's weight block (clamped to the last row).
fn row_base(o0: u32, r: u32) -> u32 {
  return params.w_base + min(o0 + r, params.out_features - 1u) * params.in_features;
}

/// Element offset of sample s of this workgroup's batch block (clamped to the last sample).
fn sample_base(n0: u32, s: u32) -> u32 {
  return params.x_base + min(n0 + s, params.n - 1u) * params.x_stride;
}

/// Sum each of the R x NB partial values over the workgroup, then bias, activation and store.
fn reduce_and_store(t: u32, o0: u32, n0: u32) {
  for (var v0 = 0u; v0 < R * NB; v0 += RV) {
    for (var j = 0u; j < RV; j++) { red[j * WG + t] = acc[min(v0 + j, ACC - 1u)]; }
    workgroupBarrier();
    let v = t / 32u;
    let l = t % 32u;
    var s = 0.0;
    for (var q = 0u; q < WG / 32u; q++) { s += red[v * WG + q * 32u + l]; }
    red[v * WG + l] = s;   // only this invocation read that slot
    workgroupBarrier();
    if (t < RV && v0 + t < R * NB) {
      var total = 0.0;
      for (var q = 0u; q < 32u; q++) { total += red[t * WG + q]; }
      let r = (v0 + t) / NB;
      let n = n0 + (v0 + t) % NB;
      let o = o0 + r;
      if (o < params.out_features && n < params.n) {
        if (params.has_bias != 0u) { total += b[params.b_base + o]; }
        if (params.relu != 0u) { total = max(total, 0.0); }
        y[params.y_base + n * params.y_stride + o] = total;
      }
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let wg = logical_id(wg_in, nwg, vec3u(0u), vec3u(1u));
  if (wg.z >= params.grid_z) { return; }
  let o0 = wg.x * R;
  let n0 = wg.y * NB;
  var wr: array<u32, MAX_R>;
  var xs: array<u32, MAX_NB>;
  for (var r = 0u; r < R; r++) { wr[r] = row_base(o0, r); }
  for (var s = 0u; s < NB; s++) { xs[s] = sample_base(n0, s); }
  for (var k = t; k < params.in_features; k += WG) {
    var xv: array<f32, MAX_NB>;
    for (var s = 0u; s < NB; s++) { xv[s] = x[xs[s] + k]; }
    for (var r = 0u; r < R; r++) {
      let wv = w[wr[r] + k];
      for (var s = 0u; s < NB; s++) { acc[r * NB + s] += wv * xv[s]; }
    }
  }
  reduce_and_store(t, o0, n0);
}

@compute @workgroup_size(WG)
fn forward_vec4(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let wg = logical_id(wg_in, nwg, vec3u(0u), vec3u(1u));
  if (wg.z >= params.grid_z) { return; }
  let o0 = wg.x * R;
  let n0 = wg.y * NB;
  var wr: array<u32, MAX_R>;
  var xs: array<u32, MAX_NB>;
  for (var r = 0u; r < R; r++) { wr[r] = row_base(o0, r) / 4u; }
  for (var s = 0u; s < NB; s++) { xs[s] = sample_base(n0, s) / 4u; }
  let K4 = params.in_features / 4u;
  for (var k = t; k < K4; k += WG) {
    var xv: array<vec4f, MAX_NB>;
    for (var s = 0u; s < NB; s++) { xv[s] = x4[xs[s] + k]; }
    for (var r = 0u; r < R; r++) {
      let wv = w4[wr[r] + k];
      for (var s = 0u; s < NB; s++) { acc[r * NB + s] += dot(wv, xv[s]); }
    }
  }
  reduce_and_store(t, o0, n0);
}
