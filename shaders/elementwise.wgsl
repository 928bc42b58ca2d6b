// elementwise.wgsl — element-wise kernels of the transformer block, f32. n = element count.
//
//   add:    y[i] += a[i]                                   (residual add)
//   swiglu: out[i] = silu(gate[i]) · up[i]                 (Llama MLP), silu(g) = g / (1 + e^(−g))
//   gelu:   x[i] = 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))   in place (GPT-2 "gelu_new")
//   Both activations are evaluated as v · σ(z) = v / (1 + e^(−z)) (for gelu z = 2·√(2/π)(x + 0.044715 x³),
//   since 0.5(1 + tanh(u)) = σ(2u)): exp overflows to +inf for very negative z and gives v / inf = 0, so no
//   inf/inf NaN from a driver's tanh or exp for large |x|.
//
// bindings (group 0), per kernel spec (each spec gets its own pipeline layout; binding numbers are shared):
//   add:    0 uniform Dims { n }   1 read a          2 rw y
//   swiglu: 0 uniform Dims { n }   1 read gate       2 read up     3 rw out
//   gelu:   0 uniform Dims { n }   1 rw x
//   all arrays are array<f32>, or array<vec4f> in the *_vec4 entry points.
//
// dispatch: one thread per element (per vec4 in *_vec4): ceil(n[/4] / WG) workgroups of WG, folded into (x, y)
//           when above 65535; thread index = (wid.y·nwg.x + wid.x)·WG + lid, threads past the end return.
// entry points (variants): <kernel>_vec4 when n % 4 == 0 (16-byte loads and stores), <kernel> otherwise.

struct Dims { n: u32 }

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> dims: Dims;

// add
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;
// swiglu
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> gate4: array<vec4f>;
@group(0) @binding(2) var<storage, read> up4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;
// gelu
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> x4: array<vec4f>;

const GELU_2C: f32 = 1.5957691216057308; // 2·√(2/π)

fn flat_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

fn silu1(g: f32) -> f32 { return g / (1.0 + exp(-g)); }
fn silu4(g: vec4f) -> vec4f { return g / (1.0 + exp(-g)); }
fn gelu1(v: f32) -> f32 { return v / (1.0 + exp(-GELU_2C * (v + 0.044715 * v * v * v))); }
fn gelu4(v: vec4f) -> vec4f { return v / (1.0 + exp(-GELU_2C * (v + 0.044715 * v * v * v))); }

@compute @workgroup_size(WG)
fn add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < dims.n) { y[i] += a[i]; }
}

@compute @workgroup_size(WG)
fn add_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < dims.n / 4u) { y4[i] += a4[i]; }
}

@compute @workgroup_size(WG)
fn swiglu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < dims.n) { out[i] = silu1(gate[i]) * up[i]; }
}

@compute @workgroup_size(WG)
fn swiglu_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < dims.n / 4u) { out4[i] = silu4(gate4[i]) * up4[i]; }
}

@compute @workgroup_size(WG)
fn gelu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < dims.n) { x[i] = gelu1(x[i]); }
}

@compute @workgroup_size(WG)
fn gelu_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < dims.n / 4u) { x4[i] = gelu4(x4[i]); }
}
