// Deprocessing for display: one (3, H, W) sample of an (N, 3, H, W) tensor -> RGBA8 pixels.
//
//   pixel_c = clamp(floor((v_c * std[c] + mean[c]) / scale + 0.5), 0, 255)   (round half up)
//   channel c of the tensor is R, G, B for 'rgb' and B, G, R for 'bgr'; alpha is 255.
//
// Packed as one u32 word per pixel (byte 0 = R, 1 = G, 2 = B, 3 = A), row-major, so the bytes of
// the read-back buffer are the RGBA image.
// Bindings: 0 params (uniform), 1 x (read), 2 pixels (read_write, array<u32>).
// Dispatch: (ceil(W / 16), ceil(H / 16)), 16 x 16 workgroups, one invocation per pixel.

struct Params {
  width: u32, height: u32,
  bgr: u32,
  scale: f32,
  mean: vec3<f32>,
  stddev: vec3<f32>,
  x_base: u32, x_stride: u32,
  sample: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> pixels: array<u32>;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.width || gid.y >= params.height) { return; }
  let p = gid.y * params.width + gid.x;
  let plane = params.width * params.height;
  let at = params.x_base + params.sample * params.x_stride + p;
  let v = vec3f(x[at], x[at + plane], x[at + 2u * plane]);
  var c = clamp(floor((v * params.stddev + params.mean) / params.scale + 0.5), vec3f(0.0), vec3f(255.0));
  if (params.bgr != 0u) { c = c.zyx; }
  let u = vec3u(c);
  pixels[p] = u.x | (u.y << 8u) | (u.z << 16u) | (255u << 24u);
}
