// CPU reference (float64) for the quantized linear kernels.
//   f32-activation entries (gemv_quant rows4/wg, matmul_quant): linear(dequantize(p), x, …) — see linearQuant.
//   int8-activation entry (gemv_quant a8): linearA8, which first quantizes x per group exactly as the shader:
//     amax = max|x| over the group's columns; amax = f·2^e with f ∈ [0.5, 1) (e = 0 when amax = 0);
//     xs = 2^(e−7);  qx = clamp(roundHalfEven(x / xs), −127, 127)   (x / xs is exact: a power-of-two scaling)
//     y[t, r] = Σ_g wscale[r, g] · xs[t, g] · Σ_{c in g} qw[r, c]·qx[t, c]  (+ b[r]) (+ residual[t, r])
import { dequantize, nGroups, type Packed, quantAt } from '../techniques/quantize';
import { linear, type Vec } from './linear';

/** y (n, rows) = x (n, cols) · dequantize(p)ᵀ (+ b) (+ residual). */
export function linearQuant(p: Packed, x: Vec, n = 1, b: Vec | null = null, residual: Vec | null = null): Float64Array {
  return linear(dequantize(p), x, p.rows, p.cols, n, b, residual);
}

/** Round half to even (WGSL's round()). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return (Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

/** The exponent e with amax = f·2^e, f ∈ [0.5, 1) (frexp); 0 for amax = 0. */
export function frexpExp(amax: number): number {
  if (amax === 0) return 0;
  let e = Math.ceil(Math.log2(amax));
  while (2 ** (e - 1) > amax) e--;
  while (2 ** e <= amax) e++;
  return e + 0; // never −0
}

/** x (n, cols) quantized per group: codes (n, cols) in −127..127 and scales (n, nGroups) = 2^(e−7). */
export function quantizeActivations(x: Vec, n: number, cols: number, groupSize: number): { q: Int8Array; scales: Float64Array } {
  const ng = nGroups(cols, groupSize);
  const q = new Int8Array(n * cols);
  const scales = new Float64Array(n * ng);
  for (let t = 0; t < n; t++) {
    for (let g = 0; g < ng; g++) {
      const c0 = g * groupSize;
      const c1 = Math.min(cols, c0 + groupSize);
      let amax = 0;
      for (let c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[t * cols + c]!));
      const xs = 2 ** (frexpExp(amax) - 7);
      scales[t * ng + g] = xs;
      for (let c = c0; c < c1; c++) q[t * cols + c] = Math.max(-127, Math.min(127, roundHalfEven(x[t * cols + c]! / xs)));
    }
  }
  return { q, scales };
}

/** The a8 entry's spec (q8 weights only): integer dot products of int8 weights and int8 activations per group. */
export function linearA8(p: Packed, x: Vec, n = 1, b: Vec | null = null, residual: Vec | null = null): Float64Array {
  if (p.format !== 'q8') throw new Error(`linearA8: q8 weights only (got ${p.format})`);
  const { rows, cols, groupSize } = p;
  const ng = nGroups(cols, groupSize);
  const xq = quantizeActivations(x, n, cols, groupSize);
  const y = new Float64Array(n * rows);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let g = 0; g < ng; g++) {
        let s = 0;
        for (let c = g * groupSize; c < Math.min(cols, (g + 1) * groupSize); c++) s += quantAt(p, r, c) * xq.q[t * cols + c]!;
        acc += p.scales[r * ng + g]! * xq.scales[t * ng + g]! * s;
      }
      if (b) acc += b[r]!;
      if (residual) acc += residual[t * rows + r]!;
      y[t * rows + r] = acc;
    }
  }
  return y;
}
