// Fully connected forward, variant 'gemv_subgroup' (adapters with the WebGPU feature 'subgroups',
// small batches: at N <= 8 the layer is a matrix-vector product bound by streaming the weights).
//
//   y[n, o] = act( sum_i x[n, i] * w[o, i] + b[o] ),   act = relu when params.relu != 0
//
// Same tensors, uniforms and bindings as linear_gemv.wgsl (the 'gemv' variant):
// x (N, In) at x_base + n * x_stride + i; w (Out, In) row-major from w_base; b (Out) from b_base
// when has_bias != 0; y (N, Out) at y_base + n * y_stride + o.
// Bindings: 0 params (uniform), 1 x (read), 2 w (read), 3 b (read), 4 y (read_write);
//           `forward_vec4` reads 5 x4 and 6 w4 (the same buffers seen as vec4s) instead of 1, 2.
//
// Dispatch: (ceil(Out / R), ceil(N / NB)), workgroup of WG = 64. A workgroup owns R output rows
// (an override, 16 by default) and NB samples (1, 2, 4 or 8, an override). Each row of the block
// is one task, done whole by ONE subgroup: its lanes stride over In (lane l reads elements
// l, l + S, l + 2S, ... of the row and of the NB input rows, S lanes per subgroup, so a
// subgroup's loads are contiguous), keep NB partial dot products, and `subgroupAdd` sums each
// over the subgroup; the first lane adds the bias, applies the activation and stores. No
// workgroup-memory reduction and no barrier after the loads.
//
// Any subgroup size and any packing of invocations into subgroups: the lane index and the lane
// count come from subgroupExclusiveAdd(1) and subgroupAdd(1) over the active lanes (not from
// assuming 32 or local_invocation_index / subgroup_size), and a subgroup takes its next row from
// a workgroup atomic counter (the first lane increments it, subgroupBroadcastFirst shares it), so
// subgroups of 4 on SwiftShader do R rows among 16 of them and one subgroup of 64 does all R.
// Every row is still summed by one subgroup in lane order, so a row's result does not depend on
// which subgroup took it (deterministic for a given subgroup size).
// `forward` takes any alignment (scalar loads); `forward_vec4` loads vec4s and needs In, w_base,
// x_base and x_stride to be multiples of 4 (the host checks, as for 'gemv').
// Rows past Out and samples past N are clamped for loading and skipped for storing.

enable subgroups;
// The row loop's bound comes from an atomic (the same for every lane of a subgroup, which the
// uniformity analysis cannot see): subgroupAdd is reached by whole subgroups.
diagnostic(off, subgroup_uniformity);

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

const WG = 64u;
const MAX_NB = 8u;
override R: u32 = 16;   // output rows per workgroup
override NB: u32 = 1;   // samples per workgroup, <= MAX_NB

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;
@group(0) @binding(6) var<storage, read> w4: array<vec4f>;

var<workgroup> next_row: atomic<u32>;

// Logical id in a dispatch that foldGrid (engine/kernels/kernel.ts) may have folded (see linear_gemv.wgsl).
fn logical_id(wid: vec3u, nwg: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  return vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
}

/// Element offset of sample s of this workgroup's batch block (clamped to the last sample).
fn sample_base(n0: u32, s: u32) -> u32 {
  return params.x_base + min(n0 + s, params.n - 1u) * params.x_stride;
}

/// The next row of the block for this subgroup (R or more: none left), the same for all its lanes.
fn take_row(first: bool) -> u32 {
  var r = 0u;
  if (first) { r = atomicAdd(&next_row, 1u); }
  return subgroupBroadcastFirst(r);
}

/// Sum acc over the subgroup; the first lane adds the bias, applies the activation and stores.
fn store_row(first: bool, o: u32, n0: u32, acc: array<f32, MAX_NB>) {
  for (var s = 0u; s < NB; s++) {
    var total = subgroupAdd(acc[s]);
    let n = n0 + s;
    if (first && o < params.out_features && n < params.n) {
      if (params.has_bias != 0u) { total += b[params.b_base + o]; }
      if (params.relu != 0u) { total = max(total, 0.0); }
      y[params.y_base + n * params.y_stride + o] = total;
    }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  if (t == 0u) { atomicStore(&next_row, 0u); }
  workgroupBarrier();
  let wg = logical_id(wg_in, nwg);
  if (wg.z >= params.grid_z) { return; }
  let o0 = wg.x * R;
  let n0 = wg.y * NB;
  let lane = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  let first = lane == 0u;
  var xs: array<u32, MAX_NB>;
  for (var s = 0u; s < NB; s++) { xs[s] = sample_base(n0, s); }
  for (var r = take_row(first); r < R; r = take_row(first)) {
    let o = o0 + r;
    let wr = params.w_base + min(o, params.out_features - 1u) * params.in_features;
    var acc: array<f32, MAX_NB>;
    for (var s = 0u; s < MAX_NB; s++) { acc[s] = 0.0; }   // zeroed explicitly: on SwiftShader the declaration alone kept the last row's sums
    for (var k = lane; k < params.in_features; k += lanes) {
      let wv = w[wr + k];
      for (var s = 0u; s < NB; s++) { acc[s] += wv * x[xs[s] + k]; }
    }
    store_row(first, o, n0, acc);
  }
}

@compute @workgroup_size(WG)
fn forward_vec4(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  if (t == 0u) { atomicStore(&next_row, 0u); }
  workgroupBarrier();
  let wg = logical_id(wg_in, nwg);
  if (wg.z >= params.grid_z) { return; }
  let o0 = wg.x * R;
  let n0 = wg.y * NB;
  let lane = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  let first = lane == 0u;
  var xs: array<u32, MAX_NB>;
  for (var s = 0u; s < NB; s++) { xs[s] = sample_base(n0, s) / 4u; }
  let K4 = params.in_features / 4u;
  for (var r = take_row(first); r < R; r = take_row(first)) {
    let o = o0 + r;
    let wr = (params.w_base + min(o, params.out_features - 1u) * params.in_features) / 4u;
    var acc: array<f32, MAX_NB>;
    for (var s = 0u; s < MAX_NB; s++) { acc[s] = 0.0; }   // zeroed explicitly: on SwiftShader the declaration alone kept the last row's sums
    for (var k = lane; k < K4; k += lanes) {
      let wv = w4[wr + k];
      for (var s = 0u; s < NB; s++) { acc[s] += dot(wv, x4[xs[s] + k]); }
    }
    store_row(first, o, n0, acc);
  }
}
