// gemv_f16.wgsl — y = Ŵ·x (+ b) (+ y) for ONE token (decode), Ŵ stored as f16, accumulated in f32.
//
//   Ŵ: (rows, cols) as src/ref/f16.ts packs it (that file is the layout's spec): W (rows, wordsPerRow) u32,
//      wordsPerRow = ceil(cols / 2); element (r, 2j) in the low 16 bits of word (r, j), (r, 2j + 1) in the high
//      16 bits (IEEE binary16); an odd row's last high half is padding (0, never read).
//   x: (cols) f32   b: (rows) optional bias   y: (rows)
//   y[r] = Σ_c ŵ[r, c]·x[c]  + (HAS_BIAS ? b[r] : 0)  + (ACCUMULATE ? y[r] : 0)      (f32 products and sums)
//
// bindings (group 0):
//   0 uniform  Dims { rows: u32, cols: u32 }
//   1 read     W: array<u32> (unpack storage) or array<vec2<f16>> (native storage) — the same buffer
//   2 read     x: array<f32>  (scalar loads: a row of x need not be 8-byte aligned)
//   3 read     b: array<f32>  (bind any tensor when HAS_BIAS is false; it is not read)
//   4 rw       y: array<f32>
//
// override constants: WG, HAS_BIAS, ACCUMULATE.
//
// Storage variants: this file is not compiled as it stands. src/kernels/gemv-f16.ts assembles two modules from it:
//   unpack — the head + the "storage: unpack" section + the entry points: w2(i) = unpack2x16float(W[i]), core WGSL,
//            so it runs on every adapter (SwiftShader has no shader-f16).
//   native — the f16 enable directive + the head + the "storage: native" section + the entry points:
//            w2(i) = vec2f(W[i]) from an array<vec2<f16>> view; needs the adapter feature shader-f16.
//   Both give exactly the same ŵ (every f16 is an f32; the packing never stores subnormals, which either path
//   may flush), so both have one spec: linearF16 in src/ref/f16.ts.
//
// entry points:
//   rows4 — each thread owns 4 consecutive rows and walks their words two at a time: one vec4 of x feeds 4 rows
//       (then a last odd word, then an odd cols' last column). No shared memory,
//       no barriers (the form for CPU-emulated adapters). Rows past the end re-read the last row and are not
//       written. dispatch: ceil(rows / (4·WG)) workgroups of WG.
//   wg — one workgroup of WG threads per row, thread i taking words i, i + WG, … (coalesced on GPUs), then a
//       shared-memory tree reduction. dispatch: rows workgroups, folded into (x, y) when rows > 65535.
//   Both handle an odd cols' last column alone (the low half of the row's last word), so padding is never used.

struct Dims { rows: u32, cols: u32 }

override WG: u32 = 64;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// ---- storage: unpack (core WGSL, every adapter)
@group(0) @binding(1) var<storage, read> W: array<u32>;
/** Weights 2i, 2i + 1 of the flat word array, as f32. */
fn w2(i: u32) -> vec2f { return unpack2x16float(W[i]); }

// ---- storage: native (shader-f16)
@group(0) @binding(1) var<storage, read> W: array<vec2<f16>>;
/** Weights 2i, 2i + 1 of the flat word array, as f32. */
fn w2(i: u32) -> vec2f { return vec2f(W[i]); }

// ---- entry points

fn finish(r: u32, acc: f32) {
  var v = acc;
  if (HAS_BIAS) { v += b[r]; }
  if (ACCUMULATE) { v += y[r]; }
  y[r] = v;
}

@compute @workgroup_size(WG)
fn rows4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  if (r0 >= dims.rows) { return; }
  let wpr = (dims.cols + 1u) / 2u;
  let full = dims.cols / 2u; // words holding two weights
  let last = dims.rows - 1u;
  let o = vec4u(r0, min(r0 + 1u, last), min(r0 + 2u, last), min(r0 + 3u, last)) * wpr;
  var acc = vec4f(0.0);
  let pairs = full / 2u;
  for (var q = 0u; q < pairs; q++) { // 4 columns (2 words) per step: one vec4 of x feeds 4 rows
    let j = 2u * q;
    let xv = vec4f(x[2u * j], x[2u * j + 1u], x[2u * j + 2u], x[2u * j + 3u]);
    acc += vec4f(dot(vec4f(w2(o.x + j), w2(o.x + j + 1u)), xv), dot(vec4f(w2(o.y + j), w2(o.y + j + 1u)), xv),
                 dot(vec4f(w2(o.z + j), w2(o.z + j + 1u)), xv), dot(vec4f(w2(o.w + j), w2(o.w + j + 1u)), xv));
  }
  if (2u * pairs < full) { // an odd count of full words: the last one
    let j = full - 1u;
    let xv = vec2f(x[2u * j], x[2u * j + 1u]);
    acc += vec4f(dot(w2(o.x + j), xv), dot(w2(o.y + j), xv), dot(w2(o.z + j), xv), dot(w2(o.w + j), xv));
  }
  if (full < wpr) { // odd cols: the last word's low half only
    acc += vec4f(w2(o.x + full).x, w2(o.y + full).x, w2(o.z + full).x, w2(o.w + full).x) * x[dims.cols - 1u];
  }
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < dims.rows) { finish(r0 + i, acc[i]); }
  }
}

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
      @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  let wpr = (dims.cols + 1u) / 2u;
  let full = dims.cols / 2u;
  var acc = 0.0;
  if (r < dims.rows) {
    let o = r * wpr;
    for (var j = lid; j < full; j += WG) { acc += dot(w2(o + j), vec2f(x[2u * j], x[2u * j + 1u])); }
    if (lid == 0u && full < wpr) { acc += w2(o + full).x * x[dims.cols - 1u]; }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u && r < dims.rows) { finish(r, partial[0]); }
}
