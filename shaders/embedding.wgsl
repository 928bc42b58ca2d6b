// embedding.wgsl — token embedding lookup (gather), f32.
//
//   table: (vocab, dim) row-major f32 (HF embed_tokens / wte weight)   ids: (n) u32   out: (n, dim)
//   out[t, c] = table[ids[t], c]            and 0 when ids[t] >= vocab (never reads out of bounds;
//                                           the engine validates ids earlier, this is a guard)
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, dim: u32, vocab: u32 }
//   1 read     table: array<f32> (array<vec4f> in main_vec4)
//   2 read     ids:   array<u32>
//   3 rw       out:   array<f32> (array<vec4f> in main_vec4)
//
// dispatch: one thread per output element (per vec4 in main_vec4): ceil(n·dim[/4] / WG) workgroups of WG,
//           folded into (x, y) when that exceeds 65535; thread index = (wid.y·nwg.x + wid.x)·WG + lid.
// entry points (variants):
//   main_vec4 — dim % 4 == 0: 16-byte loads and stores.
//   main      — any dim.

struct Dims { n: u32, dim: u32, vocab: u32 }

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@group(0) @binding(1) var<storage, read> table4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;

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
  let id = ids[t];
  var v = 0.0;
  if (id < dims.vocab) { v = table[id * dims.dim + c]; }
  out[i] = v;
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  let d4 = dims.dim / 4u;
  if (i >= dims.n * d4) { return; }
  let t = i / d4;
  let c = i - t * d4;
  let id = ids[t];
  var v = vec4f(0.0);
  if (id < dims.vocab) { v = table4[id * d4 + c]; }
  out4[i] = v;
}
