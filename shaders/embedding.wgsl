// embedding.wgsl — token embedding lookup (gather), f32.
//
//   table: (vocab, dim) row-major f32 (HF embed_tokens / wte weight)   ids: (n) u32   out: (n, dim)
//   out[t, c] = table[ids[t] - row0, c]     when row0 <= ids[t] < row0 + vocab
//             = 0 (FILL_ZEROS) or left untouched (!FILL_ZEROS) otherwise (never reads out of bounds;
//                                           the engine validates ids earlier, this is a guard)
//   A table larger than one storage binding is split into row chunks (src/model/embedding-table.ts): chunk i
//   holds rows [row0, row0 + vocab) of the whole table; the first chunk runs with FILL_ZEROS, the others without,
//   so every token is written by the chunk that owns its id (and ids past the whole table give zeros).
//   Unsplit: row0 = 0, FILL_ZEROS.
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, dim: u32, vocab: u32, row0: u32 }
//   1 read     table: array<f32> (array<vec4f> in main_vec4)
//   2 read     ids:   array<u32>
//   3 rw       out:   array<f32> (array<vec4f> in main_vec4)
//
// dispatch: one thread per output element (per vec4 in main_vec4): ceil(n·dim[/4] / WG) workgroups of WG,
//           folded into (x, y) when that exceeds 65535; thread index = (wid.y·nwg.x + wid.x)·WG + lid.
// entry points (variants):
//   main_vec4 — dim % 4 == 0: 16-byte loads and stores.
//   main      — any dim.

struct Dims { n: u32, dim: u32, vocab: u32, row0: u32 }

override WG: u32 = 64;
override FILL_ZEROS: bool = true;

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
  let id = ids[t] - dims.row0; // wraps below row0: then >= vocab
  if (id < dims.vocab) { out[i] = table[id * dims.dim + c]; } else if (FILL_ZEROS) { out[i] = 0.0; }
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  let d4 = dims.dim / 4u;
  if (i >= dims.n * d4) { return; }
  let t = i / d4;
  let c = i - t * d4;
  let id = ids[t] - dims.row0; // wraps below row0: then >= vocab
  if (id < dims.vocab) { out4[i] = table4[id * d4 + c]; } else if (FILL_ZEROS) { out4[i] = vec4f(0.0); }
}
