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
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> pixels: array<u32>;

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(16u, 16u, 1u));
  if (gid.z >= params.grid_z) { return; }
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
