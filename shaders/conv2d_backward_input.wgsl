// Conv2d backward to the input (a gather: no atomics, no races):
//   dx[n, ci, iy, ix] = sum_{co in group(ci), ky, kx} w[co, c, ky, kx] * dy[n, co, oy, ox]
//   where oy = (iy + pt - ky) / sh and ox = (ix + pl - kx) / sw must be integral and in range,
//   and c = ci mod Cin/G. For stride 1 this is a full convolution with the flipped kernel.
// dy (N, Cout, OH, OW) and dx (N, Cin, H, W) may be channel views (<t>_base + n * <t>_stride);
// w (Cout, Cin/G, KH, KW) sits at w_base of its buffer. A fused forward ReLU is undone by the
// caller (reluBackward on y first), so there is none here.
//
// Bindings: 0 params (uniform), 1 dy (read), 2 wt (read), 3 dx (read_write).
//
// Entry points, N folded into gid.z and gid.y = group * c_blocks + input-channel block:
//  backward_input_direct (CPU adapters, stride > 1: at stride 1 the caller runs conv2d.wgsl's
//      conv2d_direct / conv2d_1x1, or on devices with subgroups conv2d_direct_subgroup.wgsl's
//      entry points, on dy with the flipped, transposed weights instead, a forward conv with
//      padding K - 1 - pad): one invocation owns 4 input channels x 4 input columns
//      of one input row, in four vec4 registers. Its columns are ix = phase + sw * (4m + j),
//      j = 0..3, all of one phase (ix mod sw), so they share the same valid taps kx = phase + pl
//      (mod sw), and tap kx reads the 4 consecutive dy columns ox = (phase + pl - kx) / sw + 4m + j.
//      Loops: valid ky, valid kx, then the group's output channels innermost.
//      gid.x = (iy * sw + phase) * x_blocks + m with x_blocks = ceil(ceil(W / sw) / 4).
//      Dispatch (ceil(H * sw * x_blocks / WG), G * ceil(Cin/G / 4), N). No workgroup memory.
//  backward_input_tiled (GPUs, stride 1 only: the caller routes stride > 1 to the direct gather,
//      where all but 1/(sh*sw) of the taps would be zero): the forward's implicit GEMM (see
//      conv2d.wgsl's conv2d_tiled) with the flipped, transposed weights: M = Cin/G channels,
//      N = H*W pixels, K = Cout/G*KH*KW with k = (co * KH + ky) * KW + kx,
//      A[ci][k] = w[co, ci, ky, kx], B[k][pixel] = dy[co, iy + pt - ky, ix + pl - kx] or 0.
//      Same (TN/4, TM/4) workgroups of 4 x 4 register blocks over TM x TN tiles, same vec4 tiles in
//      workgroup memory, same division-free staging: each thread carries the (co, ky, kx) of its
//      B rows and the (co, tap) of its A column from one BK step to the next. Split-K as in the
//      forward: gid.z = n * splits + s; with splits > 1, dx is bound to a dense (S, N, Cin, H*W)
//      scratch buffer (split s at s * split_stride) that engine/kernels/sum.ts's stack sum
//      reduces into dx. x_blocks = ceil(H*W / TN), c_blocks = ceil(Cin/G / TM); dispatch
//      (x_blocks, G * c_blocks, N * splits).

struct Params {
  cin: u32, h: u32, w: u32,
  cout: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, pt: u32, pl: u32,
  cin_g: u32, cout_g: u32,
  x_blocks: u32, c_blocks: u32,
  dy_base: u32, dy_stride: u32,
  dx_base: u32, dx_stride: u32,
  w_base: u32,
  splits: u32, k_chunk: u32, split_stride: u32,
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
}

override WG: u32 = 64;
/** backward_input_tiled: K step, channels (TM) and pixels (TN) per tile; 4 * BK must be a multiple of TM and TN. */
override BK: u32 = 16;
override TM: u32 = 64;
override TN: u32 = 64;
/** Threads of a tiled workgroup along pixels and channels: one per 4 x 4 register block. */
override TX: u32 = TN / 4u;
override TY: u32 = TM / 4u;
const CB = 4u;     // direct: input channels per invocation

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

fn store(acc: vec4f, n: u32, grp: u32, cl0: u32, pixel: u32) {
  let plane = params.h * params.w;
  for (var i = 0u; i < CB; i++) {
    if (cl0 + i >= params.cin_g) { return; }
    dx[params.dx_base + n * params.dx_stride + (grp * params.cin_g + cl0 + i) * plane + pixel] = acc[i];
  }
}

@compute @workgroup_size(WG)
fn backward_input_direct(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
  let m = gid.x % params.x_blocks;
  let rest = gid.x / params.x_blocks;
  let phase = rest % params.sw;
  let iy = rest / params.sw;
  if (iy >= params.h) { return; }
  let grp = gid.y / params.c_blocks;
  let cl0 = (gid.y % params.c_blocks) * CB;
  let n = gid.z;
  let kk = params.kh * params.kw;
  // Weight offsets of the block's 4 input channels within one output channel's filter.
  let wc = min(vec4u(cl0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.cin_g - 1u)) * kk;
  let owi = i32(params.ow);
  let plane_o = params.oh * params.ow;
  let dys = params.dy_base + n * params.dy_stride + grp * params.cout_g * plane_o;
  let fsize = params.cin_g * kk;
  let wg = params.w_base + grp * params.cout_g * fsize;
  // Only taps ky = iy + pt (mod sh) and kx = phase + pl (mod sw) reach this block; stepping
  // them by the stride moves oy and ox back by one, so the loops need no division.
  let ky0 = (iy + params.pt) % params.sh;
  let kx0 = (phase + params.pl) % params.sw;
  let oy0 = i32((iy + params.pt) / params.sh);
  let ox0 = i32((phase + params.pl) / params.sw + 4u * m);
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  var oy = oy0;
  for (var ky = ky0; ky < params.kh && oy >= 0; ky += params.sh) {
    if (u32(oy) < params.oh) {
      let dr = dys + u32(oy) * params.ow;
      var ox = vec4i(ox0) + vec4i(0, 1, 2, 3);
      for (var kx = kx0; kx < params.kw; kx += params.sw) {
        let inside = (ox >= vec4i(0)) & (ox < vec4i(owi));
        let at = vec4u(clamp(ox, vec4i(0), vec4i(owi - 1))) + dr;
        let tap = wg + ky * params.kw + kx;
        // Two output channels per iteration (loop-carried state is costly on SwiftShader).
        var k = tap;
        var o = 0u;
        for (var c = 0u; c < params.cout_g; c += 2u) {
          let wv = vec4f(wt[wc.x + k], wt[wc.y + k], wt[wc.z + k], wt[wc.w + k]);
          let g = select(vec4f(0.0), vec4f(dy[at.x + o], dy[at.y + o], dy[at.z + o], dy[at.w + o]), inside);
          // The second channel's weight is zeroed past the group's end (its reads are clamped).
          let k1 = min(k + fsize, tap + (params.cout_g - 1u) * fsize);
          let o1 = min(o + plane_o, (params.cout_g - 1u) * plane_o);
          let wv1 = select(vec4f(0.0), vec4f(wt[wc.x + k1], wt[wc.y + k1], wt[wc.z + k1], wt[wc.w + k1]), c + 1u < params.cout_g);
          let g1 = select(vec4f(0.0), vec4f(dy[at.x + o1], dy[at.y + o1], dy[at.z + o1], dy[at.w + o1]), inside);
          a0 += wv * g.x + wv1 * g1.x;
          a1 += wv * g.y + wv1 * g1.y;
          a2 += wv * g.z + wv1 * g1.z;
          a3 += wv * g.w + wv1 * g1.w;
          k += 2u * fsize;
          o += 2u * plane_o;
        }
        ox -= vec4i(1);
      }
    }
    oy -= 1;
  }
  let row = iy * params.w;
  let ix0 = phase + params.sw * 4u * m;
  if (ix0 < params.w) { store(a0, n, grp, cl0, row + ix0); }
  if (ix0 + params.sw < params.w) { store(a1, n, grp, cl0, row + ix0 + params.sw); }
  if (ix0 + 2u * params.sw < params.w) { store(a2, n, grp, cl0, row + ix0 + 2u * params.sw); }
  if (ix0 + 3u * params.sw < params.w) { store(a3, n, grp, cl0, row + ix0 + 3u * params.sw); }
}

/** (co, ky, kx) of the flattened index k = (co * KH + ky) * KW + kx. */
fn split_k(k: u32) -> vec3u {
  let kk = params.kh * params.kw;
  let r = k % kk;
  return vec3u(k / kk, r / params.kw, r % params.kw);
}

/** (co, ky, kx) of k + delta, given t = split_k(k) and d = split_k(delta): adds with carries. */
fn step_k(t: vec3u, d: vec3u) -> vec3u {
  var kx = t.z + d.z;
  var ky = t.y + d.y;
  var c = t.x + d.x;
  if (kx >= params.kw) { kx -= params.kw; ky += 1u; }
  if (ky >= params.kh) { ky -= params.kh; c += 1u; }
  return vec3u(c, ky, kx);
}

var<workgroup> tile_w: array<vec4f, BK * (TM / 4u + 1u)>;  // [k][input-channel quad], rows padded by one
var<workgroup> tile_g: array<vec4f, BK * TN / 4u>;         // [k][input-pixel quad]

@compute @workgroup_size(TX, TY)
fn backward_input_tiled(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let wid = logical_id(wid_in, nwg, vec3u(0u), vec3u(1u));
  if (wid.z >= params.grid_z) { return; }
  let threads = TX * TY;
  let grp = wid.y / params.c_blocks;
  let c_tile = (wid.y % params.c_blocks) * TM;
  let p_tile = wid.x * TN;
  let n = wid.z / params.splits;
  let split = wid.z % params.splits;
  let kk = params.kh * params.kw;
  let ksize = params.cout_g * kk;
  let k_begin = split * params.k_chunk;
  let k_end = min(k_begin + params.k_chunk, ksize);
  let plane = params.h * params.w;
  let plane_o = params.oh * params.ow;
  let dys = params.dy_base + n * params.dy_stride + grp * params.cout_g * plane_o;
  let wg0 = params.w_base + grp * params.cout_g * params.cin_g * kk;

  // A staging: this thread's column wk of every step; w[co, ci, tap] sits at
  // wg0 + co * Cin/G * KH*KW + tap + ci * KH*KW, with (co, tap) carried from step to step.
  let wk = li % BK;
  let w_slots = 4u * BK / TN;
  let w_step = vec2u(BK / kk, BK % kk);
  var w_at = vec2u((k_begin + wk) / kk, (k_begin + wk) % kk);
  // B staging: input pixels 4q..4q+3 in rows kr..kr+rows-1 of every step; pixel (iy, ix) reads
  // dy at (iy + pt - ky, ix + pl - kx). Pixels past the end start at row -1, so every tap reads 0.
  let rows = 4u * BK / TM;
  let q = li % TX;
  let kr = (li / TX) * rows;
  let p = vec4u(p_tile + 4u * q) + vec4u(0u, 1u, 2u, 3u);
  let oy0 = select(vec4i(-1), vec4i(p / params.w + params.pt), p < vec4u(plane));
  let ox0 = vec4i(p % params.w + params.pl);
  let ohi = vec4i(i32(params.oh));
  let owi = vec4i(i32(params.ow));
  let one = split_k(1u);
  let step = split_k(BK);
  var tap = split_k(k_begin + kr);

  var acc: array<vec4f, 4>;  // acc[j][i]: channel 4ty + i, pixel 4tx + j
  for (var k0 = k_begin; k0 < k_end; k0 += BK) {
    let in_k = k0 + wk < k_end;
    let wrow = wg0 + w_at.x * params.cin_g * kk + w_at.y;
    for (var r = 0u; r < w_slots; r++) {
      let cq = (li + threads * r) / BK;
      let cl = vec4u(c_tile + 4u * cq) + vec4u(0u, 1u, 2u, 3u);
      let ok = (cl < vec4u(params.cin_g)) & vec4<bool>(in_k);
      let at = select(vec4u(0u), wrow + cl * kk, ok);
      tile_w[wk * (TM / 4u + 1u) + cq] = select(vec4f(0.0), vec4f(wt[at.x], wt[at.y], wt[at.z], wt[at.w]), ok);
    }
    w_at += w_step;
    if (w_at.y >= kk) { w_at = vec2u(w_at.x + 1u, w_at.y - kk); }
    var t = tap;
    for (var r = 0u; r < rows; r++) {
      let oy = oy0 - i32(t.y);
      let ox = ox0 - i32(t.z);
      let ok = (oy >= vec4i(0)) & (oy < ohi) & (ox >= vec4i(0)) & (ox < owi) & vec4<bool>(k0 + kr + r < k_end);
      let at = select(vec4u(0u), vec4u(oy * owi + ox) + dys + t.x * plane_o, ok);
      tile_g[(kr + r) * (TN / 4u) + q] = select(vec4f(0.0), vec4f(dy[at.x], dy[at.y], dy[at.z], dy[at.w]), ok);
      t = step_k(t, one);
    }
    tap = step_k(tap, step);
    workgroupBarrier();
    for (var kb = 0u; kb < BK; kb++) {
      let a = tile_w[kb * (TM / 4u + 1u) + lid.y];
      let v = tile_g[kb * (TN / 4u) + lid.x];
      acc[0] += a * v.x;
      acc[1] += a * v.y;
      acc[2] += a * v.z;
      acc[3] += a * v.w;
    }
    workgroupBarrier();
  }
  let ds = params.dx_base + n * params.dx_stride + split * params.split_stride;
  for (var j = 0u; j < 4u; j++) {
    let pj = p_tile + 4u * lid.x + j;
    if (pj >= plane) { break; }
    for (var i = 0u; i < 4u; i++) {
      let cl = c_tile + 4u * lid.y + i;
      if (cl >= params.cin_g) { break; }
      dx[ds + (grp * params.cin_g + cl) * plane + pj] = acc[j][i];
    }
  }
}
