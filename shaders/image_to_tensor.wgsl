// Image preprocessing: RGBA8 pixels -> one (3, outH, outW) float sample of an (N, 3, outH, outW)
// tensor. Crop, bilinear resize, channel reorder and normalize in one pass:
//
//   s   = (o + 0.5) * crop / out - 0.5, clamped to >= 0    (half-pixel centres, per axis; torch's
//         bilinear with align_corners = false and no antialias; s = o exactly when crop == out)
//   p   = bilinear blend of the 4 crop pixels around (sx, sy), neighbours clamped to the crop
//   v_c = (p[src(c)] * scale - mean[c]) / std[c],  src(c) = c for 'rgb', 2 - c for 'bgr'
//
// Pixels arrive as one u32 word per pixel (byte 0 = R, 1 = G, 2 = B, 3 = A, row-major, `width`
// words per row); channels are unpacked with shifts so 0..255 stay exact integers.
// Bindings: 0 params (uniform), 1 pixels (read, array<u32>), 2 y (read_write).
// Dispatch: (ceil(outW / 16), ceil(outH / 16)), 16 x 16 workgroups, one invocation per output
// pixel writing its 3 channels to y_base + sample * y_stride + c * outH * outW + oy * outW + ox.

struct Params {
  width: u32,
  crop_x: u32, crop_y: u32, crop_w: u32, crop_h: u32,
  out_w: u32, out_h: u32,
  bgr: u32,
  scale: f32,
  mean: vec3<f32>,
  stddev: vec3<f32>,
  y_base: u32, y_stride: u32,
  sample: u32,
  grid_x: u32, grid_y: u32, grid_z: u32,  // logical grid (foldGrid)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Logical id (workgroup, or invocation with `size` = the workgroup size) in a dispatch that
// foldGrid (engine/kernels/kernel.ts) may have folded: the dispatch's linear workgroup index
// walks the logical grid (grid_x, grid_y, grid_z) x-fastest; z >= grid_z marks a surplus workgroup.
fn logical_id(wid: vec3u, nwg: vec3u, lid: vec3u, size: vec3u) -> vec3u {
  let l = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  let g = vec3u(l % params.grid_x, (l / params.grid_x) % params.grid_y, l / (params.grid_x * params.grid_y));
  return g * size + lid;
}

fn texel(x: u32, yy: u32) -> vec3f {
  let word = pixels[(params.crop_y + yy) * params.width + params.crop_x + x];
  return vec3f(f32(word & 0xffu), f32((word >> 8u) & 0xffu), f32((word >> 16u) & 0xffu));
}

/// Source coordinate along one axis: (lower neighbour, upper neighbour, weight of the upper).
/// s = (2o + 1) * crop / (2 out) - 1/2 is evaluated as the exact integer fraction
/// ((2o + 1) * crop - out) / (2 out), so its integer part is exact and only the weight rounds.
/// crop == out is the identity (s = o), taken without the products, so any width works there;
/// otherwise (2o + 1) * crop stays below 2^31 because the op refuses crop * out >= 2^30.
fn axis(o: u32, crop: u32, out: u32) -> vec3f {
  if (crop == out) { return vec3f(f32(o), f32(o), 0.0); }
  let num = i32((2u * o + 1u) * crop) - i32(out);
  let den = 2u * out;
  var i0 = 0u;
  var t = 0.0;
  if (num > 0) {
    i0 = u32(num) / den;
    t = f32(u32(num) % den) / f32(den);
  }
  let lo = min(i0, crop - 1u);
  let hi = min(i0 + 1u, crop - 1u);
  return vec3f(f32(lo), f32(hi), select(t, 0.0, i0 >= crop - 1u));
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid_in: vec3u, @builtin(num_workgroups) nwg: vec3u,
    @builtin(local_invocation_id) lid_in: vec3u) {
  let gid = logical_id(wid_in, nwg, lid_in, vec3u(16u, 16u, 1u));
  if (gid.z >= params.grid_z) { return; }
  let ox = gid.x;
  let oy = gid.y;
  if (ox >= params.out_w || oy >= params.out_h) { return; }
  let ax = axis(ox, params.crop_w, params.out_w);
  let ay = axis(oy, params.crop_h, params.out_h);
  let x0 = u32(ax.x);
  let x1 = u32(ax.y);
  let y0 = u32(ay.x);
  let y1 = u32(ay.y);
  let top = mix(texel(x0, y0), texel(x1, y0), ax.z);
  let bottom = mix(texel(x0, y1), texel(x1, y1), ax.z);
  var rgb = mix(top, bottom, ay.z);
  if (params.bgr != 0u) { rgb = rgb.zyx; }
  let v = (rgb * params.scale - params.mean) / params.stddev;
  let plane = params.out_w * params.out_h;
  let at = params.y_base + params.sample * params.y_stride + oy * params.out_w + ox;
  y[at] = v.x;
  y[at + plane] = v.y;
  y[at + 2u * plane] = v.z;
}
