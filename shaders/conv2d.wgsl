// Conv2d forward:
//   y[n, co, oy, ox] = b[co] + sum_{c < Cin/G, ky, kx} w[co, c, ky, kx] * x[n, g*Cin/G + c, oy*sh - pt + ky, ox*sw - pl + kx]
// with g = co / (Cout/G) the group of co, taps outside the input reading 0, and, when
// params.relu = 1, y = max(y, 0) fused in. x (N, Cin, H, W), y (N, Cout, OH, OW) may be channel
// views (<t>_base + n * <t>_stride); w (Cout, Cin/G, KH, KW) and b (Cout) sit at w_base / b_base
// of their buffers (the weight arena). Without a bias, b is bound to any buffer and has_bias = 0.
//
// Entry points; the first three fold N into gid.z and put group * c_blocks + channel block in gid.y:
//  conv2d_direct  (CPU adapters): one invocation owns 4 output channels x 4 output columns of one
//                 output row, accumulating in four vec4 registers (one per column, lanes = channels).
//                 Each weight tap is read once per block, each input value once per block column;
//                 loops run over (ky, kx) outside and input channels inside, so the bounds checks
//                 and offsets of a tap are computed once. No workgroup memory, no barriers. gid.x = oy * x_blocks + column block.
//                 Dispatch (ceil(OH * x_blocks / WG), G * ceil(Cout/G / 4), N).
//  conv2d_1x1     (CPU adapters, 1x1 kernel, stride 1, no padding): a plain matrix product
//                 y[co, p] = sum_c w[co, c] x[c, p] over the H*W pixels; one invocation owns 4
//                 channels x 4 consecutive pixels. gid.x = pixel block, x_blocks = ceil(OH*OW / 4).
//  conv2d_tiled   (GPUs): implicit GEMM, M = Cout/G channels, N = OH*OW pixels, K = Cin/G*KH*KW
//                 with k = (c * KH + ky) * KW + kx. A workgroup of (TN/4, TM/4) threads computes a
//                 TM x TN (channel x pixel) tile, TM, TN in {32, 64} (overrides, chosen per layer by
//                 engine/kernels/conv2d.ts so small layers still fill the GPU); thread (tx, ty)
//                 owns the 4 x 4 register block of channels 4ty..4ty+3 and pixels 4tx..4tx+3.
//                 Each BK step stages a BK x TM weight tile and a BK x TN im2col tile in workgroup
//                 memory as vec4s (4 channels / 4 pixels), so the inner loop is 2 vec4 loads per 16
//                 FMAs; the weight tile's rows are padded by one vec4 against bank conflicts. The
//                 im2col indexing does no division in the K loop: each thread stages the same 4
//                 pixels every step (their input row/column origins computed once) and carries
//                 the (c, ky, kx) of its rows from step to step with carries instead of k / (KH*KW).
//                 Split-K: gid.z = n * splits + s, and split s sums k in [s * k_chunk, (s + 1) *
//                 k_chunk) (k_chunk a multiple of BK). With splits = 1 the tile is written to y with
//                 bias and ReLU; with splits > 1, y is bound to a dense scratch buffer (S, N, Cout,
//                 OH*OW) (y_base 0, y_stride Cout*OH*OW, split s at s * split_stride, no bias or ReLU)
//                 and conv2d_split_sum finishes. x_blocks = ceil(OH*OW / TN), c_blocks =
//                 ceil(Cout/G / TM); dispatch (x_blocks, G * c_blocks, N * splits).
//  conv2d_split_sum: y[n, co, p] = b[co] + sum_{s < splits} part[s * split_stride + (n * Cout + co) * OH*OW + p]
//                 (+ ReLU), summed in a fixed order (deterministic, no atomics). One invocation
//                 per element of a sample; dispatch sampleGrid(Cout*OH*OW, N, WG) (kernel.ts).
//
// Bindings: 0 params (uniform), 1 x (read), 2 wt (read), 3 b (read), 4 y (read_write),
// 5 part (read, conv2d_split_sum only).

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
  splits: u32, k_chunk: u32, split_stride: u32,
}

override WG: u32 = 64;
/** conv2d_tiled: K step, channels (TM) and pixels (TN) per workgroup tile; 4 * BK must be a multiple of TM and TN. */
override BK: u32 = 16;
override TM: u32 = 64;
override TN: u32 = 64;
/** Threads of a tiled workgroup along pixels and channels: one per 4 x 4 register block. */
override TX: u32 = TN / 4u;
override TY: u32 = TM / 4u;
const CB = 4u;     // direct / 1x1: output channels per invocation (the lanes of a vec4)
const XB = 4u;     // direct / 1x1: output columns (pixels) per invocation

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

@group(0) @binding(5) var<storage, read> part: array<f32>;

/** (c, ky, kx) of the flattened filter index k = (c * KH + ky) * KW + kx. */
fn split_k(k: u32) -> vec3u {
  let kk = params.kh * params.kw;
  let r = k % kk;
  return vec3u(k / kk, r / params.kw, r % params.kw);
}

/** (c, ky, kx) of k + delta, given t = split_k(k) and d = split_k(delta): adds with carries. */
fn step_k(t: vec3u, d: vec3u) -> vec3u {
  var kx = t.z + d.z;
  var ky = t.y + d.y;
  var c = t.x + d.x;
  if (kx >= params.kw) { kx -= params.kw; ky += 1u; }
  if (ky >= params.kh) { ky -= params.kh; c += 1u; }
  return vec3u(c, ky, kx);
}

var<workgroup> tile_w: array<vec4f, BK * (TM / 4u + 1u)>;  // [k][channel quad], rows padded by one
var<workgroup> tile_x: array<vec4f, BK * TN / 4u>;         // [k][pixel quad]

@compute @workgroup_size(TX, TY)
fn conv2d_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let threads = TX * TY;
  let grp = wid.y / params.c_blocks;
  let c_tile = (wid.y % params.c_blocks) * TM;
  let p_tile = wid.x * TN;
  let n = wid.z / params.splits;
  let split = wid.z % params.splits;
  let kk = params.kh * params.kw;
  let ksize = params.cin_g * kk;
  let k_begin = split * params.k_chunk;
  let k_end = min(k_begin + params.k_chunk, ksize);
  let npix = params.oh * params.ow;
  let plane = params.h * params.w;
  let wrow0 = params.w_base + grp * params.cout_g * ksize;
  let xs = params.x_base + n * params.x_stride + grp * params.cin_g * plane;

  // Weight staging: vec4 slots li + threads * r hold channels 4 * cq.. of column wk (threads is a
  // multiple of BK, so wk is this thread's for good); consecutive threads read consecutive k.
  let wk = li % BK;
  let w_slots = 4u * BK / TN;
  // im2col staging: pixels 4q..4q+3 of the tile in rows kr..kr+rows-1 of every step. Their input
  // origins are fixed; pixels past the end start at row H, so every tap reads 0.
  let rows = 4u * BK / TM;
  let q = li % TX;
  let kr = (li / TX) * rows;
  let p = vec4u(p_tile + 4u * q) + vec4u(0u, 1u, 2u, 3u);
  let iy0 = select(vec4i(i32(params.h)), vec4i((p / params.ow) * params.sh) - i32(params.pt), p < vec4u(npix));
  let ix0 = vec4i((p % params.ow) * params.sw) - i32(params.pl);
  let hi = vec4i(i32(params.h));
  let wi = vec4i(i32(params.w));
  let one = split_k(1u);
  let step = split_k(BK);
  var tap = split_k(k_begin + kr);

  var acc: array<vec4f, 4>;  // acc[j][i]: channel 4ty + i, pixel 4tx + j
  for (var k0 = k_begin; k0 < k_end; k0 += BK) {
    let k = k0 + wk;
    for (var r = 0u; r < w_slots; r++) {
      let cq = (li + threads * r) / BK;
      let cl = vec4u(c_tile + 4u * cq) + vec4u(0u, 1u, 2u, 3u);
      let ok = (cl < vec4u(params.cout_g)) & vec4<bool>(k < k_end);
      let at = select(vec4u(0u), wrow0 + cl * ksize + k, ok);
      tile_w[wk * (TM / 4u + 1u) + cq] = select(vec4f(0.0), vec4f(wt[at.x], wt[at.y], wt[at.z], wt[at.w]), ok);
    }
    var t = tap;
    for (var r = 0u; r < rows; r++) {
      let iy = iy0 + i32(t.y);
      let ix = ix0 + i32(t.z);
      let ok = (iy >= vec4i(0)) & (iy < hi) & (ix >= vec4i(0)) & (ix < wi) & vec4<bool>(k0 + kr + r < k_end);
      let at = select(vec4u(0u), vec4u(iy * wi + ix) + xs + t.x * plane, ok);
      tile_x[(kr + r) * (TN / 4u) + q] = select(vec4f(0.0), vec4f(x[at.x], x[at.y], x[at.z], x[at.w]), ok);
      t = step_k(t, one);
    }
    tap = step_k(tap, step);
    workgroupBarrier();
    for (var kb = 0u; kb < BK; kb++) {
      let a = tile_w[kb * (TM / 4u + 1u) + lid.y];
      let v = tile_x[kb * (TN / 4u) + lid.x];
      acc[0] += a * v.x;
      acc[1] += a * v.y;
      acc[2] += a * v.z;
      acc[3] += a * v.w;
    }
    workgroupBarrier();
  }
  let ys = params.y_base + n * params.y_stride + split * params.split_stride;
  for (var j = 0u; j < 4u; j++) {
    let pj = p_tile + 4u * lid.x + j;
    if (pj >= npix) { break; }
    for (var i = 0u; i < 4u; i++) {
      let cl = c_tile + 4u * lid.y + i;
      if (cl >= params.cout_g) { break; }
      let co = grp * params.cout_g + cl;
      var v = acc[j][i];
      if (params.has_bias != 0u) { v += b[params.b_base + co]; }
      if (params.relu != 0u) { v = max(v, 0.0); }
      y[ys + co * npix + pj] = v;
    }
  }
}

@compute @workgroup_size(WG)
fn conv2d_split_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let npix = params.oh * params.ow;
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.cout * npix) { return; }
  let n = gid.z;
  let at = (n * params.cout) * npix + i;
  var v = 0.0;
  for (var s = 0u; s < params.splits; s++) { v += part[s * params.split_stride + at]; }
  if (params.has_bias != 0u) { v += b[params.b_base + i / npix]; }
  if (params.relu != 0u) { v = max(v, 0.0); }
  y[params.y_base + n * params.y_stride + i] = v;
}
