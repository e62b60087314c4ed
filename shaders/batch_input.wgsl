// Batched inputs for attribution methods: n variants of one image x (1, C, H, W) written into
// out (n, C, H, W) by ONE dispatch, with every per-sample parameter in one small storage buffer
// (`table`, uploaded once). out may be a channel view (out_base + k * out_stride + i).
//
//   broadcast   out[k, i] = sx[k] * x[i] + sb[k] * base[i] + sigma[k] * gauss(seed, k, i)
//               table (f32): sx[k], sb[k], sigma[k] at 3k, 3k+1, 3k+2. Integrated gradients
//               (base + a_k (x - base): sx = a_k, sb = 1 - a_k) and SmoothGrad (sx = 1,
//               sigma > 0). gauss: pcg3d(seed, k, i) (Jarzynski & Olano 2020) -> two 24-bit
//               uniforms u1 in (0, 1], u2 in [0, 1) -> Box-Muller sqrt(-2 ln u1) cos(2 pi u2).
//   occlude     out[k, c, y, x] = fill[c] if (y, x) lies in window k, else x[c, y, x]
//               table (u32 words): fill[c] as f32 bits for c < C, then window k as i32
//               (top, left, size) at C + 3k (windows may hang over the border; Zeiler & Fergus).
//   mask_blend  deletion (mode 0):  out[k, c, p] = rank[p] < t[k] ? base[c, p] : x[c, p]
//               insertion (mode 1): out[k, c, p] = rank[p] < t[k] ? x[c, p] : base[c, p]
//               rank (1, 1, H, W) holds f32 ranks, or u32 bit patterns when rank_u32 = 1;
//               table (f32): t[k].
//
// Bindings: 0 params (uniform), 1 x (read), 2 base (read), 3 table (read), 4 out (read_write),
//           5 rank (read). Each entry point binds only what it uses.
// Dispatch: sampleGrid(C*H*W, n, WG): i = gid.x + gid.y * num_workgroups.x * WG, k = gid.z.
// One invocation per output element, no workgroup memory.

struct Params {
  per_sample: u32,   // C * H * W
  hw: u32,           // H * W
  width: u32,
  c: u32,
  seed: u32,
  mode: u32,
  rank_u32: u32,
  x_base: u32,
  base_base: u32,
  rank_base: u32,
  out_base: u32, out_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> base: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> rank: array<u32>;

fn pcg3d(seed: vec3u) -> vec3u {
  var v = seed * 1664525u + 1013904223u;
  v.x += v.y * v.z; v.y += v.z * v.x; v.z += v.x * v.y;
  v ^= v >> vec3u(16u);
  v.x += v.y * v.z; v.y += v.z * v.x; v.z += v.x * v.y;
  return v;
}

fn gauss(k: u32, i: u32) -> f32 {
  let h = pcg3d(vec3u(params.seed, k, i));
  let u1 = (f32(h.x >> 8u) + 1.0) / 16777216.0;
  let u2 = f32(h.y >> 8u) / 16777216.0;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

fn f32_at(word: u32) -> f32 {
  return bitcast<f32>(table[word]);
}

fn element(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn broadcast(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = element(gid, nwg);
  if (i >= params.per_sample) { return; }
  let k = gid.z;
  var v = f32_at(3u * k) * x[params.x_base + i];
  let sb = f32_at(3u * k + 1u);
  if (sb != 0.0) { v += sb * base[params.base_base + i]; }
  let sigma = f32_at(3u * k + 2u);
  if (sigma != 0.0) { v += sigma * gauss(k, i); }
  out[params.out_base + k * params.out_stride + i] = v;
}

@compute @workgroup_size(WG)
fn occlude(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = element(gid, nwg);
  if (i >= params.per_sample) { return; }
  let k = gid.z;
  let c = i / params.hw;
  let p = i % params.hw;
  let row = i32(p / params.width);
  let col = i32(p % params.width);
  let w = params.c + 3u * k;
  let top = bitcast<i32>(table[w]);
  let left = bitcast<i32>(table[w + 1u]);
  let size = bitcast<i32>(table[w + 2u]);
  let inside = row >= top && row < top + size && col >= left && col < left + size;
  var v = x[params.x_base + i];
  if (inside) { v = f32_at(c); }
  out[params.out_base + k * params.out_stride + i] = v;
}

@compute @workgroup_size(WG)
fn mask_blend(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = element(gid, nwg);
  if (i >= params.per_sample) { return; }
  let k = gid.z;
  let p = i % params.hw;
  let word = rank[params.rank_base + p];
  var r = bitcast<f32>(word);
  if (params.rank_u32 == 1u) { r = f32(word); }
  let masked = r < f32_at(k);
  let from_base = masked == (params.mode == 0u);
  var v = x[params.x_base + i];
  if (from_base) { v = base[params.base_base + i]; }
  out[params.out_base + k * params.out_stride + i] = v;
}
