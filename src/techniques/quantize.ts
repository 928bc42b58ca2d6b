// Group-wise weight quantization: pure packing/unpacking (no GPU). The dequantizing kernels
// (shaders/gemv_quant.wgsl, shaders/matmul_quant.wgsl) read exactly this layout, and dequantize() is their spec.
//
// A Linear weight W (rows, cols) is cut, along each row, into groups of `groupSize` consecutive input columns
// (the last group of a row is short when cols % groupSize != 0). Each group has one f32 scale (and, for q4z, one
// zero-point). Formats (the ŵ line is what dequantize() returns, computed in f32 like the kernels):
//   q8  (int8 symmetric, like llama.cpp Q8_0): s = max|w| / 127;   q = clamp(round(w / s), −127, 127)
//       ŵ = q·s.   4 int8 per u32 word: element 4j+i in byte i of word j (little-endian, two's complement).
//   q4  (int4 symmetric):                        s = max|w| / 7;     q = clamp(round(w / s), −8, 7), stored q+8
//       ŵ = (nibble − 8)·s.   8 nibbles per u32: element 8j+i in bits 4i..4i+3.
//   q4z (int4 asymmetric, zero-points): lo = min(min w, 0), hi = max(max w, 0); s = (hi − lo) / 15;
//       z = clamp(round(−lo / s), 0, 15);  q = clamp(round(w / s) + z, 0, 15);  ŵ = (q − z)·s.
//       The range always includes 0 (as z ∈ 0..15 implies): an all-positive or all-negative group would
//       otherwise saturate. Same nibble layout as q4, nibble = q.
//   round() is half away from zero (llama.cpp's roundf). Scales are f32 (computed in float64, then rounded).
// Each row's words are padded so every row starts on a word: wordsPerRow = ceil(cols / 4) (q8) or
// ceil(cols / 8) (q4, q4z); padding bits are zero. groupSize must be a positive multiple of 8, so a word never
// straddles two groups. An all-zero group (or one whose scale would be below f32's normal range, 2⁻¹²⁶) gets
// scale 0 and q = 0 (nibble 8 for q4, z = 0 for q4z): ŵ = 0. Weights must be finite with |w| ≤ 2¹²⁶ (else an
// error), so that no (q − z)·s overflows f32: dequantizing never gives NaN/Inf.
// Error bound per element: |w − ŵ| ≤ s/2 for q8/q4 (plus f32 rounding of ŵ); ≤ s/2 + |z − (−lo/s)|·s ≤ s for q4z.

/** What the UI offers ('file': each linear as its model file stored it — see quant-formats.ts). */
export type Precision = 'f32' | 'f16' | 'int8' | 'int4' | 'int4z' | 'file';

export interface QuantSpec {
  precision: Precision;
  /** Columns per group (32, 64 or 128); ignored for f32/f16. */
  groupSize: number;
}

export type QuantFormat = 'q8' | 'q4' | 'q4z';

export const GROUP_SIZES: readonly number[] = [32, 64, 128];

/** The packed format of each integer precision. */
export const FORMAT_OF: Record<'int8' | 'int4' | 'int4z', QuantFormat> = { int8: 'q8', int4: 'q4', int4z: 'q4z' };

export interface Packed {
  format: QuantFormat;
  rows: number;
  cols: number;
  groupSize: number;
  wordsPerRow: number;
  words: Uint32Array; // (rows, wordsPerRow)
  scales: Float32Array; // (rows, nGroups)
  zeros: Float32Array | null; // (rows, nGroups), integer values 0..15; q4z only
}

/** Values per u32 word. */
export const perWord = (format: QuantFormat): number => (format === 'q8' ? 4 : 8);

export const nGroups = (cols: number, groupSize: number): number => Math.ceil(cols / groupSize);

export const wordsPerRow = (format: QuantFormat, cols: number): number => Math.ceil(cols / perWord(format));

/** Bits stored per weight, scales and zero-points included (for the UI and the roofline). */
export function bitsPerWeight(format: QuantFormat, groupSize: number): number {
  return (format === 'q8' ? 8 : 4) + (32 * (format === 'q4z' ? 2 : 1)) / groupSize;
}

/** Round half away from zero (C's roundf); never returns −0. */
export const roundHalfAway = (v: number): number => (v < 0 ? -Math.round(-v) : Math.round(v)) + 0;

/** Largest |w| accepted (2¹²⁶ ≈ 8.5e37): every (q − z)·s then stays below f32's maximum, so ŵ is never Inf. */
export const MAX_ABS_WEIGHT = 2 ** 126;

/** Smallest normal f32. Smaller scales are stored as 0, since GPUs may flush subnormals to zero. */
export const MIN_NORMAL_F32 = 2 ** -126;

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

export function checkGroupSize(groupSize: number): void {
  if (!(Number.isInteger(groupSize) && groupSize > 0 && groupSize % 8 === 0))
    throw new Error(`quantize: groupSize ${groupSize} must be a positive multiple of 8`);
}

export function quantize(W: Float32Array, rows: number, cols: number, format: QuantFormat, groupSize: number): Packed {
  checkGroupSize(groupSize);
  if (W.length !== rows * cols) throw new Error(`quantize: ${W.length} values for (${rows}, ${cols})`);
  const ng = nGroups(cols, groupSize);
  const wpr = wordsPerRow(format, cols);
  const words = new Uint32Array(rows * wpr);
  const scales = new Float32Array(rows * ng);
  const zeros = format === 'q4z' ? new Float32Array(rows * ng) : null;
  const pw = perWord(format);
  const bits = 32 / pw;
  const mask = (1 << bits) - 1;
  const qmin = format === 'q8' ? -127 : format === 'q4' ? -8 : 0;
  const qmax = format === 'q8' ? 127 : format === 'q4' ? 7 : 15;
  const offset = format === 'q4' ? 8 : 0; // stored value = q + offset
  for (let r = 0; r < rows; r++) {
    const wo = r * cols;
    for (let g = 0; g < ng; g++) {
      const c0 = g * groupSize;
      const c1 = Math.min(cols, c0 + groupSize);
      let lo = 0; // the range always includes 0
      let hi = 0;
      for (let c = c0; c < c1; c++) {
        const v = W[wo + c]!;
        if (!(Math.abs(v) <= MAX_ABS_WEIGHT)) throw new Error(`quantize: weight ${v} at (${r}, ${c}) is not finite or exceeds 2^126`);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      let s: number;
      let z = 0;
      if (format === 'q4z') {
        s = Math.fround((hi - lo) / 15);
        if (s > 0) z = clamp(roundHalfAway(-lo / s), 0, 15);
        zeros![r * ng + g] = z;
      } else {
        s = Math.fround(Math.max(hi, -lo) / (format === 'q8' ? 127 : 7));
      }
      if (!(s >= MIN_NORMAL_F32)) s = 0; // all zero, or below f32's normal range (GPUs flush those): every q = 0
      scales[r * ng + g] = s;
      // pack: groups start on a word (groupSize % 8 == 0), so words fill one group at a time
      let word = 0;
      let k = 0;
      let wi = r * wpr + c0 / pw;
      for (let c = c0; c < c1; c++) {
        let q = z; // s = 0: every code is the zero (q4z) or 0
        if (s > 0) {
          const v = W[wo + c]! / s;
          q = (v < 0 ? -Math.round(-v) : Math.round(v)) + z; // round half away from zero
          q = q < qmin ? qmin : q > qmax ? qmax : q;
        }
        word |= ((q + offset) & mask) << (k * bits); // two's complement byte for q8
        if (++k === pw) {
          words[wi++] = word >>> 0;
          word = 0;
          k = 0;
        }
      }
      if (k) words[wi] = word >>> 0;
    }
  }
  return { format, rows, cols, groupSize, wordsPerRow: wpr, words, scales, zeros };
}

/** The quantized integer of element (r, c) (q for q8/q4, with q4's offset removed; the raw nibble for q4z). */
export function quantAt(p: Packed, r: number, c: number): number {
  const pw = perWord(p.format);
  const word = p.words[r * p.wordsPerRow + Math.floor(c / pw)]!;
  if (p.format === 'q8') return (word << (24 - 8 * (c % 4))) >> 24; // sign-extend byte c % 4
  const nib = (word >>> (4 * (c % 8))) & 15;
  return p.format === 'q4' ? nib - 8 : nib;
}

/** ŵ (rows, cols) in f32: exactly the values the kernels multiply with (one f32 rounding of (q − z)·s). */
export function dequantize(p: Packed): Float32Array {
  const { rows, cols, groupSize } = p;
  const ng = nGroups(cols, groupSize);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = r * ng + Math.floor(c / groupSize);
      const z = p.zeros ? p.zeros[g]! : 0;
      out[r * cols + c] = (quantAt(p, r, c) - z) * p.scales[g]!; // Float32Array store rounds once, as f32 math does
    }
  }
  return out;
}

/** quantize then dequantize: the weights a quantized layer effectively uses. */
export function roundTrip(W: Float32Array, rows: number, cols: number, format: QuantFormat, groupSize: number): Float32Array {
  return dequantize(quantize(W, rows, cols, format, groupSize));
}

/**
 * Largest |w − ŵ| divided by the element's allowed bound (≤ 1 means every element is within the format's bound):
 * s/2 for q8/q4; s/2 + |z − (−lo/s)|·s for q4z; plus a relative f32 slack of 2⁻²³·|ŵ| and 1e-45 absolute.
 * A group stored with scale 0 is allowed qmax·2⁻¹²⁶ (its weights were below the smallest representable scale).
 */
export function maxRoundTripError(W: Float32Array, p: Packed): { maxAbs: number; worstRatio: number } {
  const { rows, cols, groupSize } = p;
  const ng = nGroups(cols, groupSize);
  const deq = dequantize(p);
  let maxAbs = 0;
  let worstRatio = 0;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < ng; g++) {
      const c0 = g * groupSize;
      const c1 = Math.min(cols, c0 + groupSize);
      const s = p.scales[r * ng + g]!;
      let bound = s > 0 ? s / 2 : (p.format === 'q8' ? 127 : 15) * MIN_NORMAL_F32;
      if (p.zeros && s > 0) {
        let lo = 0;
        for (let c = c0; c < c1; c++) lo = Math.min(lo, W[r * cols + c]!);
        bound += Math.abs(p.zeros[r * ng + g]! + lo / s) * s;
      }
      for (let c = c0; c < c1; c++) {
        const i = r * cols + c;
        const err = Math.abs(W[i]! - deq[i]!);
        maxAbs = Math.max(maxAbs, err);
        worstRatio = Math.max(worstRatio, err / (bound + Math.abs(deq[i]!) * 2 ** -23 + 1e-45));
      }
    }
  }
  return { maxAbs, worstRatio };
}

/** Bytes the packed tensors occupy on the GPU (words + scales + zeros). */
export function packedBytes(p: Packed): number {
  return 4 * (p.words.length + p.scales.length + (p.zeros?.length ?? 0));
}
