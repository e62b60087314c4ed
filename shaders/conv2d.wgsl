// Conv2d forward:
//   y[n, co, oy, ox] = b[co] + sum_{c < Cin/G, ky, kx} w[co, c, ky, kx] * x[n, g*Cin/G + c, oy*sh - pt + ky, ox*sw - pl + kx]
// with g = co / (Cout/G) the group of co, taps outside the input reading 0, and, when
// params.relu = 1, y = max(y, 0) fused in. x (N, Cin, H, W), y (N, Cout, OH, OW) may be channel
// views (<t>_base + n * <t>_stride); w (Cout, Cin/G, KH, KW) and b (Cout) sit at w_base / b_base
// of their buffers (the weight arena). Without a bias, b is bound to any buffer and has_bias = 0.
//
// The direct entry points read w through strides, so that the stride-1 backward to the input can
// run on them too (engine/kernels/conv2d.ts): w[co, c, tap] sits at w_base + g * w_group +
// (co mod Cout/G) * w_row + c * w_chan + t, with t = ky * KW + kx, or KH*KW - 1 - (ky * KW + kx) when
// flip = 1 (the backward's flipped kernel). The forward has w_row = Cin/G*KH*KW, w_chan = KH*KW.
// pt and pl are signed: the backward's K - 1 - pad may be negative.
//
// Entry points; the first three fold N into gid.z and put group * c_blocks + channel block in gid.y:
//  conv2d_direct  (CPU adapters): one invocation owns a 16 x 8 block, 16 output channels x 8
//                 output columns of one output row, as eight mat4x4f accumulators (4 channels x 4
//                 columns each; each input channel adds the outer products of 4 vec4 weight quads
//                 and 2 vec4 input quads: 24 loads per 128 FMAs). Loops run over (ky, kx) outside,
//                 so a tap's bounds checks and offsets are computed once, and input channels
//                 inside, two per iteration: on SwiftShader (SIMD lanes on the CPU) every loop
//                 iteration pays for each loop-carried value, so the block is large and the loop
//                 short. No workgroup memory, no barriers. gid.x = oy * x_blocks + column block,
//                 x_blocks = ceil(OW / 8). Dispatch (ceil(OH * x_blocks / WG), G * ceil(Cout/G / 16), N).
//  conv2d_1x1     (CPU adapters, 1x1 kernel, stride 1, no padding): a plain matrix product
//                 y[co, p] = sum_c w[co, c] x[c, p] over the H*W pixels, with the same 16 x 8
//                 blocks (8 consecutive pixels). gid.x = pixel block, x_blocks = ceil(OH*OW / 8).
//                 On devices with 'subgroups' of at least 4 lanes (SwiftShader) the direct path runs
//                 conv2d_direct_subgroup.wgsl instead: the same blocks with each weight loaded by one
//                 lane of four and broadcast (4 weight loads per input channel and tap, not 16), and
//                 for 3-wide kernels at stride 1 each row's 10 input columns loaded once for the 3
//                 taps; these two entry points remain the path for devices without subgroups.
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
//                 Multi-conv: one launch runs up to 4 convs ("parts") of the same x that share the
//                 stride, the groups and OH x OW (SqueezeNet's expand1x1 + expand3x3, GoogLeNet's
//                 1x1 branches). Lane p of the part_* vectors describes part p: its Cout/G
//                 (part_cout; 0 = no such part), kernel and top/left padding (part_kernel, a byte
//                 each), bias / ReLU flags and output slot (part_flags: y, y1, y2 or y3; parts
//                 writing one buffer share a slot), weight, bias and output bases and the output's
//                 sample stride. gid.y % c_blocks walks the parts' channel blocks one part after
//                 another (c_blocks = the sum of ceil(part_cout / TM)); a single conv is one part.
//                 Split-K: gid.z = n * splits + s, and split s sums k in [s * k_chunk, (s + 1) *
//                 k_chunk), with each part's k_chunk = ceil(ceil(K / splits) / BK) * BK from its
//                 own K (every part runs the same split count; a shallow part's last chunks may
//                 be empty and write zeros). With splits = 1 the tile is written to the part's
//                 output with bias and ReLU; with splits > 1, every part writes slot y bound to a
//                 dense scratch buffer (S, N, sum of the parts' Cout, OH*OW) (part p's channels
//                 after those of parts < p, split s at s * split_stride, no bias or ReLU) and
//                 conv2d_split_sum finishes. x_blocks = ceil(OH*OW / TN); dispatch (x_blocks,
//                 G * c_blocks, N * splits).
//  conv2d_split_sum: y[n, co, p] = b[co] + sum_{s < splits} part[s * split_stride + (n * Cout + co) * OH*OW + p]
//                 (+ ReLU) over the scratch's Cout channels (params.cout, the parts' channels
//                 concatenated), each written to its part's output (slot, base, stride, flags),
//                 summed in a fixed order (deterministic, no atomics). One invocation per element
//                 of a sample; dispatch sampleGrid(Cout*OH*OW, N, WG) (kernel.ts).
//
// Bindings: 0 params (uniform), 1 x (read), 2 wt (read), 3 b (read), 4 y (read_write),
// 5 part (read, conv2d_split_sum only), 6 y1, 7 y2, 8 y3 (read_write, the tiled entry points' other
// output slots).

struct Params {
  cin: u32, h: u32, w: u32,
  cout: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, pt: i32, pl: i32,
  cin_g: u32, cout_g: u32,
  x_blocks: u32, c_blocks: u32,
  has_bias: u32, relu: u32,
  x_base: u32, x_stride: u32,
  y_base: u32, y_stride: u32,
  w_base: u32, b_base: u32,
  w_group: u32, w_row: u32, w_chan: u32, flip: u32,
  splits: u32, split_stride: u32,  // each part's K chunk is derived from splits (conv2d_tiled)
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
  // conv2d_tiled / conv2d_split_sum: lane p = part p (header).
  part_cout: vec4u,
  part_kernel: vec4u,  // kh | kw << 8 | pt << 16 | pl << 24
  part_flags: vec4u,   // has_bias | relu << 1 | output slot << 2
  part_w_base: vec4u, part_b_base: vec4u,
  part_y_base: vec4u, part_y_stride: vec4u,
}

override WG: u32 = 64;
/** conv2d_tiled: K step, channels (TM) and pixels (TN) per workgroup tile; 4 * BK must be a multiple of TM and TN. */
override BK: u32 = 16;
override TM: u32 = 64;
override TN: u32 = 64;
/** Threads of a tiled workgroup along pixels and channels: one per 4 x 4 register block. */
override TX: u32 = TN / 4u;
override TY: u32 = TM / 4u;
const CB = 16u;    // direct / 1x1: output channels per invocation (four quads of 4)
const XB = 8u;     // direct / 1x1: output columns (pixels) per invocation (two quads of 4)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

/** Weight-row offsets of channels cl of group grp (tails clamped to the group's last channel). */
fn weight_rows(grp: u32, cl: vec4u) -> vec4u {
  return params.w_base + grp * params.w_group + min(cl, vec4u(params.cout_g - 1u)) * params.w_row;
}

/** The 4 x 4 outer product w x^T: column j is w * x[j] (4 channels of output column j). */
fn outer(w: vec4f, v: vec4f) -> mat4x4f {
  return mat4x4f(w * v.x, w * v.y, w * v.z, w * v.w);
}

/** wt at rows + o (four weights, one per channel). */
fn w4(rows: vec4u, o: u32) -> vec4f {
  return vec4f(wt[rows.x + o], wt[rows.y + o], wt[rows.z + o], wt[rows.w + o]);
}

/** x at at + o (four columns), 0 where a column lies outside the input. */
fn x4(at: vec4u, o: u32, inside: vec4<bool>) -> vec4f {
  return select(vec4f(0.0), vec4f(x[at.x + o], x[at.y + o], x[at.z + o], x[at.w + o]), inside);
}

/** A 16 x 8 block of sums: m<i><j> holds channels 4i..4i+3 (rows) x columns 4j..4j+3 (matrix columns). */
struct Block { m00: mat4x4f, m01: mat4x4f, m10: mat4x4f, m11: mat4x4f, m20: mat4x4f, m21: mat4x4f, m30: mat4x4f, m31: mat4x4f }

/** Add one input channel: weights at rows<i> + wo (channel quads), inputs at at_a/at_b + xo (column quads). */
fn accumulate(s: ptr<function, Block>, rows0: vec4u, rows1: vec4u, rows2: vec4u, rows3: vec4u, wo: u32,
              at_a: vec4u, at_b: vec4u, xo: u32, in_a: vec4<bool>, in_b: vec4<bool>) {
  let w0 = w4(rows0, wo); let w1 = w4(rows1, wo); let w2 = w4(rows2, wo); let w3 = w4(rows3, wo);
  let xa = x4(at_a, xo, in_a); let xb = x4(at_b, xo, in_b);
  (*s).m00 += outer(w0, xa); (*s).m01 += outer(w0, xb); (*s).m10 += outer(w1, xa); (*s).m11 += outer(w1, xb);
  (*s).m20 += outer(w2, xa); (*s).m21 += outer(w2, xb); (*s).m30 += outer(w3, xa); (*s).m31 += outer(w3, xb);
}

/**
 * Write one 4 x 4 quad of a block: channels cl..cl+3 (those past the group's end skipped), columns
 * pixel..pixel+3 (the first `cols` of them), plus the bias and then the ReLU if asked for.
 */
fn store_quad(m: mat4x4f, n: u32, grp: u32, cl: u32, pixel: u32, cols: u32) {
  let co0 = grp * params.cout_g + cl;
  let bi = params.b_base + min(vec4u(co0) + vec4u(0u, 1u, 2u, 3u), vec4u(grp * params.cout_g + params.cout_g - 1u));
  let bias = select(vec4f(0.0), vec4f(b[bi.x], b[bi.y], b[bi.z], b[bi.w]), params.has_bias != 0u);
  let chans = min(params.cout_g - min(cl, params.cout_g), 4u);
  let plane = params.oh * params.ow;
  let at = params.y_base + n * params.y_stride + co0 * plane + pixel;
  for (var j = 0u; j < min(cols, 4u); j++) {
    var v = m[j] + bias;
    if (params.relu != 0u) { v = max(v, vec4f(0.0)); }
    if (chans == 4u) {
      y[at + j] = v.x; y[at + plane + j] = v.y; y[at + 2u * plane + j] = v.z; y[at + 3u * plane + j] = v.w;
    } else {
      for (var i = 0u; i < chans; i++) { y[at + i * plane + j] = v[i]; }
    }
  }
}

/** Write a block at channels cl0.., columns pixel..pixel+7, `cols` of them inside the row. */
fn store_block(s: Block, n: u32, grp: u32, cl0: u32, pixel: u32, cols: u32) {
  store_quad(s.m00, n, grp, cl0, pixel, cols);
  store_quad(s.m10, n, grp, cl0 + 4u, pixel, cols);
  store_quad(s.m20, n, grp, cl0 + 8u, pixel, cols);
  store_quad(s.m30, n, grp, cl0 + 12u, pixel, cols);
  if (cols <= 4u) { return; }
  store_quad(s.m01, n, grp, cl0, pixel + 4u, cols - 4u);
  store_quad(s.m11, n, grp, cl0 + 4u, pixel + 4u, cols - 4u);
  store_quad(s.m21, n, grp, cl0 + 8u, pixel + 4u, cols - 4u);
  store_quad(s.m31, n, grp, cl0 + 12u, pixel + 4u, cols - 4u);
}

@compute @workgroup_size(WG)
fn conv2d_direct(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
  let oy = gid.x / params.x_blocks;
  if (oy >= params.oh) { return; }
  let ox0 = (gid.x % params.x_blocks) * XB;
  let grp = gid.y / params.c_blocks;
  let cl0 = (gid.y % params.c_blocks) * CB;
  let n = gid.z;
  let kk = params.kh * params.kw;
  let rows0 = weight_rows(grp, vec4u(cl0) + vec4u(0u, 1u, 2u, 3u));
  let rows1 = weight_rows(grp, vec4u(cl0) + vec4u(4u, 5u, 6u, 7u));
  let rows2 = weight_rows(grp, vec4u(cl0) + vec4u(8u, 9u, 10u, 11u));
  let rows3 = weight_rows(grp, vec4u(cl0) + vec4u(12u, 13u, 14u, 15u));
  let wi = i32(params.w);
  let iy0 = i32(oy * params.sh) - params.pt;
  let ix0 = i32(ox0 * params.sw) - params.pl;
  let sw = i32(params.sw);
  let plane = params.h * params.w;
  let xs = params.x_base + n * params.x_stride + grp * params.cin_g * plane;
  let cpairs = params.cin_g & ~1u;
  var s = Block();
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = iy0 + i32(ky);
    if (iy < 0 || iy >= i32(params.h)) { continue; }
    let xr = xs + u32(iy) * params.w;
    for (var kx = 0u; kx < params.kw; kx++) {
      let ix_a = vec4i(ix0 + i32(kx)) + vec4i(0, 1, 2, 3) * sw;
      let ix_b = ix_a + 4 * sw;
      let in_a = (ix_a >= vec4i(0)) & (ix_a < vec4i(wi));
      let in_b = (ix_b >= vec4i(0)) & (ix_b < vec4i(wi));
      let at_a = vec4u(clamp(ix_a, vec4i(0), vec4i(wi - 1))) + xr;
      let at_b = vec4u(clamp(ix_b, vec4i(0), vec4i(wi - 1))) + xr;
      let t = ky * params.kw + kx;
      var wo = select(t, kk - 1u - t, params.flip != 0u);
      var xo = 0u;
      // Two input channels per step (loop-carried state is costly on SwiftShader), then the odd one.
      var c = 0u;
      for (; c < cpairs; c += 2u) {
        accumulate(&s, rows0, rows1, rows2, rows3, wo, at_a, at_b, xo, in_a, in_b);
        accumulate(&s, rows0, rows1, rows2, rows3, wo + params.w_chan, at_a, at_b, xo + plane, in_a, in_b);
        wo += 2u * params.w_chan;
        xo += 2u * plane;
      }
      if (c < params.cin_g) {
        accumulate(&s, rows0, rows1, rows2, rows3, wo, at_a, at_b, xo, in_a, in_b);
      }
    }
  }
  store_block(s, n, grp, cl0, oy * params.ow + ox0, params.ow - ox0);
}

@compute @workgroup_size(WG)
fn conv2d_1x1(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
  if (gid.x >= params.x_blocks) { return; }
  let plane = params.h * params.w;
  let p0 = gid.x * XB;
  let grp = gid.y / params.c_blocks;
  let cl0 = (gid.y % params.c_blocks) * CB;
  let n = gid.z;
  let rows0 = weight_rows(grp, vec4u(cl0) + vec4u(0u, 1u, 2u, 3u));
  let rows1 = weight_rows(grp, vec4u(cl0) + vec4u(4u, 5u, 6u, 7u));
  let rows2 = weight_rows(grp, vec4u(cl0) + vec4u(8u, 9u, 10u, 11u));
  let rows3 = weight_rows(grp, vec4u(cl0) + vec4u(12u, 13u, 14u, 15u));
  let xs = params.x_base + n * params.x_stride + grp * params.cin_g * plane;
  // Pixels past the end read the last one (their results are not stored).
  let at_a = min(vec4u(p0) + vec4u(0u, 1u, 2u, 3u), vec4u(plane - 1u)) + xs;
  let at_b = min(vec4u(p0) + vec4u(4u, 5u, 6u, 7u), vec4u(plane - 1u)) + xs;
  let all = vec4<bool>(true);
  let cpairs = params.cin_g & ~1u;
  var wo = 0u;
  var xo = 0u;
  var s = Block();
  var c = 0u;
  for (; c < cpairs; c += 2u) {
    accumulate(&s, rows0, rows1, rows2, rows3, wo, at_a, at_b, xo, all, all);
    accumulate(&s, rows0, rows1, rows2, rows3, wo + params.w_chan, at_a, at_b, xo + plane, all, all);
    wo += 2u * params.w_chan;
    xo += 2u * plane;
  }
  if (c < params.cin_g) {
    accumulate(&s, rows0, rows1, rows2, rows3, wo, at_a, at_b, xo, all, all);
  }
  store_block(s, n, grp, cl0, p0, plane - p0);
}

@group(0) @binding(5) var<storage, read> part: array<f32>;
@group(0) @binding(6) var<storage, read_write> y1: array<f32>;
@group(0) @binding(7) var<storage, read_write> y2: array<f32>;
@group(0) @binding(8) var<storage, read_write> y3: array<f32>;

/** Element i of output slot `slot` (y, y1, y2, y3) = v. */
fn put(slot: u32, i: u32, v: f32) {
  switch slot {
    case 0u: { y[i] = v; }
    case 1u: { y1[i] = v; }
    case 2u: { y2[i] = v; }
    default: { y3[i] = v; }
  }
}

/** The part owning channel block cb of a tiled launch (cb < c_blocks) and the part's first block. */
fn part_of_block(cb: u32) -> vec2u {
  var first = 0u;
  var p = 0u;
  for (; p < 3u; p++) {
    let blocks = (params.part_cout[p] + TM - 1u) / TM;
    if (cb < first + blocks) { break; }
    first += blocks;
  }
  return vec2u(p, first);
}

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

/** (c, ky, kx) of the flattened filter index k = (c * KH + ky) * KW + kx of a kh x kw kernel. */
fn split_k(k: u32, kh: u32, kw: u32) -> vec3u {
  let kk = kh * kw;
  let r = k % kk;
  return vec3u(k / kk, r / kw, r % kw);
}

/** (c, ky, kx) of k + delta, given t = split_k(k) and d = split_k(delta): adds with carries. */
fn step_k(t: vec3u, d: vec3u, kh: u32, kw: u32) -> vec3u {
  var kx = t.z + d.z;
  var ky = t.y + d.y;
  var c = t.x + d.x;
  if (kx >= kw) { kx -= kw; ky += 1u; }
  if (ky >= kh) { ky -= kh; c += 1u; }
  return vec3u(c, ky, kx);
}

var<workgroup> tile_w: array<vec4f, BK * (TM / 4u + 1u)>;  // [k][channel quad], rows padded by one
var<workgroup> tile_x: array<vec4f, BK * TN / 4u>;         // [k][pixel quad]

@compute @workgroup_size(TX, TY)
fn conv2d_tiled(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let wid = logical_id(wid_in, nwg, vec3u(0u), vec3u(1u));
  if (wid.z >= params.grid_z) { return; }
  let threads = TX * TY;
  let grp = wid.y / params.c_blocks;
  let at_part = part_of_block(wid.y % params.c_blocks);
  let pi = at_part.x;
  let cout_g = params.part_cout[pi];
  let c_tile = (wid.y % params.c_blocks - at_part.y) * TM;
  let geom = params.part_kernel[pi];
  let kh = geom & 0xffu;
  let kw = (geom >> 8u) & 0xffu;
  let pt = i32((geom >> 16u) & 0xffu);
  let pl = i32(geom >> 24u);
  let p_tile = wid.x * TN;
  let n = wid.z / params.splits;
  let split = wid.z % params.splits;
  let kk = kh * kw;
  let ksize = params.cin_g * kk;
  let k_chunk = ((ksize + params.splits - 1u) / params.splits + BK - 1u) / BK * BK;
  let k_begin = split * k_chunk;
  let k_end = min(k_begin + k_chunk, ksize);
  let npix = params.oh * params.ow;
  let plane = params.h * params.w;
  let wrow0 = params.part_w_base[pi] + grp * cout_g * ksize;
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
  let iy0 = select(vec4i(i32(params.h)), vec4i((p / params.ow) * params.sh) - pt, p < vec4u(npix));
  let ix0 = vec4i((p % params.ow) * params.sw) - pl;
  let hi = vec4i(i32(params.h));
  let wi = vec4i(i32(params.w));
  let one = split_k(1u, kh, kw);
  let step = split_k(BK, kh, kw);
  var tap = split_k(k_begin + kr, kh, kw);

  var acc: array<vec4f, 4>;  // acc[j][i]: channel 4ty + i, pixel 4tx + j
  for (var k0 = k_begin; k0 < k_end; k0 += BK) {
    let k = k0 + wk;
    for (var r = 0u; r < w_slots; r++) {
      let cq = (li + threads * r) / BK;
      let cl = vec4u(c_tile + 4u * cq) + vec4u(0u, 1u, 2u, 3u);
      let ok = (cl < vec4u(cout_g)) & vec4<bool>(k < k_end);
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
      t = step_k(t, one, kh, kw);
    }
    tap = step_k(tap, step, kh, kw);
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
  let flags = params.part_flags[pi];
  let ys = params.part_y_base[pi] + n * params.part_y_stride[pi] + split * params.split_stride;
  for (var j = 0u; j < 4u; j++) {
    let pj = p_tile + 4u * lid.x + j;
    if (pj >= npix) { break; }
    for (var i = 0u; i < 4u; i++) {
      let cl = c_tile + 4u * lid.y + i;
      if (cl >= cout_g) { break; }
      let co = grp * cout_g + cl;
      var v = acc[j][i];
      if ((flags & 1u) != 0u) { v += b[params.part_b_base[pi] + co]; }
      if ((flags & 2u) != 0u) { v = max(v, 0.0); }
      put(flags >> 2u, ys + co * npix + pj, v);
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
  // The part owning scratch channel i / npix (each part's G * part_cout channels in turn), and c within it.
  let groups = params.cin / params.cin_g;
  var c = i / npix;
  var pi = 0u;
  for (; pi < 3u; pi++) {
    let channels = params.part_cout[pi] * groups;
    if (c < channels) { break; }
    c -= channels;
  }
  let flags = params.part_flags[pi];
  if ((flags & 1u) != 0u) { v += b[params.part_b_base[pi] + c]; }
  if ((flags & 2u) != 0u) { v = max(v, 0.0); }
  put(flags >> 2u, params.part_y_base[pi] + n * params.part_y_stride[pi] + c * npix + i % npix, v);
}
