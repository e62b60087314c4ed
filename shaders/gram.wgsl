// Gram matrices of features (Gatys et al. 2015, texture synthesis and style transfer), forward and
// backward, F (N, C, H, W) read as (C, H*W):
//
//   forward   G[n, i, j]  = sum_p F[n, i, p] F[n, j, p] / (H * W)               G (N, 1, C, C) dense
//   backward  dF[n, i, p] = sum_j (dG[n, i, j] + dG[n, j, i]) F[n, j, p] / (H * W)
//             (or dF += that with accumulate = 1: a style loss added into a layer gradient that
//             already holds another term)
//
// 'tiled' variant (GPUs), workgroups of TILE x TILE invocations, one output value each in a
// register, chunks walked in order (deterministic):
//   gram_tiled      owns a TILE x TILE block of G (rows i0.., columns j0..), walks p in chunks of
//                   TILE staging F[i0.., p..] and F[j0.., p..] in workgroup memory. A 512-channel
//                   28x28 layer is 32 x 32 workgroups of 49 chunks. Logical grid
//                   (ceil(C / TILE), ceil(C / TILE), N).
//   backward_tiled  owns dF[i0.., p0..], walks j in chunks of TILE staging S = dG + dG^T [i0.., j..]
//                   and F[j.., p0..]. Logical grid (ceil(H*W / TILE), ceil(C / TILE), N).
//   Both grids are folded by foldGrid (engine/kernels/kernel.ts); logical_id recovers
//   (column block, row block, sample).
// 'direct' variant (CPU adapters such as SwiftShader, where workgroup barriers are costly), one
// invocation per 4 x 4 block held in 16 registers, no workgroup memory:
//   gram_direct     a block of G, walking p over 4 rows of F and 4 columns of F^T.
//                   Dispatch sampleGrid(ceil(C / 4)^2, N, WG), block b = (b / ceil(C / 4), b % ...).
//   backward_direct 4 channels x 4 pixels of dF, walking j over C. Dispatch
//                   sampleGrid(ceil(C / 4) * ceil(H*W / 4), N, WG), b = (b / ceil(H*W / 4), b % ...).
//
// F and dF may be channel views: element (c, p) of sample n at <t>_base + n * <t>_stride + c * H*W + p.
// Bindings: 0 params (uniform), 1 f (read), 2 g (read_write; forward), 3 dg (read; backward),
//           4 df (read_write; backward).

struct Params {
  channels: u32,
  hw: u32,
  inv_hw: f32,
  accumulate: u32,
  f_base: u32, f_stride: u32,
  df_base: u32, df_stride: u32,
  grid_x: u32, grid_y: u32, grid_z: u32,
}

override TILE: u32 = 16;
override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> f: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;
@group(0) @binding(3) var<storage, read> dg: array<f32>;
@group(0) @binding(4) var<storage, read_write> df: array<f32>;

// TILE x TILE staging tiles (TILE <= 16). Forward: ta = F[i0 + r, p0 + k], tb = F[j0 + r, p0 + k]
// at r * TILE + k. Backward: ta = S[i0 + r, j0 + k] at r * TILE + k, tb = F[j0 + k, p0 + q] at k * TILE + q.
var<workgroup> ta: array<f32, 256>;
var<workgroup> tb: array<f32, 256>;

fn logical_id(wid: vec3u, nwg: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  return vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
}

fn feature(n: u32, c: u32, p: u32) -> f32 {
  if (c >= params.channels || p >= params.hw) { return 0.0; }
  return f[params.f_base + n * params.f_stride + c * params.hw + p];
}

fn sym(n: u32, i: u32, j: u32) -> f32 {
  let c = params.channels;
  if (i >= c || j >= c) { return 0.0; }
  return dg[(n * c + i) * c + j] + dg[(n * c + j) * c + i];
}

@compute @workgroup_size(TILE, TILE)
fn gram_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let wg = logical_id(wid, nwg);
  if (wg.z >= params.grid_z) { return; }
  let n = wg.z;
  let i = wg.y * TILE + lid.y;
  let j = wg.x * TILE + lid.x;
  var acc = 0.0;
  for (var p0 = 0u; p0 < params.hw; p0 += TILE) {
    ta[lid.y * TILE + lid.x] = feature(n, wg.y * TILE + lid.y, p0 + lid.x);
    tb[lid.y * TILE + lid.x] = feature(n, wg.x * TILE + lid.y, p0 + lid.x);
    workgroupBarrier();
    for (var k = 0u; k < TILE; k++) {
      acc += ta[lid.y * TILE + k] * tb[lid.x * TILE + k];
    }
    workgroupBarrier();
  }
  if (i < params.channels && j < params.channels) {
    g[(n * params.channels + i) * params.channels + j] = acc * params.inv_hw;
  }
}

@compute @workgroup_size(WG)
fn gram_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let blocks = (params.channels + 3u) / 4u;
  let b = gid.x + gid.y * nwg.x * WG;
  if (b >= blocks * blocks) { return; }
  let n = gid.z;
  let i0 = (b / blocks) * 4u;
  let j0 = (b % blocks) * 4u;
  var acc: array<vec4f, 4>;
  for (var p = 0u; p < params.hw; p++) {
    let a = vec4f(feature(n, i0, p), feature(n, i0 + 1u, p), feature(n, i0 + 2u, p), feature(n, i0 + 3u, p));
    let c = vec4f(feature(n, j0, p), feature(n, j0 + 1u, p), feature(n, j0 + 2u, p), feature(n, j0 + 3u, p));
    for (var r = 0u; r < 4u; r++) { acc[r] += a[r] * c; }
  }
  for (var r = 0u; r < 4u; r++) {
    for (var q = 0u; q < 4u; q++) {
      if (i0 + r < params.channels && j0 + q < params.channels) {
        g[(n * params.channels + i0 + r) * params.channels + j0 + q] = acc[r][q] * params.inv_hw;
      }
    }
  }
}

@compute @workgroup_size(TILE, TILE)
fn backward_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let wg = logical_id(wid, nwg);
  if (wg.z >= params.grid_z) { return; }
  let n = wg.z;
  let i = wg.y * TILE + lid.y;
  let p = wg.x * TILE + lid.x;
  var acc = 0.0;
  for (var j0 = 0u; j0 < params.channels; j0 += TILE) {
    ta[lid.y * TILE + lid.x] = sym(n, i, j0 + lid.x);
    tb[lid.y * TILE + lid.x] = feature(n, j0 + lid.y, p);
    workgroupBarrier();
    for (var k = 0u; k < TILE; k++) {
      acc += ta[lid.y * TILE + k] * tb[k * TILE + lid.x];
    }
    workgroupBarrier();
  }
  store(n, i, p, acc);
}

fn store(n: u32, i: u32, p: u32, value: f32) {
  if (i < params.channels && p < params.hw) {
    let at = params.df_base + n * params.df_stride + i * params.hw + p;
    var v = value * params.inv_hw;
    if (params.accumulate != 0u) { v += df[at]; }
    df[at] = v;
  }
}

@compute @workgroup_size(WG)
fn backward_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let pblocks = (params.hw + 3u) / 4u;
  let b = gid.x + gid.y * nwg.x * WG;
  if (b >= pblocks * ((params.channels + 3u) / 4u)) { return; }
  let n = gid.z;
  let i0 = (b / pblocks) * 4u;
  let p0 = (b % pblocks) * 4u;
  var acc: array<vec4f, 4>;
  for (var j = 0u; j < params.channels; j++) {
    let f4 = vec4f(feature(n, j, p0), feature(n, j, p0 + 1u), feature(n, j, p0 + 2u), feature(n, j, p0 + 3u));
    for (var r = 0u; r < 4u; r++) { acc[r] += sym(n, i0 + r, j) * f4; }
  }
  for (var r = 0u; r < 4u; r++) {
    for (var q = 0u; q < 4u; q++) { store(n, i0 + r, p0 + q, acc[r][q]); }
  }
}
