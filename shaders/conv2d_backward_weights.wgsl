// Conv2d backward to the weights and bias, summed over the batch:
//   dw[co, c, ky, kx] = sum_{n, oy, ox} dy[n, co, oy, ox] * x[n, g*Cin/G + c, oy*sh - pt + ky, ox*sw - pl + kx]
//   db[co]            = sum_{n, oy, ox} dy[n, co, oy, ox]
// with g = co / (Cout/G) and taps outside the input reading 0. x (N, Cin, H, W) and
// dy (N, Cout, OH, OW) may be channel views (<t>_base + n * <t>_stride); dw (Cout, Cin/G, KH, KW)
// and db (Cout) are dense and fully overwritten.
//
// Bindings: 0 params (uniform), 1 x (read), 2 dy (read), 3 dw (read_write), 4 db (read_write).
//
// Entry points:
//  backward_weights (every adapter): one invocation owns 4 output channels x 4 consecutive
//      filter taps k = (c, ky, kx) flattened, in four vec4 registers (one per tap, lanes =
//      channels), and reduces over N * OH * OW reading each dy value once per block.
//      gid.x = tap block (x_blocks = ceil(Cin/G*KH*KW / 4)), gid.y = group * c_blocks + channel
//      block. No workgroup memory. The reduction may be split (for GPUs, where a batch-1 layer
//      has too few blocks to fill the device): split s = gid.z sums the rows r = n * OH + oy in
//      [s * row_chunk, (s + 1) * row_chunk) and writes dw + s * split_stride of a dense (S, Cout,
//      Cin/G*KH*KW) scratch stack, which engine/kernels/sum.ts's stack sum reduces in a fixed
//      order (deterministic, no atomics). Unsplit: row_chunk = N * OH, split_stride = 0.
//      Dispatch (ceil(x_blocks / WG), G * ceil(Cout/G / 4), splits).
//  backward_bias: one invocation per output channel sums its dy plane over the batch.
//      Dispatch (ceil(Cout / WG)).

struct Params {
  cin: u32, h: u32, w: u32,
  cout: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, pt: u32, pl: u32,
  cin_g: u32, cout_g: u32,
  x_blocks: u32, c_blocks: u32, n: u32,
  row_chunk: u32, split_stride: u32,
  x_base: u32, x_stride: u32,
  dy_base: u32, dy_stride: u32,
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
}

override WG: u32 = 64;
const CB = 4u;  // output channels per invocation
const KB = 4u;  // filter taps per invocation

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

@compute @workgroup_size(WG)
fn backward_weights(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
  if (gid.x >= params.x_blocks) { return; }
  let kk = params.kh * params.kw;
  let ksize = params.cin_g * kk;
  let grp = gid.y / params.c_blocks;
  let cl0 = (gid.y % params.c_blocks) * CB;
  let k0 = gid.x * KB;
  // The block's taps (the tail clamped to the last tap): channel offset, ky, kx of each.
  let k = min(vec4u(k0) + vec4u(0u, 1u, 2u, 3u), vec4u(ksize - 1u));
  let plane = params.h * params.w;
  let xoff = (grp * params.cin_g + k / kk) * plane;
  let ky = vec4i((k % kk) / params.kw) - i32(params.pt);
  let kx = vec4i(k % params.kw) - i32(params.pl);
  let plane_o = params.oh * params.ow;
  let co = grp * params.cout_g + min(vec4u(cl0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.cout_g - 1u));
  let hi = vec4i(i32(params.h));
  let wi = vec4i(i32(params.w));
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  // Rows r = n * OH + oy of this split, stepping (n, oy) without division.
  let r0 = gid.z * params.row_chunk;
  let r1 = min(r0 + params.row_chunk, params.n * params.oh);
  var n = r0 / params.oh;
  var oy = r0 % params.oh;
  for (var r = r0; r < r1; r++) {
    let xs = xoff + params.x_base + n * params.x_stride;
    let ds = co * plane_o + params.dy_base + n * params.dy_stride;
    let iy = ky + i32(oy * params.sh);
    let row_in = (iy >= vec4i(0)) & (iy < hi);
    let xr = xs + vec4u(clamp(iy, vec4i(0), hi - 1)) * params.w;
    let dr = ds + oy * params.ow;
    for (var ox = 0u; ox < params.ow; ox++) {
      let g = vec4f(dy[dr.x + ox], dy[dr.y + ox], dy[dr.z + ox], dy[dr.w + ox]);
      let ix = kx + i32(ox * params.sw);
      let inside = row_in & (ix >= vec4i(0)) & (ix < wi);
      let at = xr + vec4u(clamp(ix, vec4i(0), wi - 1));
      let xv = select(vec4f(0.0), vec4f(x[at.x], x[at.y], x[at.z], x[at.w]), inside);
      a0 += g * xv.x;
      a1 += g * xv.y;
      a2 += g * xv.z;
      a3 += g * xv.w;
    }
    oy++;
    if (oy == params.oh) { oy = 0u; n++; }
  }
  for (var i = 0u; i < CB; i++) {
    if (cl0 + i >= params.cout_g) { return; }
    let row = gid.z * params.split_stride + (grp * params.cout_g + cl0 + i) * ksize + k0;
    dw[row] = a0[i];
    if (k0 + 1u < ksize) { dw[row + 1u] = a1[i]; }
    if (k0 + 2u < ksize) { dw[row + 2u] = a2[i]; }
    if (k0 + 3u < ksize) { dw[row + 3u] = a3[i]; }
  }
}

@compute @workgroup_size(WG)
fn backward_bias(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(WG, 1u, 1u));
  if (gid.z >= params.grid_z) { return; }
  let co = gid.x;
  if (co >= params.cout) { return; }
  let plane_o = params.oh * params.ow;
  var s = 0.0;
  for (var n = 0u; n < params.n; n++) {
    let at = params.dy_base + n * params.dy_stride + co * plane_o;
    for (var p = 0u; p < plane_o; p++) { s += dy[at + p]; }
  }
  db[co] = s;
}
