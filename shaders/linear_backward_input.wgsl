// Fully connected backward to the input:   dx[n, i] = sum_o dy[n, o] * w[o, i]    (dx = dy W)
//
// dy (N, Out, 1, 1) at dy_base + n * dy_stride + o; w (Out, In, 1, 1) row-major from w_base;
// dx (N, C, H, W) with C*H*W = In, written at dx_base + n * dx_stride + i (channel views work).
// Bindings: 0 params (uniform), 1 dy (read), 2 w (read), 3 dx (read_write);
//           `split_k_vec4` reads 4 w4 (w seen as vec4s) instead of 2.
//
// `main` (CPU adapters, variant 'register'). Dispatch: (ceil(In / 256), ceil(N / TN)), workgroup
// of 64. One invocation owns 4 consecutive inputs i0..i0+3 of TN samples (TN = 1..4, an override):
// it walks all Out rows of w, loading one vec4 of each row and one dy value per sample, and keeps
// one vec4 accumulator per sample in registers. No workgroup memory. Columns past In and samples
// past N are clamped for loading and skipped for storing. o_chunk and dx_split are unused.
//
// `split_k` / `split_k_vec4` (GPUs, variants 'gemv' and 'tiled'): the sum over o is split into
// S chunks of o_chunk rows so that enough workgroups exist to fill a GPU even at batch 1
// (9216 inputs alone would make only 36 workgroups). Dispatch: (ceil(In / 256), S, ceil(N / NB)).
// Workgroup (x, s, z) owns 256 consecutive columns, rows [s * o_chunk, (s + 1) * o_chunk) and
// samples [z * NB, z * NB + NB) (NB = 1, 2, 4 or 8, an override). In `split_k` (workgroup of 256) each
// invocation owns one column, in `split_k_vec4` (workgroup of 64, needs In and w_base multiples
// of 4) four consecutive columns loaded as one vec4: either way neighbouring invocations read
// neighbouring weights of a row (coalesced), and dy[n, o] is the same for the whole workgroup
// (a broadcast). Each invocation keeps NB accumulators in registers and stores its partial sums
// at dx_base + s * dx_split + n * dx_stride + i: with S = 1 straight into dx, otherwise into a
// dense (S, N, In) scratch stack that sum.wgsl then adds up in a fixed order (deterministic, no
// atomics).

struct Params {
  n: u32,
  in_features: u32,
  out_features: u32,
  dy_base: u32, dy_stride: u32,
  w_base: u32,
  dx_base: u32, dx_stride: u32,
  o_chunk: u32,
  dx_split: u32,
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
}

override TN: u32 = 1;
const MAX_NB = 8u;
override NB: u32 = 1;   // samples per split-K workgroup, <= MAX_NB

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<storage, read> w4: array<vec4f>;

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

fn store(n: u32, i0: u32, v: vec4f) {
  if (n >= params.n) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (i0 + j < params.in_features) { dx[params.dx_base + n * params.dx_stride + i0 + j] = v[j]; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
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

/// dy offsets of the NB samples of block z (clamped to the last sample).
fn dy_bases(z: u32) -> array<u32, MAX_NB> {
  var g: array<u32, MAX_NB>;
  for (var s = 0u; s < NB; s++) { g[s] = params.dy_base + min(z * NB + s, params.n - 1u) * params.dy_stride; }
  return g;
}

@compute @workgroup_size(256)
fn split_k(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let wg = logical_id(wg_in, nwg, vec3u(0u), vec3u(1u));
  if (wg.z >= params.grid_z) { return; }
  let K = params.in_features;
  let i = wg.x * 256u + t;
  if (i >= K) { return; }
  let o_begin = wg.y * params.o_chunk;
  let o_end = min(o_begin + params.o_chunk, params.out_features);
  let g = dy_bases(wg.z);
  var acc: array<f32, MAX_NB>;
  for (var o = o_begin; o < o_end; o++) {
    let wv = w[params.w_base + o * K + i];
    for (var s = 0u; s < NB; s++) { acc[s] += dy[g[s] + o] * wv; }
  }
  let dst = params.dx_base + wg.y * params.dx_split + i;
  for (var s = 0u; s < NB; s++) {
    let n = wg.z * NB + s;
    if (n < params.n) { dx[dst + n * params.dx_stride] = acc[s]; }
  }
}

@compute @workgroup_size(64)
fn split_k_vec4(@builtin(workgroup_id) wg_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let wg = logical_id(wg_in, nwg, vec3u(0u), vec3u(1u));
  if (wg.z >= params.grid_z) { return; }
  let K4 = params.in_features / 4u;
  let i4 = wg.x * 64u + t;
  if (i4 >= K4) { return; }
  let o_begin = wg.y * params.o_chunk;
  let o_end = min(o_begin + params.o_chunk, params.out_features);
  let g = dy_bases(wg.z);
  let row0 = params.w_base / 4u + i4;
  var acc: array<vec4f, MAX_NB>;
  for (var o = o_begin; o < o_end; o++) {
    let wv = w4[row0 + o * K4];
    for (var s = 0u; s < NB; s++) { acc[s] += dy[g[s] + o] * wv; }
  }
  let dst = params.dx_base + wg.y * params.dx_split + i4 * 4u;
  for (var s = 0u; s < NB; s++) {
    let n = wg.z * NB + s;
    if (n < params.n) {
      let at = dst + n * params.dx_stride;
      dx[at] = acc[s].x;
      dx[at + 1u] = acc[s].y;
      dx[at + 2u] = acc[s].z;
      dx[at + 3u] = acc[s].w;
    }
  }
}
