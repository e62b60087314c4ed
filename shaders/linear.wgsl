// Fully connected forward, register-tiled variant 'register' (for CPU adapters such as SwiftShader:
// no workgroup memory, no barriers).
//
//   y[n, o] = act( sum_i x[n, i] * w[o, i] + b[o] ),   act = relu when params.relu != 0
//
// x (N, C, H, W) is read as (N, In), In = C*H*W in NCHW flatten order; element i of sample n sits at
// x_base + n * x_stride + i (channel views work). w (Out, In, 1, 1) is row-major [o][i] starting
// at element w_base (a view into the weight arena); b (1, Out, 1, 1) at b_base, read only when
// params.has_bias != 0 (otherwise any buffer is bound). y (N, Out, 1, 1) at y_base + n * y_stride + o.
//
// Bindings: 0 params (uniform), 1 x (read), 2 w (read), 3 b (read), 4 y (read_write);
//           forward_vec4: 5 x4, 6 w4 instead of 1, 2.
//
// Dispatch: (ceil(Out / 4), ceil(N / TN)). One invocation computes a 4-output x TN-sample tile:
// per step of 4 along In it loads one vec4 of each of the 4 weight rows (a mat4x4 whose columns
// are the rows) and one vec4 of each of the TN samples, and accumulates x4 * W4, i.e. the 4 dot
// products at once, into one vec4 accumulator per sample. TN (1..4) is an override so batch 1
// is a plain GEMV and larger batches reuse every weight load TN times. Rows and samples past the
// edge are clamped for loading and skipped for storing; the In % 4 tail runs scalar.
// `forward` takes any alignment of In and the bases: each vec4 is assembled from scalar loads.
// `forward_vec4` reads 5 x4 and 6 w4 (the same buffers seen as vec4s) and needs In, w_base,
// x_base and x_stride to be multiples of 4 (the host checks) and takes one sample per invocation
// (TN unused; the host runs it at batch 1): per step it loads one vec4 of each of the 4 weight
// rows and of the sample and accumulates the products into one vec4 per row, two steps per loop
// iteration, summed to the output at the end. On SwiftShader every storage load costs about the
// same whatever its width, so whole-vec4 loads read the weights (the whole cost of a batch-1
// GEMV) with a quarter of the load instructions; at larger batches `forward`, whose each weight
// load feeds TN samples, stays faster.

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

override TN: u32 = 1;

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

fn load4(a: u32) -> vec4f {
  return vec4f(x[a], x[a + 1u], x[a + 2u], x[a + 3u]);
}

fn wload4(a: u32) -> vec4f {
  return vec4f(w[a], w[a + 1u], w[a + 2u], w[a + 3u]);
}

/// Bias, activation and the guarded stores of one sample's 4 outputs.
fn finish(n: u32, o0: u32, acc: vec4f) {
  if (n >= params.n) { return; }
  for (var j = 0u; j < 4u; j++) {
    let o = o0 + j;
    if (o < params.out_features) {
      var v = acc[j];
      if (params.has_bias != 0u) { v += b[params.b_base + o]; }
      if (params.relu != 0u) { v = max(v, 0.0); }
      y[params.y_base + n * params.y_stride + o] = v;
    }
  }
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(64u, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
  let o0 = gid.x * 4u;
  if (o0 >= params.out_features) { return; }
  let n0 = gid.y * TN;
  let last_o = params.out_features - 1u;
  let last_n = params.n - 1u;
  let K = params.in_features;
  let r0 = params.w_base + min(o0, last_o) * K;
  let r1 = params.w_base + min(o0 + 1u, last_o) * K;
  let r2 = params.w_base + min(o0 + 2u, last_o) * K;
  let r3 = params.w_base + min(o0 + 3u, last_o) * K;
  let s0 = params.x_base + min(n0, last_n) * params.x_stride;
  let s1 = params.x_base + min(n0 + 1u, last_n) * params.x_stride;
  let s2 = params.x_base + min(n0 + 2u, last_n) * params.x_stride;
  let s3 = params.x_base + min(n0 + 3u, last_n) * params.x_stride;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  let K4 = K & ~3u;
  for (var k = 0u; k < K4; k += 4u) {
    let wm = mat4x4f(wload4(r0 + k), wload4(r1 + k), wload4(r2 + k), wload4(r3 + k));
    a0 += load4(s0 + k) * wm;
    if (TN > 1u) { a1 += load4(s1 + k) * wm; }
    if (TN > 2u) { a2 += load4(s2 + k) * wm; }
    if (TN > 3u) { a3 += load4(s3 + k) * wm; }
  }
  for (var k = K4; k < K; k++) {
    let wv = vec4f(w[r0 + k], w[r1 + k], w[r2 + k], w[r3 + k]);
    a0 += x[s0 + k] * wv;
    if (TN > 1u) { a1 += x[s1 + k] * wv; }
    if (TN > 2u) { a2 += x[s2 + k] * wv; }
    if (TN > 3u) { a3 += x[s3 + k] * wv; }
  }
  finish(n0, o0, a0);
  if (TN > 1u) { finish(n0 + 1u, o0, a1); }
  if (TN > 2u) { finish(n0 + 2u, o0, a2); }
  if (TN > 3u) { finish(n0 + 3u, o0, a3); }
}

/** One vec4 step at vec4 index k of the 4 weight rows r and the sample at vec4 index s. */
fn step4(a: ptr<function, mat4x4f>, r: vec4u, s: u32, k: u32) {
  let xv = x4[s + k];
  *a += mat4x4f(w4[r.x + k] * xv, w4[r.y + k] * xv, w4[r.z + k] * xv, w4[r.w + k] * xv);
}

@compute @workgroup_size(64)
fn forward_vec4(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(64u, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
  let o0 = gid.x * 4u;
  if (o0 >= params.out_features) { return; }
  let n = gid.y;
  let K4 = params.in_features / 4u;
  let rows = min(vec4u(o0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.out_features - 1u));
  let r = (vec4u(params.w_base) + rows * params.in_features) / 4u;
  let s = (params.x_base + min(n, params.n - 1u) * params.x_stride) / 4u;
  var a = mat4x4f();
  let K8 = K4 & ~1u;
  for (var k = 0u; k < K8; k += 2u) {
    step4(&a, r, s, k);
    step4(&a, r, s, k + 1u);
  }
  if (K8 < K4) { step4(&a, r, s, K8); }
  let one = vec4f(1.0);
  finish(n, o0, vec4f(dot(a[0], one), dot(a[1], one), dot(a[2], one), dot(a[3], one)));
}
