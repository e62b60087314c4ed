// Fully connected forward, workgroup-memory tiled variant 'tiled' (for GPUs).
//
//   y[n, o] = act( sum_i x[n, i] * w[o, i] + b[o] ),   act = relu when params.relu != 0
//
// Same tensors, uniforms and bindings as linear.wgsl (the 'register' variant):
// x (N, In) at x_base + n * x_stride + i; w (Out, In) row-major from w_base; b (Out) from b_base
// when has_bias != 0; y (N, Out) at y_base + n * y_stride + o.
// Bindings: 0 params (uniform), 1 x (read), 2 w (read), 3 b (read), 4 y (read_write).
//
// Dispatch: (ceil(Out / 64), ceil(N / BS)), workgroup of 64 invocations. A workgroup owns a
// 64-output x BS-sample tile of y (BS = 1, 4 or 16, an override picked from N so batch 1 wastes
// nothing). It walks In in steps of BK = 16: the 64 invocations copy the 64 x 16 weight block into
// workgroup memory (invocation t reads element t % 16 of rows t / 16 + 4j, so every 16 neighbours
// read one contiguous run of a row; the row pitch 17 avoids bank conflicts) and the BS x 16 input block beside it, then after a barrier
// each invocation accumulates its own output column against all BS samples (the input values are
// broadcast reads). Out-of-range rows, samples and the In tail load zeros.

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

const BO = 64u;   // outputs per workgroup (= invocations)
const BK = 16u;   // In step
const MAX_BS = 16u;
override BS: u32 = 1;   // samples per workgroup, <= MAX_BS

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

var<workgroup> ws: array<f32, 1088>;   // BO rows of BK, pitch BK + 1 (no bank conflicts)
var<workgroup> xs: array<f32, 256>;    // MAX_BS rows of BK

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let wg = logical_id(wg_in, nwg, vec3u(0u), vec3u(1u));
  if (wg.z >= params.grid_z) { return; }
  let o0 = wg.x * BO;
  let n0 = wg.y * BS;
  let K = params.in_features;
  var acc: array<f32, MAX_BS>;
  let kt = t % BK;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    let k = k0 + kt;
    for (var e = t; e < BO * BK; e += BO) {
      let o = o0 + e / BK;
      var v = 0.0;
      if (o < params.out_features && k < K) { v = w[params.w_base + o * K + k]; }
      ws[(e / BK) * (BK + 1u) + kt] = v;
    }
    for (var e = t; e < BS * BK; e += BO) {
      let n = n0 + e / BK;
      var v = 0.0;
      if (n < params.n && k < K) { v = x[params.x_base + n * params.x_stride + k]; }
      xs[e] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let wv = ws[t * (BK + 1u) + kk];
      for (var s = 0u; s < BS; s++) { acc[s] += wv * xs[s * BK + kk]; }
    }
    workgroupBarrier();
  }
  let o = o0 + t;
  if (o >= params.out_features) { return; }
  var bias = 0.0;
  if (params.has_bias != 0u) { bias = b[params.b_base + o]; }
  for (var s = 0u; s < BS; s++) {
    let n = n0 + s;
    if (n < params.n) {
      var v = acc[s] + bias;
      if (params.relu != 0u) { v = max(v, 0.0); }
      y[params.y_base + n * params.y_stride + o] = v;
    }
  }
}
