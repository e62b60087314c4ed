// Strided copy between (N, C, H, W) tensors of one shape: dst(n, i) = src(n, i) for every element
// i < C * H * W of each sample. concat uses it to place an input that was not written in place
// into its channel slice of the output (the destination is a channel view).
//
// src, dst may be channel views: element i of sample n of tensor t lives at
// t_base + n * t_stride + i.
//
// Bindings: 0 params (uniform), 1 src (read), 2 dst (read_write).
// Dispatch: one invocation per element of a sample, per_sample of them; workgroups along x fold
//   into y past 65535 (i = gid.x + gid.y * nwg.x * WG); the sample n is gid.z.

struct Params {
  per_sample: u32,   // C * H * W
  src_base: u32, src_stride: u32,
  dst_base: u32, dst_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  dst[params.dst_base + n * params.dst_stride + i] = src[params.src_base + n * params.src_stride + i];
}
