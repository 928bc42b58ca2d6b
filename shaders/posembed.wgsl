// posembed.wgsl — learned absolute position embeddings (GPT-2's wpe), added in place to the residual stream, f32.
//
//   table: (rows, dim) row-major f32 (HF wpe weight, rows = n_positions)   x: (n, dim) token embeddings
//   x[t, c] += table[pos0 + t, c]           for tokens t = 0 .. n−1 at positions pos0 .. pos0+n−1;
//                                           a position >= rows adds 0 (never reads out of bounds; the forward
//                                           pass refuses positions past maxSeq earlier, this is a guard)
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, dim: u32, rows: u32, pos0: u32 }
//   1 read     table: array<f32> (array<vec4f> in main_vec4)
//   2 rw       x:     array<f32> (array<vec4f> in main_vec4)
//
// dispatch: one thread per element of x (per vec4 in main_vec4): ceil(n·dim[/4] / WG) workgroups of WG, folded
//           into (x, y) when that exceeds 65535; thread index = (wid.y·nwg.x + wid.x)·WG + lid.
// entry points (variants):
//   main_vec4 — dim % 4 == 0: 16-byte loads and stores.
//   main      — any dim.

struct Dims { n: u32, dim: u32, rows: u32, pos0: u32 }

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

@group(0) @binding(1) var<storage, read> table4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> x4: array<vec4f>;

fn flat_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= dims.n * dims.dim) { return; }
  let t = i / dims.dim;
  let c = i - t * dims.dim;
  let p = dims.pos0 + t;
  if (p < dims.rows) { x[i] += table[p * dims.dim + c]; }
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  let d4 = dims.dim / 4u;
  if (i >= dims.n * d4) { return; }
  let t = i / d4;
  let c = i - t * d4;
  let p = dims.pos0 + t;
  if (p < dims.rows) { x4[i] += table4[p * d4 + c]; }
}
