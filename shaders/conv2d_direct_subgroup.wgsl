// Conv2d forward on CPU adapters with the WebGPU feature 'subgroups': conv2d.wgsl's direct entry
// points with the weight loads shared across a subgroup (and, for 3-wide kernels at stride 1, the
// input loads shared across the taps of a row). The math, layouts and uniforms are conv2d.wgsl's:
//   y[n, co, oy, ox] = b[co] + sum_{c < Cin/G, ky, kx} w[co, c, ky, kx] * x[n, g*Cin/G + c, oy*sh - pt + ky, ox*sw - pl + kx]
// (+ ReLU when params.relu = 1), x (N, Cin, H, W) and y (N, Cout, OH, OW) possibly channel views,
// w read through strides (w_base + g * w_group + (co mod Cout/G) * w_row + c * w_chan + tap, the
// tap reversed when flip = 1) so that the stride-1 backward to the input runs here too
// (engine/kernels/conv2d.ts). A separate module because `enable subgroups` fails to compile on
// devices without the feature.
//
// Why: on SwiftShader (SIMD lanes on the CPU; SIMD width 4, subgroups of 4) every storage load
// whose address differs per lane is emulated lane by lane, and the 16 x 8 block of conv2d_direct
// spends about half its time in its 24 loads per input channel and tap (16 weights, 8 inputs).
// Every invocation of a workgroup works on the same 16 output channels, so all lanes load the
// same 16 weights. Here lane q (subgroup_invocation_id mod 4) loads only channels 4q..4q+3 and
// subgroupBroadcast from lanes 0..3 hands every lane all 16: 4 weight loads instead of 16. This
// needs subgroups of at least 4 lanes (engine/kernels/conv2d.ts checks subgroupMinSize) and every
// lane active at each broadcast, so no invocation returns early: those past the output compute on
// clamped indices and skip the store, and rows outside the input are masked, not skipped (the
// caller picks WG = 16, 8 or 4, whichever leaves fewest such invocations: directSgWorkgroup).
//
// Entry points (all: 16 output channels x 8 output columns per invocation in eight mat4x4f
// accumulators, as conv2d.wgsl's conv2d_direct; N folded into gid.z and group * c_blocks +
// channel block in gid.y; no workgroup memory):
//  conv2d_direct_sg  any kernel, stride and padding. Loops (ky, kx) outside, input channels inside.
//                    gid.x = oy * x_blocks + column block, x_blocks = ceil(OW / 8).
//                    Dispatch (ceil(OH * x_blocks / WG), G * ceil(Cout/G / 16), N).
//  conv2d_direct3_sg KW = 3 and stride 1 along x only: per input row (ky) and channel, the 10 input
//                    columns under the block's 8 outputs and 3 taps are loaded once and each tap
//                    reads its 8 from them (10 input loads instead of 24, plus 3 x 4 shared
//                    weight loads). Same grid as conv2d_direct_sg.
//  conv2d_direct5_sg KW = 5 and stride 1 along x only: the same with a 12-column window (12 input
//                    loads instead of 40 per row and channel, plus 5 x 4 shared weight loads);
//                    GoogLeNet's 5x5 convs and AlexNet's conv2, forward and backward to the input.
//  conv2d_1x1_sg     1x1 kernel, stride 1, no padding: the matrix product y[co, p] = sum_c w[co, c] x[c, p]
//                    over 8 consecutive pixels, two input channels per loop step.
//                    gid.x = pixel block, x_blocks = ceil(OH*OW / 8).
//                    Dispatch (ceil(x_blocks / WG), G * ceil(Cout/G / 16), N).
//
// Bindings: 0 params (uniform), 1 x (read), 2 wt (read), 3 b (read), 4 y (read_write).

enable subgroups;
// The broadcasts run in uniform control flow by construction (no early exits, uniform loop
// bounds), which the analysis cannot see through logical_id and the per-lane masks.
diagnostic(off, subgroup_uniformity);

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
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
}

override WG: u32 = 16;
const CB = 16u;    // output channels per invocation (four quads of 4)
const XB = 8u;     // output columns (pixels) per invocation (two quads of 4)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
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

/** Weight-row offsets of the 4 channels of quad `lane mod 4` of block cl0 in group grp (tails clamped to the group's last channel). */
fn lane_rows(grp: u32, cl0: u32, lane: u32) -> vec4u {
  let cl = vec4u(cl0 + 4u * (lane % 4u)) + vec4u(0u, 1u, 2u, 3u);
  return params.w_base + grp * params.w_group + min(cl, vec4u(params.cout_g - 1u)) * params.w_row;
}

/** The 4 x 4 outer product w x^T: column j is w * x[j] (4 channels of output column j). */
fn outer(w: vec4f, v: vec4f) -> mat4x4f {
  return mat4x4f(w * v.x, w * v.y, w * v.z, w * v.w);
}

/** x at at + o (four columns), 0 where a column lies outside the input. */
fn x4(at: vec4u, o: u32, inside: vec4<bool>) -> vec4f {
  return select(vec4f(0.0), vec4f(x[at.x + o], x[at.y + o], x[at.z + o], x[at.w + o]), inside);
}

/** A 16 x 8 block of sums: m<i><j> holds channels 4i..4i+3 (rows) x columns 4j..4j+3 (matrix columns). */
struct Block { m00: mat4x4f, m01: mat4x4f, m10: mat4x4f, m11: mat4x4f, m20: mat4x4f, m21: mat4x4f, m30: mat4x4f, m31: mat4x4f }

/**
 * Add one input channel and tap: this lane loads the 4 weights of its channel quad at rows + wo,
 * subgroupBroadcast gives every lane all 16; the inputs xa, xb are columns 0..3 and 4..7.
 */
fn accumulate(s: ptr<function, Block>, rows: vec4u, wo: u32, xa: vec4f, xb: vec4f) {
  let wl = vec4f(wt[rows.x + wo], wt[rows.y + wo], wt[rows.z + wo], wt[rows.w + wo]);
  let w0 = subgroupBroadcast(wl, 0u);
  let w1 = subgroupBroadcast(wl, 1u);
  let w2 = subgroupBroadcast(wl, 2u);
  let w3 = subgroupBroadcast(wl, 3u);
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

/** Where a conv2d_direct*_sg invocation works: its clamped output row and sample, and whether it stores. */
struct Spot { live: bool, n: u32, oy: u32, ox0: u32, grp: u32, cl0: u32 }

fn spot(gid: vec3u) -> Spot {
  let live = gid.z < params.grid_z && gid.x / params.x_blocks < params.oh;
  return Spot(live, min(gid.z, params.grid_z - 1u), min(gid.x / params.x_blocks, params.oh - 1u),
              (gid.x % params.x_blocks) * XB, gid.y / params.c_blocks, (gid.y % params.c_blocks) * CB);
}

@compute @workgroup_size(WG)
fn conv2d_direct_sg(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let at = spot(logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u)));
  let kk = params.kh * params.kw;
  let rows = lane_rows(at.grp, at.cl0, lane);
  let wi = i32(params.w);
  let iy0 = i32(at.oy * params.sh) - params.pt;
  let ix0 = i32(at.ox0 * params.sw) - params.pl;
  let sw = i32(params.sw);
  let plane = params.h * params.w;
  let xs = params.x_base + at.n * params.x_stride + at.grp * params.cin_g * plane;
  var s = Block();
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = iy0 + i32(ky);
    let inside = (iy >= 0) && (iy < i32(params.h));
    let row_in = vec4<bool>(inside);
    let xr = xs + u32(clamp(iy, 0, i32(params.h) - 1)) * params.w;
    for (var kx = 0u; kx < params.kw; kx++) {
      let ix_a = vec4i(ix0 + i32(kx)) + vec4i(0, 1, 2, 3) * sw;
      let ix_b = ix_a + 4 * sw;
      let in_a = (ix_a >= vec4i(0)) & (ix_a < vec4i(wi)) & row_in;
      let in_b = (ix_b >= vec4i(0)) & (ix_b < vec4i(wi)) & row_in;
      let at_a = vec4u(clamp(ix_a, vec4i(0), vec4i(wi - 1))) + xr;
      let at_b = vec4u(clamp(ix_b, vec4i(0), vec4i(wi - 1))) + xr;
      let t = ky * params.kw + kx;
      var wo = select(t, kk - 1u - t, params.flip != 0u);
      var xo = 0u;
      for (var c = 0u; c < params.cin_g; c++) {
        accumulate(&s, rows, wo, x4(at_a, xo, in_a), x4(at_b, xo, in_b));
        wo += params.w_chan;
        xo += plane;
      }
    }
  }
  if (at.live) { store_block(s, at.n, at.grp, at.cl0, at.oy * params.ow + at.ox0, params.ow - at.ox0); }
}

@compute @workgroup_size(WG)
fn conv2d_direct3_sg(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let at = spot(logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u)));
  let kk = params.kh * 3u;
  let rows = lane_rows(at.grp, at.cl0, lane);
  let wi = i32(params.w);
  let iy0 = i32(at.oy * params.sh) - params.pt;
  let ix0 = i32(at.ox0) - params.pl;
  let plane = params.h * params.w;
  let xs = params.x_base + at.n * params.x_stride + at.grp * params.cin_g * plane;
  // The window: input columns ix0 .. ix0 + 9 (a: 0..3, b: 4..7, c: 8..9), masked outside the row.
  let ix_a = vec4i(ix0) + vec4i(0, 1, 2, 3);
  let ix_b = ix_a + 4;
  let ix_c = vec2i(ix0 + 8, ix0 + 9);
  let col_in_a = (ix_a >= vec4i(0)) & (ix_a < vec4i(wi));
  let col_in_b = (ix_b >= vec4i(0)) & (ix_b < vec4i(wi));
  let col_in_c = (ix_c >= vec2i(0)) & (ix_c < vec2i(wi));
  let col_a = vec4u(clamp(ix_a, vec4i(0), vec4i(wi - 1)));
  let col_b = vec4u(clamp(ix_b, vec4i(0), vec4i(wi - 1)));
  let col_c = vec2u(clamp(ix_c, vec2i(0), vec2i(wi - 1)));
  let flip = params.flip != 0u;
  var s = Block();
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = iy0 + i32(ky);
    let row_in = (iy >= 0) && (iy < i32(params.h));
    let in_a = col_in_a & vec4<bool>(row_in);
    let in_b = col_in_b & vec4<bool>(row_in);
    let in_c = col_in_c & vec2<bool>(row_in);
    let xr = xs + u32(clamp(iy, 0, i32(params.h) - 1)) * params.w;
    let at_a = col_a + xr;
    let at_b = col_b + xr;
    let at_c = col_c + xr;
    // Weight offsets of taps (ky, 0..2) within one input channel's filter.
    let t = ky * 3u;
    let wo0 = select(t, kk - 1u - t, flip);
    let wo1 = select(t + 1u, kk - 2u - t, flip);
    let wo2 = select(t + 2u, kk - 3u - t, flip);
    var wc = 0u;
    var xo = 0u;
    for (var c = 0u; c < params.cin_g; c++) {
      let xa = x4(at_a, xo, in_a);
      let xb = x4(at_b, xo, in_b);
      let xc = select(vec2f(0.0), vec2f(x[at_c.x + xo], x[at_c.y + xo]), in_c);
      // Tap kx reads window columns kx .. kx + 7.
      accumulate(&s, rows, wc + wo0, xa, xb);
      accumulate(&s, rows, wc + wo1, vec4f(xa.yzw, xb.x), vec4f(xb.yzw, xc.x));
      accumulate(&s, rows, wc + wo2, vec4f(xa.zw, xb.xy), vec4f(xb.zw, xc));
      wc += params.w_chan;
      xo += plane;
    }
  }
  if (at.live) { store_block(s, at.n, at.grp, at.cl0, at.oy * params.ow + at.ox0, params.ow - at.ox0); }
}

@compute @workgroup_size(WG)
fn conv2d_direct5_sg(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let at = spot(logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u)));
  let kk = params.kh * 5u;
  let rows = lane_rows(at.grp, at.cl0, lane);
  let wi = i32(params.w);
  let iy0 = i32(at.oy * params.sh) - params.pt;
  let ix0 = i32(at.ox0) - params.pl;
  let plane = params.h * params.w;
  let xs = params.x_base + at.n * params.x_stride + at.grp * params.cin_g * plane;
  // The window: input columns ix0 .. ix0 + 11 (a: 0..3, b: 4..7, c: 8..11), masked outside the row.
  let ix_a = vec4i(ix0) + vec4i(0, 1, 2, 3);
  let ix_b = ix_a + 4;
  let ix_c = ix_a + 8;
  let col_in_a = (ix_a >= vec4i(0)) & (ix_a < vec4i(wi));
  let col_in_b = (ix_b >= vec4i(0)) & (ix_b < vec4i(wi));
  let col_in_c = (ix_c >= vec4i(0)) & (ix_c < vec4i(wi));
  let col_a = vec4u(clamp(ix_a, vec4i(0), vec4i(wi - 1)));
  let col_b = vec4u(clamp(ix_b, vec4i(0), vec4i(wi - 1)));
  let col_c = vec4u(clamp(ix_c, vec4i(0), vec4i(wi - 1)));
  let flip = params.flip != 0u;
  var s = Block();
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = iy0 + i32(ky);
    let row_in = vec4<bool>((iy >= 0) && (iy < i32(params.h)));
    let in_a = col_in_a & row_in;
    let in_b = col_in_b & row_in;
    let in_c = col_in_c & row_in;
    let xr = xs + u32(clamp(iy, 0, i32(params.h) - 1)) * params.w;
    let at_a = col_a + xr;
    let at_b = col_b + xr;
    let at_c = col_c + xr;
    // Weight offsets of taps (ky, 0..4) within one input channel's filter.
    let t = ky * 5u;
    let wo0 = select(t, kk - 1u - t, flip);
    let wo1 = select(t + 1u, kk - 2u - t, flip);
    let wo2 = select(t + 2u, kk - 3u - t, flip);
    let wo3 = select(t + 3u, kk - 4u - t, flip);
    let wo4 = select(t + 4u, kk - 5u - t, flip);
    var wc = 0u;
    var xo = 0u;
    for (var c = 0u; c < params.cin_g; c++) {
      let xa = x4(at_a, xo, in_a);
      let xb = x4(at_b, xo, in_b);
      let xc = x4(at_c, xo, in_c);
      // Tap kx reads window columns kx .. kx + 7.
      accumulate(&s, rows, wc + wo0, xa, xb);
      accumulate(&s, rows, wc + wo1, vec4f(xa.yzw, xb.x), vec4f(xb.yzw, xc.x));
      accumulate(&s, rows, wc + wo2, vec4f(xa.zw, xb.xy), vec4f(xb.zw, xc.xy));
      accumulate(&s, rows, wc + wo3, vec4f(xa.w, xb.xyz), vec4f(xb.w, xc.xyz));
      accumulate(&s, rows, wc + wo4, xb, xc);
      wc += params.w_chan;
      xo += plane;
    }
  }
  if (at.live) { store_block(s, at.n, at.grp, at.cl0, at.oy * params.ow + at.ox0, params.ow - at.ox0); }
}

@compute @workgroup_size(WG)
fn conv2d_1x1_sg(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u));
  let live = gid.z < params.grid_z && gid.x < params.x_blocks;
  let n = min(gid.z, params.grid_z - 1u);
  let plane = params.h * params.w;
  let p0 = min(gid.x, params.x_blocks - 1u) * XB;
  let grp = gid.y / params.c_blocks;
  let cl0 = (gid.y % params.c_blocks) * CB;
  let rows = lane_rows(grp, cl0, lane);
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
    accumulate(&s, rows, wo, x4(at_a, xo, all), x4(at_b, xo, all));
    accumulate(&s, rows, wo + params.w_chan, x4(at_a, xo + plane, all), x4(at_b, xo + plane, all));
    wo += 2u * params.w_chan;
    xo += 2u * plane;
  }
  if (c < params.cin_g) {
    accumulate(&s, rows, wo, x4(at_a, xo, all), x4(at_b, xo, all));
  }
  if (live) { store_block(s, n, grp, cl0, p0, plane - p0); }
}
