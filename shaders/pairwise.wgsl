// Pairwise distances between the rows of two matrices (nearest neighbours, t-SNE affinities):
//
//   a (Na, C, H, W) and b (Nb, C, H, W) read as Na and Nb rows of D = C*H*W values
//   metric 0 'l2':          out[i, j] = sqrt(sum_p (a[i, p] - b[j, p])^2)
//   metric 1 'sqeuclidean': out[i, j] = sum_p (a[i, p] - b[j, p])^2
//   metric 2 'cosine':      out[i, j] = 1 - sum_p a[i, p] b[j, p] / (|a_i| |b_j|)   (1 when a norm is 0)
//
// The squared distance is summed DIRECTLY (no ||a||^2 + ||b||^2 - 2 a.b expansion), so it never
// cancels to a small negative number and the nearest distances keep their relative precision, which
// the top-k selection after it needs. out is (Na, Nb, 1, 1): row i holds the distances of a_i.
//
// Tiling ('tiled', GPUs): each workgroup of TILE x TILE invocations owns a TILE x TILE block of out
// (rows i0.., columns j0..) and walks p in chunks of TILE, staging a[i0.., p..] and b[j0.., p..] in
// workgroup memory; every invocation accumulates its entry in registers, p in order (deterministic).
// Dispatch: the logical grid (ceil(Nb / TILE), ceil(Na / TILE), 1) folded by foldGrid
// (engine/kernels/kernel.ts); logical_id recovers (column block, row block, 0).
//
// 'direct' (CPU adapters such as SwiftShader, where workgroup barriers are costly): one invocation
// per 4 x 4 block of out, 16 accumulators (plus 4 + 4 norms for cosine) in registers, no workgroup
// memory. Dispatch sampleGrid(ceil(Na / 4) * ceil(Nb / 4), 1, WG); block q = (row block q / ceil(Nb / 4),
// column block q % ceil(Nb / 4)); i = gid.x + gid.y * nwg.x * WG.
//
// a and b may be views: element p of row i at a_base + i * a_stride + p (likewise b, out).
// Bindings: 0 params (uniform), 1 a (read), 2 b (read), 3 out (read_write).

struct Params {
  na: u32,
  nb: u32,
  dim: u32,
  metric: u32,
  a_base: u32, a_stride: u32,
  b_base: u32, b_stride: u32,
  out_base: u32, out_stride: u32,
  grid_x: u32, grid_y: u32, grid_z: u32,
}

override TILE: u32 = 16;
override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> rows: array<f32, 256>;   // TILE x TILE: a[i0 + r, p0 + k] at r * TILE + k
var<workgroup> cols: array<f32, 256>;   // TILE x TILE: b[j0 + r, p0 + k] at r * TILE + k

fn logical_id(wid: vec3u, nwg: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  return vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
}

fn a_at(i: u32, p: u32) -> f32 {
  if (i >= params.na || p >= params.dim) { return 0.0; }
  return a[params.a_base + i * params.a_stride + p];
}

fn b_at(j: u32, p: u32) -> f32 {
  if (j >= params.nb || p >= params.dim) { return 0.0; }
  return b[params.b_base + j * params.b_stride + p];
}

/** The distance from the accumulated sum (squared difference, or the dot product) and the squared norms. */
fn finish(acc: f32, na2: f32, nb2: f32) -> f32 {
  if (params.metric == 0u) { return sqrt(max(acc, 0.0)); }
  if (params.metric == 1u) { return acc; }
  let norms = sqrt(na2) * sqrt(nb2);
  if (norms == 0.0) { return 1.0; }
  return 1.0 - acc / norms;
}

fn store(i: u32, j: u32, v: f32) {
  if (i < params.na && j < params.nb) { out[params.out_base + i * params.out_stride + j] = v; }
}

@compute @workgroup_size(TILE, TILE)
fn pairwise_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let wg = logical_id(wid, nwg);
  if (wg.z >= params.grid_z) { return; }
  let cosine = params.metric == 2u;
  var acc = 0.0;
  var na2 = 0.0;
  var nb2 = 0.0;
  for (var p0 = 0u; p0 < params.dim; p0 += TILE) {
    rows[lid.y * TILE + lid.x] = a_at(wg.y * TILE + lid.y, p0 + lid.x);
    cols[lid.y * TILE + lid.x] = b_at(wg.x * TILE + lid.y, p0 + lid.x);
    workgroupBarrier();
    for (var k = 0u; k < TILE; k++) {
      let u = rows[lid.y * TILE + k];
      let v = cols[lid.x * TILE + k];
      if (cosine) {
        acc += u * v;
        na2 += u * u;
        nb2 += v * v;
      } else {
        acc += (u - v) * (u - v);
      }
    }
    workgroupBarrier();
  }
  store(wg.y * TILE + lid.y, wg.x * TILE + lid.x, finish(acc, na2, nb2));
}

@compute @workgroup_size(WG)
fn pairwise_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let bb = (params.nb + 3u) / 4u;
  let q = gid.x + gid.y * nwg.x * WG;
  if (q >= ((params.na + 3u) / 4u) * bb) { return; }
  let i0 = (q / bb) * 4u;
  let j0 = (q % bb) * 4u;
  let cosine = params.metric == 2u;
  var acc: array<vec4f, 4>;
  var na2 = vec4f(0.0);
  var nb2 = vec4f(0.0);
  for (var p = 0u; p < params.dim; p++) {
    let u = vec4f(a_at(i0, p), a_at(i0 + 1u, p), a_at(i0 + 2u, p), a_at(i0 + 3u, p));
    let v = vec4f(b_at(j0, p), b_at(j0 + 1u, p), b_at(j0 + 2u, p), b_at(j0 + 3u, p));
    if (cosine) {
      for (var r = 0u; r < 4u; r++) { acc[r] += u[r] * v; }
      na2 += u * u;
      nb2 += v * v;
    } else {
      for (var r = 0u; r < 4u; r++) {
        let d = u[r] - v;
        acc[r] += d * d;
      }
    }
  }
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      store(i0 + r, j0 + c, finish(acc[r][c], na2[r], nb2[c]));
    }
  }
}
