// gemv_sparse.wgsl — y = W·x (+ b) (+ y) with W unstructured-sparse (the 'sparse' LinearWeight format, after
// magnitude pruning), stored as sliced ELLPACK with 16-row chunks and rows sorted by length (SELL-16-σ, σ = rows).
//
//   Rows are stored sorted by their number of nonzeros (descending; ties by index): stored row j is matrix row
//   perm[j], so chunks hold rows of similar length and padding stays small. Stored rows are cut into slices of
//   4 (one thread each) and chunks of C = 4 slices (16 rows). A chunk is padded to its longest row, L_c
//   nonzeros; its slots are stored k-major: slot(c, k, lane) = chunk[c] + k·C + lane.
//     vals:  array<vec4f>  slot → the k-th kept weight of the slice's 4 rows (0 past a row's end)
//     cix:   array<vec2u>  slot → their 4 column indices, u16 each: x = c0 | c1 << 16, y = c2 | c3 << 16
//     chunk: array<u32>    (nChunks + 1) first slot of each chunk; L_c = (chunk[c+1] − chunk[c]) / C
//     perm:  array<u32>    (rows) matrix row of each stored row (outputs and bias are read/written through it)
//   Padding slots hold value 0 at column 0 (a real input, so 0·x stays 0). cols ≤ 65536 (u16 indices).
//   Bytes per stored nonzero: 4 (value) + 2 (column) = 6, vs 4 per weight dense: the format reads fewer bytes
//   than dense once density < 2/3 (plus padding); where the crossover really lies is measured (see
//   src/kernels/gemv-sparse.ts, SPARSE_CROSSOVER).
//   y[t, r] = Σ_k vals_r[k]·x[t, col_r[k]] + (HAS_BIAS ? b[r] : 0) + (ACCUMULATE ? y[t, r] : 0)
//
// Why this format and not CSR or a bitmap, for these GPUs:
//   - SwiftShader (CPU Vulkan): invocations run 4 to a SIMD group (subgroup size 4) and it likes sequential
//     streams and no divergence. A chunk's 4 threads are one SIMD group and share one loop count (no
//     divergence); at step k they read 4 consecutive vec4 values (64 contiguous bytes) and 32 bytes of indices,
//     so a chunk is one sequential stream. No shared memory, no barriers (expensive here), like gemv's rows4.
//     CSR with a thread per row loops a different count in every lane and walks 4 unrelated streams; CSR with
//     a workgroup per row needs a barrier reduction (~40× slower here for dense GEMV). A bitmap (1 bit per
//     weight + packed values) reads fewer bytes at low sparsity, but decoding is a data-dependent
//     count-trailing-zeros loop per word with lane-divergent trip counts and a per-row value offset.
//   - Real GPUs: a warp covers 8 chunks; each chunk's step-k loads are 64 B (values) + 32 B (indices),
//     whole 32-B sectors, so loads are fully sector-efficient; u16 indices cut index bytes in half vs CSR's u32;
//     sorting rows by length (σ) balances the threads of a warp and keeps padding small (trained weights have
//     rows of quite different lengths after magnitude pruning; the padding is reported: meta.padding).
//     The x gathers hit a small vector (≤ 3 KiB here) that stays in cache.
//   Measured on SwiftShader with the lab-target's trained weights: a lane-interleaved (SoA) value layout and
//   x staged in workgroup memory (one barrier) were no faster or slower; without the row sort, padding at 80%
//   sparsity added 20–54% slots over the nonzeros (1–8% with it), and the time follows the slots.
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, rows: u32, cols: u32, slices: u32 }  (slices = ceil(rows / 4))
//   1 read     vals: array<vec4f>
//   2 read     cix: array<vec2u>
//   3 read     chunk: array<u32>
//   4 read     perm: array<u32>
//   5 read     x: array<f32>   (n, cols)
//   6 read     b: array<f32>   (bind any tensor when HAS_BIAS is false; it is not read)
//   7 rw       y: array<f32>   (n, rows)
//
// entry points (variants):
//   gemv   — decode (n = 1): one thread per slice (4 rows). dispatch: ceil(slices / WG) workgroups of WG
//            threads (WG a multiple of 4 so a chunk never straddles workgroups).
//   matmul — prefill (n > 1): one thread per slice × 4 tokens; each slot's values and indices are read once
//            for 4 tokens. dispatch: (ceil(slices / WG), ceil(n / 4)).

struct Dims { n: u32, rows: u32, cols: u32, slices: u32 }

const C: u32 = 4u; // slices (threads) per chunk

override WG: u32 = 64;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> vals: array<vec4f>;
@group(0) @binding(2) var<storage, read> cix: array<vec2u>;
@group(0) @binding(3) var<storage, read> chunk: array<u32>;
@group(0) @binding(4) var<storage, read> perm: array<u32>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read> b: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

// Output of stored row j for token t.
fn finish(t: u32, j: u32, acc: f32) {
  let r = perm[j];
  let i = t * dims.rows + r;
  var v = acc;
  if (HAS_BIAS) { v += b[r]; }
  if (ACCUMULATE) { v += y[i]; }
  y[i] = v;
}

fn cols4(ci: vec2u) -> vec4u {
  return vec4u(ci.x & 0xffffu, ci.x >> 16u, ci.y & 0xffffu, ci.y >> 16u);
}

@compute @workgroup_size(WG)
fn gemv(@builtin(global_invocation_id) gid: vec3u) {
  let s = gid.x;
  if (s >= dims.slices) { return; }
  let start = chunk[s / C] + s % C;
  let len = (chunk[s / C + 1u] - chunk[s / C]) / C;
  var acc = vec4f(0.0);
  for (var k = 0u; k < len; k++) {
    let slot = start + k * C;
    let c = cols4(cix[slot]);
    acc += vals[slot] * vec4f(x[c.x], x[c.y], x[c.z], x[c.w]);
  }
  let r0 = s * 4u;
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < dims.rows) { finish(0u, r0 + i, acc[i]); }
  }
}

@compute @workgroup_size(WG)
fn matmul(@builtin(global_invocation_id) gid: vec3u) {
  let s = gid.x;
  let t0 = gid.y * 4u;
  if (s >= dims.slices || t0 >= dims.n) { return; }
  let start = chunk[s / C] + s % C;
  let len = (chunk[s / C + 1u] - chunk[s / C]) / C;
  let lt = dims.n - 1u;
  let xb = vec4u(t0, min(t0 + 1u, lt), min(t0 + 2u, lt), min(t0 + 3u, lt)) * dims.cols; // x row starts
  var acc: array<vec4f, 4>; // acc[token][row]
  for (var k = 0u; k < len; k++) {
    let slot = start + k * C;
    let c = cols4(cix[slot]);
    let v = vals[slot];
    for (var t = 0u; t < 4u; t++) {
      let o = xb[t];
      acc[t] += v * vec4f(x[o + c.x], x[o + c.y], x[o + c.z], x[o + c.w]);
    }
  }
  let r0 = s * 4u;
  for (var t = 0u; t < 4u; t++) {
    if (t0 + t >= dims.n) { break; }
    for (var i = 0u; i < 4u; i++) {
      if (r0 + i < dims.rows) { finish(t0 + t, r0 + i, acc[t][i]); }
    }
  }
}
