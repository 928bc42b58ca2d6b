// CPU reference (float64) for shaders/norm.wgsl. x: (n, dim) row-major, w, b: (dim) → y: (n, dim).
//   rmsnorm:   y = x / sqrt(mean(x²) + eps) * w                       (Llama, Qwen2, …)
//   layernorm: y = (x − mean(x)) / sqrt(var(x) + eps) * w + b         (GPT-2; biased variance, as torch)
import type { Vec } from './linear';

export function rmsnorm(x: Vec, w: Vec, n: number, dim: number, eps: number): Float64Array {
  const y = new Float64Array(n * dim);
  for (let t = 0; t < n; t++) {
    const o = t * dim;
    let ss = 0;
    for (let c = 0; c < dim; c++) ss += x[o + c]! * x[o + c]!;
    const r = 1 / Math.sqrt(ss / dim + eps);
    for (let c = 0; c < dim; c++) y[o + c] = x[o + c]! * r * w[c]!;
  }
  return y;
}

export function layernorm(x: Vec, w: Vec, b: Vec, n: number, dim: number, eps: number): Float64Array {
  const y = new Float64Array(n * dim);
  for (let t = 0; t < n; t++) {
    const o = t * dim;
    let s = 0;
    for (let c = 0; c < dim; c++) s += x[o + c]!;
    const mean = s / dim;
    let v = 0;
    for (let c = 0; c < dim; c++) v += (x[o + c]! - mean) ** 2;
    const r = 1 / Math.sqrt(v / dim + eps);
    for (let c = 0; c < dim; c++) y[o + c] = (x[o + c]! - mean) * r * w[c]! + b[c]!;
  }
  return y;
}
