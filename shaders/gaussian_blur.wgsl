// Separable Gaussian blur of every (n, c) plane of an (N, C, H, W) tensor, one axis per dispatch
// (horizontal into a temporary, then vertical into the output):
//
//   dst[h, w] = sum_{k=-r..r} g(k) src[clamp(h + k dy), clamp(w + k dx)] / sum_k g(k),
//   g(k) = exp(-k^2 / (2 sigma^2)), r = ceil(3 sigma); borders clamp to the edge.
//   radius 0 (with inv_two_sigma2 = 0) copies, which is how sigma <= 0 is served.
//
// src and dst are located by <t>_base + n * <t>_stride + c * H * W + h * W + w (channel views work).
// Bindings: 0 params (uniform), 1 src (read), 2 dst (read_write).
// Dispatch: sampleGrid(C * H * W, N, WG): element i = gid.x + gid.y * num_workgroups.x * WG of
// sample n = gid.z is channel i / (H * W), pixel i % (H * W) (x folds into y past 65535 groups).
// One invocation per output element, weights computed in registers (the normalising sum
// alongside), no workgroup memory.

struct Params {
  height: u32, width: u32,
  channels: u32,
  radius: u32,
  vertical: u32,
  inv_two_sigma2: f32,
  src_base: u32, src_stride: u32,
  dst_base: u32, dst_stride: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let plane = params.height * params.width;
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.channels * plane) { return; }
  let p = i % plane;
  let h = i32(p / params.width);
  let w = i32(p % params.width);
  let offset = (i / plane) * plane;
  let s0 = params.src_base + gid.z * params.src_stride + offset;
  let r = i32(params.radius);
  var acc = 0.0;
  var norm = 0.0;
  for (var k = -r; k <= r; k++) {
    var hh = h;
    var ww = w;
    if (params.vertical != 0u) { hh = clamp(h + k, 0, i32(params.height) - 1); } else { ww = clamp(w + k, 0, i32(params.width) - 1); }
    let g = exp(-f32(k * k) * params.inv_two_sigma2);
    acc += g * src[s0 + u32(hh) * params.width + u32(ww)];
    norm += g;
  }
  dst[params.dst_base + gid.z * params.dst_stride + offset + p] = acc / norm;
}
