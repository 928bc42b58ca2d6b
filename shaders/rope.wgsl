// rope.wgsl — rotary position embeddings in place, Hugging Face "rotate_half" layout, f32.
//
//   x: (n, nHeads·headDim) row-major, token t at position p = pos0 + t; head h at [h·headDim, (h+1)·headDim).
//   invFreq: (rotaryDim/2) f32 (src/ref/rope.ts ropeInvFreq, Llama-3 scaling already applied).
//   For each head and i < half = rotaryDim/2:
//     angle = f32(p) · invFreq[i]         (rounded to f32, as transformers computes it in float32)
//     x[i]        ← x[i] cos(angle) − x[i + half] sin(angle)
//     x[i + half] ← x[i + half] cos(angle) + x[i] sin(angle)
//   Dims rotaryDim..headDim−1 are left alone (partial rotary).
//   cos/sin are computed here, not with the builtins: SwiftShader's sin/cos were measured ~1.5e-4 off even
//   on small arguments (Vulkan only promises 2^-11 absolute on [−π, π]; some drivers lose more for large
//   arguments). sincos() reduces exactly to [−π, π] (Cody–Waite, 2π in three parts), then to [−π/4, π/4] and
//   a quadrant, and evaluates Cephes' sinf/cosf minimax polynomials: ≤ 2e-7 absolute error for angles up to
//   ~4e5 rad (positions up to ~400k at invFreq[0] = 1), checked in float32 emulation. What remains is the f32
//   rounding of the angle itself (≤ half an ulp of p·invFreq, ~6e-5 rad at p = 2000), shared with transformers.
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, nHeads: u32, headDim: u32, rotaryDim: u32, pos0: u32 }
//   1 read     invFreq: array<f32>
//   2 rw       x: array<f32>
//
// dispatch: one thread per rotated pair (t, h, i): ceil(n·nHeads·half / WG) workgroups of WG, folded into (x, y)
//           when above 65535; thread index = (wid.y·nwg.x + wid.x)·WG + lid. One entry point, main.

struct Dims { n: u32, nHeads: u32, headDim: u32, rotaryDim: u32, pos0: u32 }

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

const INV_2PI: f32 = 0.15915494309189535;
// 2π = C1 + C2 + C3 (Cody–Waite): C1 and C2 hold 8 significant bits each, so k·C1 and k·C2 are exact for
// |k| < 2^16 (|angle| < ~4e5) and the two subtractions below are then exact; C3 is the f32 remainder.
const C1: f32 = 6.28125;
const C2: f32 = 0.00193023681640625;
const C3: f32 = 5.070363386039389e-06;
const TWO_OVER_PI: f32 = 0.6366197723675814;
const PIO2_HI: f32 = 1.5707963705062866;     // f32(π/2); q·PIO2_HI is exact for |q| <= 2
const PIO2_LO: f32 = -4.371138828673793e-08; // π/2 − PIO2_HI

/** (sin a, cos a) to ~2e-7 absolute for |a| < ~4e5. */
fn sincos(a: f32) -> vec2f {
  let k = round(a * INV_2PI);
  let r0 = ((a - k * C1) - k * C2) - k * C3;      // [−π, π]
  let q = round(r0 * TWO_OVER_PI);                // quadrant, −2..2
  let r = (r0 - q * PIO2_HI) - q * PIO2_LO;       // [−π/4, π/4]
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  switch (i32(q) & 3) {
    case 0: { return vec2f(s, c); }
    case 1: { return vec2f(c, -s); }
    case 2: { return vec2f(-s, -c); }
    default: { return vec2f(-c, s); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = (wid.y * nwg.x + wid.x) * WG + lid;
  let half = dims.rotaryDim / 2u;
  let pairs = dims.nHeads * half; // per token
  if (j >= dims.n * pairs) { return; }
  let t = j / pairs;
  let rem = j - t * pairs;
  let h = rem / half;
  let i = rem - h * half;
  let sc = sincos(f32(dims.pos0 + t) * invFreq[i]);
  let s = sc.x;
  let c = sc.y;
  let o = (t * dims.nHeads + h) * dims.headDim + i;
  let x0 = x[o];
  let x1 = x[o + half];
  x[o] = x0 * c - x1 * s;
  x[o + half] = x1 * c + x0 * s;
}
