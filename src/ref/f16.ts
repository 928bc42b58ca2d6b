// f16 weight storage: the packing spec (what the 'f16' linear format uploads) and its float64 CPU reference.
// The kernels (shaders/gemv_f16.wgsl, shaders/matmul_f16.wgsl) read exactly this layout.
//
// A Linear weight W (rows, cols) f32 → words (rows, wordsPerRow) u32, wordsPerRow = ceil(cols / 2):
//   element (r, 2j) in the low 16 bits of word (r, j), element (r, 2j + 1) in the high 16 bits — IEEE binary16,
//   which is exactly what WGSL's unpack2x16float(word) returns as (.x, .y), and what an array<vec2<f16>> view of
//   the same buffer reads (little-endian). Rows start on a word; an odd row's last high half is padding = 0x0000
//   (+0.0, never NaN), and the kernels never multiply it with anything.
// Rounding, f32 → f16: round to nearest, ties to even (IEEE default), from the f32 value. Then:
//   |ŵ| < 2⁻¹⁴ (f16's smallest normal, ≈ 6.1e-5) is stored as ±0: WGSL lets an implementation flush f16
//   subnormals to zero (unpack2x16float or f16 loads), so the format never stores them and every adapter computes
//   the same ŵ. (A value just below 2⁻¹⁴ that rounds up to it is kept.) Cost: an absolute error < 2⁻¹⁴ on tiny
//   weights, beside the relative 2⁻¹¹ of every other weight.
//   |w| ≥ 65520 (rounds to Inf; f16's largest finite is 65504), NaN or ±Inf → F16RangeError naming the tensor,
//   the element and the limit: the format never stores Inf/NaN, so dequantizing never yields them.
// ŵ = unpackF16(packF16(W)) is exact in f32 (every f16 is an f32), and the kernels accumulate ŵ·x in f32, so the
// spec of both kernels is linear(ŵ, x) in float64 (src/ref/linear.ts), compared at f32 tolerance.

import { linear, type Vec } from './linear';

/** Largest finite f16. */
export const F16_MAX = 65504;
/** Smallest |w| that rounds to Inf in f16 (ties to even at 65504 + 16). */
export const F16_OVERFLOW = 65520;
/** Smallest normal f16, 2⁻¹⁴: smaller results are stored as zero (see the header). */
export const F16_MIN_NORMAL = 2 ** -14;

/** A weight f16 cannot store (non-finite, or |w| ≥ 65520): names the tensor, the element and the limit. */
export class F16RangeError extends RangeError {
  override name = 'F16RangeError';
  constructor(
    readonly tensor: string,
    readonly row: number,
    readonly col: number,
    readonly value: number,
  ) {
    super(`${tensor}: weight ${value} at (${row}, ${col}) cannot be stored as f16 (finite, |w| < ${F16_OVERFLOW}; largest f16 is ${F16_MAX})`);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** f32 bit patterns of |v|: 65520 (the first value that rounds to Inf) and 2⁻¹⁴·(1 − 2⁻¹¹) (the first that rounds
 *  up to the smallest normal, ties to even: 1023.5·2⁻²⁴ → 1024·2⁻²⁴). */
const OVERFLOW_BITS = 0x477ff000;
const KEEP_BITS = 0x387fe000;

/**
 * f32 value → f16 bits as the format stores them: round to nearest even, results below 2⁻¹⁴ flushed to ±0.
 * Returns −1 for a value f16 cannot store (non-finite or |v| ≥ 65520). Bit-level (the re-pack runs per weight).
 */
export function f16Bits(v: number): number {
  f32[0] = v;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const abs = b & 0x7fffffff;
  if (abs >= OVERFLOW_BITS) return -1; // NaN and ±Inf too
  if (abs < 0x38800000) return abs >= KEEP_BITS ? sign | 0x0400 : sign; // below 2⁻¹⁴
  let h = ((((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3ff)) >>> 0; // rebias 127 → 15, top 10 mantissa bits
  const rest = abs & 0x1fff; // the 13 bits rounded away
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry moves into the exponent, as it should
  return sign | h;
}

/** f16 bits → number (exact; subnormals decoded too, though packF16 never stores them). */
export function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export interface PackedF16 {
  rows: number;
  cols: number;
  wordsPerRow: number; // ceil(cols / 2)
  words: Uint32Array; // (rows, wordsPerRow)
}

export const f16WordsPerRow = (cols: number): number => Math.ceil(cols / 2);

/** Throws F16RangeError at the first weight of W (·, cols) f16 cannot store (non-finite or |w| ≥ 65520). */
export function checkF16Range(W: ArrayLike<number>, cols: number, tensor = 'W'): void {
  for (let i = 0; i < W.length; i++) {
    const v = W[i]!;
    if (!(Math.abs(v) < F16_OVERFLOW)) throw new F16RangeError(tensor, Math.floor(i / cols), i % cols, v);
  }
}

/** Pack W (rows, cols) into f16 words (layout in the header). Throws F16RangeError on a weight f16 cannot store. */
export function packF16(W: ArrayLike<number>, rows: number, cols: number, tensor = 'W'): PackedF16 {
  if (W.length !== rows * cols) throw new Error(`${tensor}: ${W.length} values for (${rows}, ${cols})`);
  const wpr = f16WordsPerRow(cols);
  const words = new Uint32Array(rows * wpr);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = W[r * cols + c]!;
      const h = f16Bits(v);
      if (h < 0) throw new F16RangeError(tensor, r, c, v);
      const i = r * wpr + (c >> 1);
      words[i] = (words[i]! | (h << (16 * (c & 1)))) >>> 0;
    }
  }
  return { rows, cols, wordsPerRow: wpr, words };
}

/** The f16 bits of element (r, c). */
export function f16At(p: PackedF16, r: number, c: number): number {
  return (p.words[r * p.wordsPerRow + (c >> 1)]! >>> (16 * (c & 1))) & 0xffff;
}

/** ŵ (rows, cols) in f32 (exact): the values the kernels multiply with. */
export function unpackF16(p: PackedF16): Float32Array {
  const out = new Float32Array(p.rows * p.cols);
  for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) out[r * p.cols + c] = f16Value(f16At(p, r, c));
  return out;
}

/** packF16 then unpackF16: the weights an f16 layer effectively uses. */
export function roundTripF16(W: ArrayLike<number>, rows: number, cols: number, tensor = 'W'): Float32Array {
  return unpackF16(packF16(W, rows, cols, tensor));
}

/** The kernels' spec: y (n, rows) = x (n, cols) · ŵᵀ (+ b) (+ residual), float64. */
export function linearF16(p: PackedF16, x: Vec, n = 1, b: Vec | null = null, residual: Vec | null = null): Float64Array {
  return linear(unpackF16(p), x, p.rows, p.cols, n, b, residual);
}
