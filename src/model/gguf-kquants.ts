// ggml's other block formats, dequantized to f32 exactly as ggml's reference dequantize_row_* (ggml-quants.c) does,
// in f32 arithmetic (every product and sum rounded to f32, no fused multiply-add; the last rounding is the
// Float32Array store). Our packed formats cannot hold
// these codes exactly, so such tensors become f32 masters (gguf-tensors.ts); they are never `prepacked`.
// Blocks are little-endian; "half" = IEEE f16. Within a block element j's output index is given explicitly.
//   Q4_1 (32 el, 20 B): half d, half m, qs[16]. el j < 16: qs[j] & 15; el j + 16: qs[j] >> 4.   y = q·d + m
//   Q5_0 (32 el, 22 B): half d, u32 qh, qs[16]. q = nibble as Q4_1 | bit j (el j) or bit j + 16 (el j + 16) of qh
//        as bit 4.   y = (q − 16)·d
//   Q5_1 (32 el, 24 B): half d, half m, u32 qh, qs[16]. q as Q5_0.   y = q·d + m
//   Q4_K (256 el, 144 B): half d, half dmin, scales[12], qs[128]. 8 sub-blocks of 32, each a 6-bit scale sc and
//        6-bit min mn (get_scale_min_k4: sub-block s < 4: sc = scales[s] & 63, mn = scales[s + 4] & 63; s ≥ 4:
//        sc = (scales[s + 4] & 15) | (scales[s − 4] >> 6) << 4, mn = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4).
//        Chunk c (0..3) of 64 elements uses qs[32c .. 32c + 31]: element 64c + l is qs[32c + l] & 15 with sub-block
//        2c, element 64c + 32 + l is qs[32c + l] >> 4 with sub-block 2c + 1.   y = (d·sc)·q − (dmin·mn)
//   Q5_K (256 el, 176 B): half d, half dmin, scales[12], qh[32], qs[128]. As Q4_K, plus bit 4 of the code from
//        qh[l]: bit 2c for element 64c + l, bit 2c + 1 for element 64c + 32 + l.   y = (d·sc)·q − (dmin·mn)
//   Q6_K (256 el, 210 B): ql[128], qh[64], int8 scales[16], half d. Half h (0, 1) of 128 elements uses ql[64h ..],
//        qh[32h ..], scales[8h ..]; for l < 32 and k = 0..3, element 128h + 32k + l has its low 4 bits in
//        ql[64h + l + 32·(k & 1)] (low nibble for k < 2, high for k ≥ 2), bits 4..5 = (qh[32h + l] >> 2k) & 3, and
//        scale scales[8h + l/16 + 2k].   y = (d·sc)·(q − 32)
//   Q8_K (256 el, 292 B): f32 d, int8 qs[256], int16 bsums[16] (unused here).   y = d·q
// A non-finite d / dmin / m is refused (GgufError naming the tensor, row and block), as for Q8_0/Q4_0.

import { GgufError } from './errors';
import { f16ToF32 } from './safetensors';

/** The dequantized-only ggml types: code, elements per block, bytes per block. */
export const GGML_DEQUANT = {
  Q4_1: { code: 3, block: 32, bytes: 20 },
  Q5_0: { code: 6, block: 32, bytes: 22 },
  Q5_1: { code: 7, block: 32, bytes: 24 },
  Q4_K: { code: 12, block: 256, bytes: 144 },
  Q5_K: { code: 13, block: 256, bytes: 176 },
  Q6_K: { code: 14, block: 256, bytes: 210 },
  Q8_K: { code: 15, block: 256, bytes: 292 },
} as const;
export type GgmlDequantType = keyof typeof GGML_DEQUANT;

const fr = Math.fround;

/** Reads a scale at a byte offset, refusing a non-finite one. */
interface Scales {
  half(off: number): number;
  f32(off: number): number;
}
/** Decoder of one block at byte `o` into y[base .. base + block). */
type BlockDecoder = (b: Uint8Array, o: number, y: Float32Array, base: number, s: Scales, dv: DataView) => void;

/** get_scale_min_k4: the 6-bit scale (which 0) or min (which 1) of sub-block s from the 12 bytes at o. */
function scaleMinK4(sc: Uint8Array, o: number, s: number, which: 0 | 1): number {
  if (s < 4) return sc[o + s + 4 * which]! & 63;
  const low = which === 0 ? sc[o + s + 4]! & 15 : sc[o + s + 4]! >> 4;
  return low | ((sc[o + s - 4 + 4 * which]! >> 6) << 4);
}

/** Q4_K / Q5_K: one 64-element chunk c, codes from `code(l, hi)` (hi: the second sub-block's). */
function kChunk(b: Uint8Array, o: number, y: Float32Array, base: number, d: number, dmin: number, c: number, code: (l: number, hi: boolean) => number): void {
  const d1 = fr(d * scaleMinK4(b, o + 4, 2 * c, 0));
  const m1 = fr(dmin * scaleMinK4(b, o + 4, 2 * c, 1));
  const d2 = fr(d * scaleMinK4(b, o + 4, 2 * c + 1, 0));
  const m2 = fr(dmin * scaleMinK4(b, o + 4, 2 * c + 1, 1));
  const y0 = base + 64 * c;
  for (let l = 0; l < 32; l++) {
    y[y0 + l] = fr(d1 * code(l, false)) - m1;
    y[y0 + 32 + l] = fr(d2 * code(l, true)) - m2;
  }
}

const DECODERS: Record<GgmlDequantType, BlockDecoder> = {
  Q4_1(b, o, y, base, s) {
    const d = s.half(o);
    const m = s.half(o + 2);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j]!;
      y[base + j] = fr(fr((q & 15) * d) + m);
      y[base + j + 16] = fr(fr((q >> 4) * d) + m);
    }
  },
  Q5_0(b, o, y, base, s, dv) {
    const d = s.half(o);
    const qh = dv.getUint32(o + 2, true);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 6 + j]!;
      y[base + j] = fr((((q & 15) | (((qh >>> j) & 1) << 4)) - 16) * d);
      y[base + j + 16] = fr((((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d);
    }
  },
  Q5_1(b, o, y, base, s, dv) {
    const d = s.half(o);
    const m = s.half(o + 2);
    const qh = dv.getUint32(o + 4, true);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 8 + j]!;
      y[base + j] = fr(fr(((q & 15) | (((qh >>> j) & 1) << 4)) * d) + m);
      y[base + j + 16] = fr(fr(((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * d) + m);
    }
  },
  Q4_K(b, o, y, base, s) {
    const d = s.half(o);
    const dmin = s.half(o + 2);
    for (let c = 0; c < 4; c++) {
      const q = o + 16 + 32 * c;
      kChunk(b, o, y, base, d, dmin, c, (l, hi) => (hi ? b[q + l]! >> 4 : b[q + l]! & 15));
    }
  },
  Q5_K(b, o, y, base, s) {
    const d = s.half(o);
    const dmin = s.half(o + 2);
    for (let c = 0; c < 4; c++) {
      const q = o + 48 + 32 * c;
      kChunk(b, o, y, base, d, dmin, c, (l, hi) => (hi ? (b[q + l]! >> 4) | (((b[o + 16 + l]! >> (2 * c + 1)) & 1) << 4) : (b[q + l]! & 15) | (((b[o + 16 + l]! >> (2 * c)) & 1) << 4)));
    }
  },
  Q6_K(b, o, y, base, s, dv) {
    const d = s.half(o + 208);
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const sc = o + 192 + 8 * h;
      for (let l = 0; l < 32; l++) {
        const hi = b[qh + l]!;
        const lo0 = b[ql + l]!;
        const lo1 = b[ql + l + 32]!;
        const s0 = sc + (l >> 4);
        const y0 = base + 128 * h + l;
        y[y0] = fr(fr(d * dv.getInt8(s0)) * (((lo0 & 15) | ((hi & 3) << 4)) - 32));
        y[y0 + 32] = fr(fr(d * dv.getInt8(s0 + 2)) * (((lo1 & 15) | (((hi >> 2) & 3) << 4)) - 32));
        y[y0 + 64] = fr(fr(d * dv.getInt8(s0 + 4)) * (((lo0 >> 4) | (((hi >> 4) & 3) << 4)) - 32));
        y[y0 + 96] = fr(fr(d * dv.getInt8(s0 + 6)) * (((lo1 >> 4) | ((hi >> 6) << 4)) - 32));
      }
    }
  },
  Q8_K(_b, o, y, base, s, dv) {
    const d = s.f32(o);
    for (let j = 0; j < 256; j++) y[base + j] = fr(d * dv.getInt8(o + 4 + j));
  },
};

/**
 * Dequantize a (rows, cols) tensor stored as `type` (cols a multiple of the type's block; GgufError otherwise, and
 * for a byte count that does not match, or a non-finite scale).
 */
export function dequantizeGgml(type: GgmlDequantType, bytes: Uint8Array, rows: number, cols: number, file = 'model.gguf', tensor = '(tensor)'): Float32Array {
  const { block, bytes: bb } = GGML_DEQUANT[type];
  if (cols % block !== 0) throw new GgufError(`${tensor}: ${cols} columns is not a multiple of ${type}'s ${block}-element block`, file, tensor);
  const nb = (rows * cols) / block;
  if (bytes.length !== nb * bb) throw new GgufError(`${tensor}: ${bytes.length} bytes, (${rows}, ${cols}) as ${type} needs ${nb * bb}`, file, tensor);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(rows * cols);
  const decode = DECODERS[type];
  const perRow = cols / block;
  let blk = 0;
  const bad = (s: number): never => {
    throw new GgufError(`${tensor}: block ${blk % perRow} of row ${Math.floor(blk / perRow)} has scale ${s} (must be finite)`, file, tensor);
  };
  const finite = (s: number): number => (Number.isFinite(s) ? s : bad(s));
  const scales: Scales = { half: (off) => finite(f16ToF32(dv.getUint16(off, true))), f32: (off) => finite(dv.getFloat32(off, true)) };
  for (; blk < nb; blk++) decode(bytes, blk * bb, y, blk * block, scales, dv);
  return y;
}
