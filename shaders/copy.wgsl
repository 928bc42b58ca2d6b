// copy.wgsl — dst = src, vec4 at a time: the roofline's ceiling. A shader copy is what kernels can reach;
// copyBufferToBuffer uses a DMA/blit path no shader matches (≈8× faster on SwiftShader), so it is not used.
//
//   bytes moved = read n·16 + written n·16
//
// bindings (group 0):
//   0 uniform  Dims { n: u32 (vec4 count) }
//   1 read     src: array<vec4f>
//   2 rw       dst: array<vec4f>
// dispatch: (ceil(n / (WG·PER)) folded into (x, y)) workgroups of WG threads; each thread copies PER vec4s,
//           strided by the grid so consecutive threads touch consecutive vec4s.
// entry points: main (grid-strided, PER per thread); `noop` (one trivial store per workgroup) for measuring
//           the fixed cost of a dispatch.

struct Dims { n: u32 }
override WG: u32 = 256;
override PER: u32 = 4;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let stride = nwg.x * nwg.y * WG;
  var i = g * WG + lid;
  for (var k = 0u; k < PER; k++) {
    if (i < dims.n) { dst[i] = src[i]; }
    i += stride;
  }
}

@compute @workgroup_size(1)
fn noop(@builtin(workgroup_id) wid: vec3u) {
  if (wid.x == 0u && dims.n == 0xffffffffu) { dst[0] = src[0]; }
}
