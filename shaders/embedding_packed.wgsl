// embedding_packed.wgsl — token embedding lookup (gather) from a PACKED table: f16 or q8, dequantized to f32.
//
//   ids: (n) u32   out: (n, dim) f32
//   out[t, c] = ŵ[ids[t] - row0, c]   when row0 <= ids[t] < row0 + vocab
//             = 0 (FILL_ZEROS) or left untouched (!FILL_ZEROS) otherwise — exactly as shaders/embedding.wgsl
//   (row chunks of a split table: src/model/embedding-table.ts; the first chunk FILL_ZEROS, the later ones not).
//   Tables (the linear formats' layouts, so a tied lm_head reads the very same buffers):
//     f16 (src/ref/f16.ts): table (vocab, wpr) u32, wpr = ceil(dim / 2); element (r, 2j) in the low 16 bits of
//         word (r, j), (r, 2j + 1) in the high 16 bits; ŵ = unpack2x16float(word) (core WGSL, every adapter).
//     q8 (src/techniques/quantize.ts): table (vocab, wpr) u32, wpr = ceil(dim / 4), element 4j+i in byte i of word
//         j (two's complement int8); scales (vocab, ng) f32, ng = ceil(dim / G); ŵ = f32(q) · scales[r, c / G].
//         G (override) is a multiple of 8, so a word never straddles two groups.
//   Every ŵ is exactly what the CPU dequantizers give (f16 → f32 is exact; q·s is one f32 product), so the spec
//   (src/ref/embedding.ts embedF16 / embedQ8) is met exactly.
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, dim: u32, vocab: u32, row0: u32 }
//   1 read     table:  array<u32>
//   2 read     ids:    array<u32>
//   3 rw       out:    array<f32> (array<vec4f> in the *_vec4 entry points)
//   4 read     scales: array<f32> (q8 entry points only)
//
// dispatch: one thread per output element (per 4 elements in *_vec4): ceil(n·dim[/4] / WG) workgroups of WG,
//           folded into (x, y) when that exceeds 65535; thread index = (wid.y·nwg.x + wid.x)·WG + lid.
// entry points:
//   f16_main / q8_main — any dim.
//   f16_vec4 — dim % 4 == 0: two words → one vec4 store.   q8_vec4 — dim % 4 == 0: one word → one vec4 store.

struct Dims { n: u32, dim: u32, vocab: u32, row0: u32 }

override WG: u32 = 64;
override FILL_ZEROS: bool = true;
override G: u32 = 32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;
@group(0) @binding(4) var<storage, read> scales: array<f32>;

fn flat_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

/** Signed byte b (0..3) of word w. */
fn i8_at(w: u32, b: u32) -> f32 {
  return f32(extractBits(bitcast<i32>(w), 8u * b, 8u));
}

@compute @workgroup_size(WG)
fn f16_main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= dims.n * dims.dim) { return; }
  let t = i / dims.dim;
  let c = i - t * dims.dim;
  let id = ids[t] - dims.row0; // wraps below row0: then >= vocab
  if (id < dims.vocab) {
    let h = unpack2x16float(table[id * ((dims.dim + 1u) / 2u) + c / 2u]);
    out[i] = select(h.x, h.y, (c & 1u) == 1u);
  } else if (FILL_ZEROS) { out[i] = 0.0; }
}

@compute @workgroup_size(WG)
fn f16_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  let d4 = dims.dim / 4u;
  if (i >= dims.n * d4) { return; }
  let t = i / d4;
  let c = i - t * d4;
  let id = ids[t] - dims.row0;
  if (id < dims.vocab) {
    let w = id * (dims.dim / 2u) + 2u * c;
    out4[i] = vec4f(unpack2x16float(table[w]), unpack2x16float(table[w + 1u]));
  } else if (FILL_ZEROS) { out4[i] = vec4f(0.0); }
}

@compute @workgroup_size(WG)
fn q8_main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= dims.n * dims.dim) { return; }
  let t = i / dims.dim;
  let c = i - t * dims.dim;
  let id = ids[t] - dims.row0;
  if (id < dims.vocab) {
    let q = i8_at(table[id * ((dims.dim + 3u) / 4u) + c / 4u], c & 3u);
    out[i] = q * scales[id * ((dims.dim + G - 1u) / G) + c / G];
  } else if (FILL_ZEROS) { out[i] = 0.0; }
}

@compute @workgroup_size(WG)
fn q8_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  let d4 = dims.dim / 4u;
  if (i >= dims.n * d4) { return; }
  let t = i / d4;
  let c = i - t * d4;
  let id = ids[t] - dims.row0;
  if (id < dims.vocab) {
    let w = table[id * d4 + c];
    let s = scales[id * ((dims.dim + G - 1u) / G) + (4u * c) / G];
    out4[i] = vec4f(i8_at(w, 0u), i8_at(w, 1u), i8_at(w, 2u), i8_at(w, 3u)) * s;
  } else if (FILL_ZEROS) { out4[i] = vec4f(0.0); }
}
