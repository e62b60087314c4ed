// Lucid's `to_valid_rgb` for the decorrelated image parameterizations, per pixel of (N, 3, H, W):
//
//   forward   u = R t + offset (R the 3x3 colour decorrelation, the square root of ImageNet's colour
//             covariance scaled so its largest column norm is 1; offset 0 with the sigmoid),
//             y = sigmoid(u) (sigmoid = 1) or y = u
//   backward  from the forward output y and dL/dy:  du = dy * y (1 - y) (sigmoid) or dy,
//             dt = R^T du  (the op passes R^T as `rows`)
//
// Each pass is one 3x3 mix `rows` (three vec4f rows, w unused) of a per-pixel 3-vector.
// t, y, dy, dt may be channel views: (c, p) of sample n at <t>_base + n * <t>_stride + c * H*W + p.
// Bindings: 0 params (uniform), 1 src (read: t forward, y backward), 2 dy (read, backward only),
//           3 dst (read_write).
// Dispatch: sampleGrid(H * W, N, WG): pixel p = gid.x + gid.y * num_workgroups.x * WG, n = gid.z.

struct Params {
  hw: u32,
  sigmoid: u32,
  src_base: u32, src_stride: u32,
  dy_base: u32, dy_stride: u32,
  dst_base: u32, dst_stride: u32,
  row0: vec4f, row1: vec4f, row2: vec4f,
  offset: vec4f,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn mix3(v: vec3f) -> vec3f {
  return vec3f(dot(params.row0.xyz, v), dot(params.row1.xyz, v), dot(params.row2.xyz, v));
}

fn load3(n: u32, p: u32) -> vec3f {
  let b = params.src_base + n * params.src_stride + p;
  return vec3f(src[b], src[b + params.hw], src[b + 2u * params.hw]);
}

fn store3(n: u32, p: u32, v: vec3f) {
  let b = params.dst_base + n * params.dst_stride + p;
  dst[b] = v.x;
  dst[b + params.hw] = v.y;
  dst[b + 2u * params.hw] = v.z;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * WG;
  if (p >= params.hw) { return; }
  var u = mix3(load3(gid.z, p)) + params.offset.xyz;
  if (params.sigmoid != 0u) { u = 1.0 / (1.0 + exp(-u)); }
  store3(gid.z, p, u);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * WG;
  if (p >= params.hw) { return; }
  let n = gid.z;
  let b = params.dy_base + n * params.dy_stride + p;
  var du = vec3f(dy[b], dy[b + params.hw], dy[b + 2u * params.hw]);
  if (params.sigmoid != 0u) {
    let y = load3(n, p);
    du *= y * (1.0 - y);
  }
  store3(n, p, mix3(du));
}
