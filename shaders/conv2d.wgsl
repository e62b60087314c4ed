// Conv2d forward:
//   y[n, co, oy, ox] = b[co] + sum_{c < Cin/G, ky, kx} w[co, c, ky, kx] * x[n, g*Cin/G + c, oy*sh - pt + ky, ox*sw - pl + kx]
// with g = co / (Cout/G) the group of co, taps outside the input reading 0, and, when
// params.relu = 1, y = max(y, 0) fused in. x (N, Cin, H, W), y (N, Cout, OH, OW) may be channel
// views (<t>_base + n * <t>_stride); w (Cout, Cin/G, KH, KW) and b (Cout) sit at w_base / b_base
// of their buffers (the weight arena). Without a bias, b is bound to any buffer and has_bias = 0.
//
// Bindings: 0 params (uniform), 1 x (read), 2 wt (read), 3 b (read), 4 y (read_write).
//
// Three entry points, all with N folded into gid.z and gid.y = group * c_blocks + channel block:
//  conv2d_direct  (CPU adapters): one invocation owns 4 output channels x 4 output columns of one
//                 output row, accumulating in four vec4 registers (one per column, lanes = channels).
//                 Each weight tap is read once per block, each input value once per block column;
//                 loops run over (ky, kx) outside and input channels inside, so the bounds checks
//                 and offsets of a tap are computed once. No workgroup memory, no barriers. gid.x = oy * x_blocks + column block.
//                 Dispatch (ceil(OH * x_blocks / WG), G * ceil(Cout/G / 4), N).
//  conv2d_1x1     (CPU adapters, 1x1 kernel, stride 1, no padding): a plain matrix product
//                 y[co, p] = sum_c w[co, c] x[c, p] over the H*W pixels; one invocation owns 4
//                 channels x 4 consecutive pixels. gid.x = pixel block, x_blocks = ceil(OH*OW / 4).
//  conv2d_tiled   (GPUs): implicit GEMM, M = Cout/G channels, N = OH*OW pixels, K = Cin/G*KH*KW.
//                 A 16x16 workgroup computes a 64 x 64 (channel x pixel) tile; each K step stages
//                 a 64 x BK weight tile and a BK x 64 im2col tile in workgroup memory, then each
//                 thread accumulates a 4 x 4 register block (channels ty + 16i, pixels tx + 16j, so
//                 neighbouring threads touch neighbouring pixels). x_blocks = ceil(OH*OW / 64),
//                 c_blocks = ceil(Cout/G / 64); dispatch (x_blocks, G * c_blocks, N).

struct Params {
  cin: u32, h: u32, w: u32,
  cout: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, pt: u32, pl: u32,
  cin_g: u32, cout_g: u32,
  x_blocks: u32, c_blocks: u32,
  has_bias: u32, relu: u32,
  x_base: u32, x_stride: u32,
  y_base: u32, y_stride: u32,
  w_base: u32, b_base: u32,
}

override WG: u32 = 64;
/** K step of conv2d_tiled. */
override BK: u32 = 16;
const CB = 4u;     // direct / 1x1: output channels per invocation (the lanes of a vec4)
const XB = 4u;     // direct / 1x1: output columns (pixels) per invocation
const TILE = 64u;  // tiled: channels and pixels per workgroup tile

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

/** Weight-row offsets of the four channels of a block (tails clamped to the group's last channel). */
fn weight_rows(grp: u32, cl0: u32, ksize: u32) -> vec4u {
  let last = params.cout_g - 1u;
  let first = params.w_base + grp * params.cout_g * ksize;
  return first + min(vec4u(cl0) + vec4u(0u, 1u, 2u, 3u), vec4u(last)) * ksize;
}

/** Write one column of a block: bias, optional ReLU, skip channels past the group's end. */
fn store_column(acc: vec4f, n: u32, grp: u32, cl0: u32, pixel: u32) {
  let plane = params.oh * params.ow;
  for (var i = 0u; i < CB; i++) {
    if (cl0 + i >= params.cout_g) { return; }
    let co = grp * params.cout_g + cl0 + i;
    var v = acc[i];
    if (params.has_bias != 0u) { v += b[params.b_base + co]; }
    if (params.relu != 0u) { v = max(v, 0.0); }
    y[params.y_base + n * params.y_stride + co * plane + pixel] = v;
  }
}

@compute @workgroup_size(WG)
fn conv2d_direct(@builtin(global_invocation_id) gid: vec3u) {
  let oy = gid.x / params.x_blocks;
  if (oy >= params.oh) { return; }
  let ox0 = (gid.x % params.x_blocks) * XB;
  let grp = gid.y / params.c_blocks;
  let cl0 = (gid.y % params.c_blocks) * CB;
  let n = gid.z;
  let kk = params.kh * params.kw;
  let rows = weight_rows(grp, cl0, params.cin_g * kk);
  let wi = i32(params.w);
  let iy0 = i32(oy * params.sh) - i32(params.pt);
  let ix0 = i32(ox0 * params.sw) - i32(params.pl);
  let sw = i32(params.sw);
  let plane = params.h * params.w;
  let xs = params.x_base + n * params.x_stride + grp * params.cin_g * plane;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  // Taps outermost (their bounds checks and offsets are computed once), input channels innermost.
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = iy0 + i32(ky);
    if (iy < 0 || iy >= i32(params.h)) { continue; }
    let xr = xs + u32(iy) * params.w;
    for (var kx = 0u; kx < params.kw; kx++) {
      let ix = vec4i(ix0 + i32(kx)) + vec4i(0, 1, 2, 3) * sw;
      let inside = (ix >= vec4i(0)) & (ix < vec4i(wi));
      let at = vec4u(clamp(ix, vec4i(0), vec4i(wi - 1))) + xr;
      let tap = ky * params.kw + kx;
      for (var c = 0u; c < params.cin_g; c++) {
        let k = tap + c * kk;
        let wv = vec4f(wt[rows.x + k], wt[rows.y + k], wt[rows.z + k], wt[rows.w + k]);
        let o = c * plane;
        let xv = select(vec4f(0.0), vec4f(x[at.x + o], x[at.y + o], x[at.z + o], x[at.w + o]), inside);
        a0 += wv * xv.x;
        a1 += wv * xv.y;
        a2 += wv * xv.z;
        a3 += wv * xv.w;
      }
    }
  }
  let row = oy * params.ow;
  store_column(a0, n, grp, cl0, row + ox0);
  if (ox0 + 1u < params.ow) { store_column(a1, n, grp, cl0, row + ox0 + 1u); }
  if (ox0 + 2u < params.ow) { store_column(a2, n, grp, cl0, row + ox0 + 2u); }
  if (ox0 + 3u < params.ow) { store_column(a3, n, grp, cl0, row + ox0 + 3u); }
}

@compute @workgroup_size(WG)
fn conv2d_1x1(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.x_blocks) { return; }
  let plane = params.h * params.w;
  let p0 = gid.x * XB;
  let grp = gid.y / params.c_blocks;
  let cl0 = (gid.y % params.c_blocks) * CB;
  let n = gid.z;
  let rows = weight_rows(grp, cl0, params.cin_g);
  let xs = params.x_base + n * params.x_stride + grp * params.cin_g * plane;
  let at = min(vec4u(p0) + vec4u(0u, 1u, 2u, 3u), vec4u(plane - 1u)) + xs;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var c = 0u; c < params.cin_g; c++) {
    let wv = vec4f(wt[rows.x + c], wt[rows.y + c], wt[rows.z + c], wt[rows.w + c]);
    let o = c * plane;
    a0 += wv * x[at.x + o];
    a1 += wv * x[at.y + o];
    a2 += wv * x[at.z + o];
    a3 += wv * x[at.w + o];
  }
  store_column(a0, n, grp, cl0, p0);
  if (p0 + 1u < plane) { store_column(a1, n, grp, cl0, p0 + 1u); }
  if (p0 + 2u < plane) { store_column(a2, n, grp, cl0, p0 + 2u); }
  if (p0 + 3u < plane) { store_column(a3, n, grp, cl0, p0 + 3u); }
}

var<workgroup> tile_w: array<f32, TILE * BK>;  // [kk][channel]
var<workgroup> tile_x: array<f32, TILE * BK>;  // [kk][pixel]

@compute @workgroup_size(16, 16)
fn conv2d_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let grp = wid.y / params.c_blocks;
  let c_tile = (wid.y % params.c_blocks) * TILE;
  let p_tile = wid.x * TILE;
  let n = wid.z;
  let kk = params.kh * params.kw;
  let ksize = params.cin_g * kk;
  let npix = params.oh * params.ow;
  let plane = params.h * params.w;
  let wrow0 = params.w_base + grp * params.cout_g * ksize;
  let xs = params.x_base + n * params.x_stride + grp * params.cin_g * plane;
  var acc: array<vec4f, 4>;  // acc[j][i]: channel ty + 16i, pixel tx + 16j
  for (var k0 = 0u; k0 < ksize; k0 += BK) {
    for (var e = li; e < TILE * BK; e += 256u) {
      // Weights: consecutive threads read consecutive k of one channel row.
      let m = e / BK;
      let wk = k0 + e % BK;
      let cl = c_tile + m;
      var wv = 0.0;
      if (cl < params.cout_g && wk < ksize) { wv = wt[wrow0 + cl * ksize + wk]; }
      tile_w[(e % BK) * TILE + m] = wv;
      // im2col: consecutive threads read consecutive output pixels.
      let p = p_tile + e % TILE;
      let xk = k0 + e / TILE;
      var xv = 0.0;
      if (p < npix && xk < ksize) {
        let c = xk / kk;
        let ky = (xk % kk) / params.kw;
        let kx = xk % params.kw;
        let iy = i32((p / params.ow) * params.sh + ky) - i32(params.pt);
        let ix = i32((p % params.ow) * params.sw + kx) - i32(params.pl);
        if (iy >= 0 && iy < i32(params.h) && ix >= 0 && ix < i32(params.w)) {
          xv = x[xs + c * plane + u32(iy) * params.w + u32(ix)];
        }
      }
      tile_x[e] = xv;
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let r = k * TILE;
      let av = vec4f(tile_w[r + lid.y], tile_w[r + lid.y + 16u], tile_w[r + lid.y + 32u], tile_w[r + lid.y + 48u]);
      acc[0] += av * tile_x[r + lid.x];
      acc[1] += av * tile_x[r + lid.x + 16u];
      acc[2] += av * tile_x[r + lid.x + 32u];
      acc[3] += av * tile_x[r + lid.x + 48u];
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < 4u; j++) {
    let p = p_tile + lid.x + 16u * j;
    if (p >= npix) { continue; }
    for (var i = 0u; i < 4u; i++) {
      let cl = c_tile + lid.y + 16u * i;
      if (cl >= params.cout_g) { continue; }
      let co = grp * params.cout_g + cl;
      var v = acc[j][i];
      if (params.has_bias != 0u) { v += b[params.b_base + co]; }
      if (params.relu != 0u) { v = max(v, 0.0); }
      y[params.y_base + n * params.y_stride + co * npix + p] = v;
    }
  }
}
