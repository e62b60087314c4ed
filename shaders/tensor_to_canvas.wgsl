// Draw one (3, H, W) image tensor in the network's input space straight into a WebGPU canvas
// texture (the live view of the optimization loop: no read-back to the CPU per frame).
//
//   rgb_c = clamp((v_c * std[c] + mean[c]) / scale / 255, 0, 1)      the tensor_to_image.wgsl
//   deprocessing, as a colour in [0, 1]; tensor channel c is R, G, B for 'rgb', B, G, R for 'bgr'.
//   Each canvas pixel shows the tensor pixel under it (nearest neighbour), so a 64 x 64 image
//   fills a 256 x 256 canvas with crisp 4 x 4 blocks.
//
// Bindings: 0 params (uniform), 1 x (read-only storage, the tensor's bound range).
// Draw: one full-screen triangle (3 vertices, no vertex buffer); the fragment stage does the work,
// one invocation per canvas pixel.

struct Params {
  mean: vec4<f32>,      // per tensor channel, 0..255*scale units (.w unused)
  stddev: vec4<f32>,
  size: vec2<u32>,      // tensor W, H
  base: u32,            // element index of the sample inside the bound range
  bgr: u32,
  scale: f32,
  canvas: vec2<f32>,    // canvas width, height in pixels
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
  let p = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
  return vec4<f32>(p * 2.0 - 1.0, 0.0, 1.0);
}

fn channel(c: u32, px: vec2<u32>) -> f32 {
  let w = params.size.x;
  let h = params.size.y;
  let v = x[params.base + (c * h + px.y) * w + px.x];
  return clamp((v * params.stddev[c] + params.mean[c]) / params.scale / 255.0, 0.0, 1.0);
}

@fragment
fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
  let size = vec2<f32>(params.size);
  let px = vec2<u32>(min(floor(pos.xy * size / params.canvas), size - 1.0));
  let a = channel(0u, px);
  let b = channel(1u, px);
  let c = channel(2u, px);
  let rgb = select(vec3<f32>(a, b, c), vec3<f32>(c, b, a), params.bgr == 1u);
  return vec4<f32>(rgb, 1.0);
}
