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
//  backward_input_direct (CPU adapters): one invocation owns 4 input channels x 4 input columns
//      of one input row, in four vec4 registers. Its columns are ix = phase + sw * (4m + j),
//      j = 0..3, all of one phase (ix mod sw), so they share the same valid taps kx = phase + pl
//      (mod sw), and tap kx reads the 4 consecutive dy columns ox = (phase + pl - kx) / sw + 4m + j.
//      Loops: valid ky, valid kx, then the group's output channels innermost.
//      gid.x = (iy * sw + phase) * x_blocks + m with x_blocks = ceil(ceil(W / sw) / 4).
//      Dispatch (ceil(H * sw * x_blocks / WG), G * ceil(Cin/G / 4), N). No workgroup memory.
//  backward_input_tiled (GPUs): implicit GEMM, M = Cin/G channels, N = H*W pixels,
//      K = Cout/G*KH*KW, B[k = (co, ky, kx)][pixel] = dy at (oy, ox) above or 0. 64 x 64 tiles,
//      16x16 threads with 4 x 4 register blocks, BK-deep workgroup-memory stages, as in
//      conv2d.wgsl's conv2d_tiled. x_blocks = ceil(H*W / 64), c_blocks = ceil(Cin/G / 64).

struct Params {
  cin: u32, h: u32, w: u32,
  cout: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, pt: u32, pl: u32,
  cin_g: u32, cout_g: u32,
  x_blocks: u32, c_blocks: u32,
  dy_base: u32, dy_stride: u32,
  dx_base: u32, dx_stride: u32,
  w_base: u32,
}

override WG: u32 = 64;
/** K step of backward_input_tiled. */
override BK: u32 = 16;
const CB = 4u;     // direct: input channels per invocation
const TILE = 64u;  // tiled: channels and pixels per workgroup tile

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn store(acc: vec4f, n: u32, grp: u32, cl0: u32, pixel: u32) {
  let plane = params.h * params.w;
  for (var i = 0u; i < CB; i++) {
    if (cl0 + i >= params.cin_g) { return; }
    dx[params.dx_base + n * params.dx_stride + (grp * params.cin_g + cl0 + i) * plane + pixel] = acc[i];
  }
}

@compute @workgroup_size(WG)
fn backward_input_direct(@builtin(global_invocation_id) gid: vec3u) {
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
        for (var c = 0u; c < params.cout_g; c++) {
          let k = tap + c * fsize;
          let wv = vec4f(wt[wc.x + k], wt[wc.y + k], wt[wc.z + k], wt[wc.w + k]);
          let o = c * plane_o;
          let g = select(vec4f(0.0), vec4f(dy[at.x + o], dy[at.y + o], dy[at.z + o], dy[at.w + o]), inside);
          a0 += wv * g.x;
          a1 += wv * g.y;
          a2 += wv * g.z;
          a3 += wv * g.w;
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

var<workgroup> tile_w: array<f32, TILE * BK>;  // [kk][input channel]
var<workgroup> tile_g: array<f32, TILE * BK>;  // [kk][input pixel]

@compute @workgroup_size(16, 16)
fn backward_input_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let grp = wid.y / params.c_blocks;
  let c_tile = (wid.y % params.c_blocks) * TILE;
  let p_tile = wid.x * TILE;
  let n = wid.z;
  let kk = params.kh * params.kw;
  let ksize = params.cout_g * kk;
  let plane = params.h * params.w;
  let plane_o = params.oh * params.ow;
  let dys = params.dy_base + n * params.dy_stride + grp * params.cout_g * plane_o;
  let wg0 = params.w_base + grp * params.cout_g * params.cin_g * kk;
  var acc: array<vec4f, 4>;  // acc[j][i]: channel ty + 16i, pixel tx + 16j
  for (var k0 = 0u; k0 < ksize; k0 += BK) {
    for (var e = li; e < TILE * BK; e += 256u) {
      // A[ci][k]: consecutive threads take consecutive (ky, kx) taps of one input channel.
      let m = e / BK;
      let ak = k0 + e % BK;
      let cl = c_tile + m;
      var wv = 0.0;
      if (cl < params.cin_g && ak < ksize) {
        wv = wt[wg0 + ((ak / kk) * params.cin_g + cl) * kk + ak % kk];
      }
      tile_w[(e % BK) * TILE + m] = wv;
      // B[k][pixel]: consecutive threads take consecutive input pixels.
      let p = p_tile + e % TILE;
      let bk = k0 + e / TILE;
      var gv = 0.0;
      if (p < plane && bk < ksize) {
        let c = bk / kk;
        let ky = (bk % kk) / params.kw;
        let kx = bk % params.kw;
        let ty = i32(p / params.w + params.pt) - i32(ky);
        let tx = i32(p % params.w + params.pl) - i32(kx);
        if (ty >= 0 && tx >= 0 && u32(ty) % params.sh == 0u && u32(tx) % params.sw == 0u) {
          let oy = u32(ty) / params.sh;
          let ox = u32(tx) / params.sw;
          if (oy < params.oh && ox < params.ow) { gv = dy[dys + c * plane_o + oy * params.ow + ox]; }
        }
      }
      tile_g[e] = gv;
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let r = k * TILE;
      let av = vec4f(tile_w[r + lid.y], tile_w[r + lid.y + 16u], tile_w[r + lid.y + 32u], tile_w[r + lid.y + 48u]);
      acc[0] += av * tile_g[r + lid.x];
      acc[1] += av * tile_g[r + lid.x + 16u];
      acc[2] += av * tile_g[r + lid.x + 32u];
      acc[3] += av * tile_g[r + lid.x + 48u];
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < 4u; j++) {
    let p = p_tile + lid.x + 16u * j;
    if (p >= plane) { continue; }
    for (var i = 0u; i < 4u; i++) {
      let cl = c_tile + lid.y + 16u * i;
      if (cl >= params.cin_g) { continue; }
      dx[params.dx_base + n * params.dx_stride + (grp * params.cin_g + cl) * plane + p] = acc[j][i];
    }
  }
}
