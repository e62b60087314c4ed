// The fused regularizer of class visualization (Simonyan et al. 2014; Yosinski et al. 2015), in
// place on an image x (N, C, H, W), C <= 4, given its gradient g (same shape):
//
//   1. L2 decay          x *= (1 - decay)
//   2. Gaussian blur     x = blur_sigma(x)         (separable, clamp-to-edge; only on blur steps)
//   3. norm clipping     x[p] = 0 where ||x[:, p]||_2 < T_norm       (pixel norm over channels)
//   4. contribution clip x[p] = 0 where |sum_c x[c, p] g[c, p]| < T_contrib
//   5. range clip        x[c, p] = clamp(x[c, p], lo[c], hi[c])
//
// T_norm and T_contrib are per-sample percentiles of the norms / contributions, computed on the GPU
// between passes (engine/ops/reduce.ts percentile) and read here from `thr` (no read-back):
// thr[n * thr_stride + 0] = T_norm, thr[n * thr_stride + 1] = T_contrib.
// The horizontal blur axis is the shared gaussian_blur kernel (x -> tmp); the passes here are:
//
//   cols_norm     per pixel: the vertical blur axis of tmp (or x itself with radius 0 when this is
//                 no blur step), times the decay factor `scale`, written to x; writes the pixel's
//                 channel norm to stats[n, 0, p].                                   (steps 1-2, 3a)
//                 Without norm clipping it also writes the contribution (step 4a: contribution
//                 is then skipped), and without either clip it range-clips too (step 5: no
//                 apply pass), so every setting runs the fewest passes its data dependencies allow.
//   contribution  per pixel: stats[n, 1, p] = |sum_c x g| where the pixel survives the norm clip,
//                 else 0 (so the contribution percentile sees the norm-clipped image).   (step 4a)
//   apply         per pixel: zero the pixel unless it survives both clips, then clamp each
//                 channel to [lo[c], hi[c]].                                      (steps 3b-5)
//
// x and g may be channel views: element (c, p) of sample n at <t>_base + n * <t>_stride + c*H*W + p.
// stats is (N, 2, H, W) dense, thr (N, 2, 1, 1) (any stride).
// Bindings: 0 params (uniform), 1 tmp (read), 2 x (read_write), 3 stats (read_write),
//           4 g (read), 5 thr (read). Each entry point binds only what it uses.
// Dispatch: sampleGrid(H*W, N, WG): pixel p = gid.x + gid.y * num_workgroups.x * WG, n = gid.z.
// One invocation per pixel, looping over the C channels; no workgroup memory.

struct Params {
  hw: u32, width: u32, height: u32, channels: u32,
  radius: u32,
  inv_two_sigma2: f32,
  scale: f32,            // 1 - decay
  from_tmp: u32,         // cols_norm reads tmp (blur step) or x (radius 0)
  use_norm: u32, use_contrib: u32, use_range: u32,
  fold: u32,             // cols_norm: 1 writes contributions, 2 range-clips (see above)
  x_base: u32, x_stride: u32,
  tmp_base: u32, tmp_stride: u32,
  g_base: u32, g_stride: u32,
  thr_base: u32, thr_stride: u32,
  lo: vec4f,
  hi: vec4f,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tmp: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> thr: array<f32>;

fn pixel(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn x_at(n: u32, c: u32, p: u32) -> u32 {
  return params.x_base + n * params.x_stride + c * params.hw + p;
}

fn g_at(n: u32, c: u32, p: u32) -> f32 {
  return g[params.g_base + n * params.g_stride + c * params.hw + p];
}

fn src(n: u32, c: u32, p: u32) -> f32 {
  if (params.from_tmp != 0u) { return tmp[params.tmp_base + n * params.tmp_stride + c * params.hw + p]; }
  return x[x_at(n, c, p)];
}

fn survives_norm(n: u32, p: u32) -> bool {
  return params.use_norm == 0u || stats[n * 2u * params.hw + p] >= thr[params.thr_base + n * params.thr_stride];
}

@compute @workgroup_size(WG)
fn cols_norm(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = pixel(gid, nwg);
  if (p >= params.hw) { return; }
  let n = gid.z;
  let h = i32(p / params.width);
  let w = p % params.width;
  let r = i32(params.radius);
  var sq = 0.0;
  var dot = 0.0;
  for (var c = 0u; c < params.channels; c++) {
    var acc = 0.0;
    var norm = 0.0;
    for (var k = -r; k <= r; k++) {
      let hh = u32(clamp(h + k, 0, i32(params.height) - 1));
      let gk = exp(-f32(k * k) * params.inv_two_sigma2);
      acc += gk * src(n, c, hh * params.width + w);
      norm += gk;
    }
    var v = params.scale * (acc / norm);
    sq += v * v;
    if (params.fold == 1u) { dot += v * g_at(n, c, p); }
    if (params.fold == 2u && params.use_range != 0u) { v = clamp(v, params.lo[c], params.hi[c]); }
    x[x_at(n, c, p)] = v;
  }
  stats[n * 2u * params.hw + p] = sqrt(sq);
  if (params.fold == 1u) { stats[(n * 2u + 1u) * params.hw + p] = abs(dot); }
}

@compute @workgroup_size(WG)
fn contribution(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = pixel(gid, nwg);
  if (p >= params.hw) { return; }
  let n = gid.z;
  var dot = 0.0;
  for (var c = 0u; c < params.channels; c++) {
    dot += x[x_at(n, c, p)] * g_at(n, c, p);
  }
  stats[(n * 2u + 1u) * params.hw + p] = select(0.0, abs(dot), survives_norm(n, p));
}

@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = pixel(gid, nwg);
  if (p >= params.hw) { return; }
  let n = gid.z;
  let keep = survives_norm(n, p) && (params.use_contrib == 0u
    || stats[(n * 2u + 1u) * params.hw + p] >= thr[params.thr_base + n * params.thr_stride + 1u]);
  for (var c = 0u; c < params.channels; c++) {
    let at = x_at(n, c, p);
    var v = select(0.0, x[at], keep);
    if (params.use_range != 0u) { v = clamp(v, params.lo[c], params.hi[c]); }
    x[at] = v;
  }
}
