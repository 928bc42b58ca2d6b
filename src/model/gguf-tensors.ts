// GGUF tensor data → the lab's host formats. A tensor of dims [ne0, ne1, …] is a (rows = ne1·ne2·…, cols = ne0)
// row-major matrix. F32 is copied, F16 and BF16 widened exactly. The two block-quantized types map EXACTLY onto
// src/techniques/quantize.ts's Packed formats with group 32 (ggml's block), codes and scales unchanged:
//   Q8_0 block (34 bytes): f16 d, then 32 int8 q[0..31];  ŵ[j] = q[j]·d.
//        → q8, group 32: scale = f32(d); element j in byte j % 4 of word j / 4 — ggml's 32 bytes ARE our 8 words.
//   Q4_0 block (18 bytes): f16 d, then 16 bytes qs; element j (j < 16) is the low nibble of qs[j], element j + 16
//        the high nibble of qs[j];  ŵ = (nibble − 8)·d.
//        → q4, group 32: scale = f32(d); nibble of element j at bits 4·(j % 8) of word j / 8 (a reorder only).
// ggml's scales may be negative (Q4_0's d = max / −8): the kernels multiply (q − 8)·s whatever its sign. A scale
// that is Inf or NaN is refused (GgufError naming the tensor and block). The f32 values returned with a packed
// tensor are dequantize(packed): exactly what the quantized kernels multiply with.
// Q4_1, Q5_0, Q5_1 and the K-quants (Q4_K, Q5_K, Q6_K, Q8_K: 256-element super-blocks with sub-block scales, and
// mins for Q4_K/Q5_K) are NOT prepacked: our q8/q4/q4z formats (one f32 scale, and for q4z one zero, per group)
// cannot hold their codes exactly. They are dequantized to f32 exactly as ggml's dequantize_row_* does
// (gguf-kquants.ts) and run as f32 masters (or at whatever precision the user picks, re-quantized from those);
// `dequantized` names the type so the loader can report it.

import { dequantize, type Packed } from '../techniques/quantize';
import { GgufError } from './errors';
import type { GgufTensorInfo } from './gguf';
import { dequantizeGgml, GGML_DEQUANT, type GgmlDequantType } from './gguf-kquants';
import { f16ToF32, type ByteSource } from './safetensors';

export interface GgufTensorData {
  rows: number;
  cols: number;
  /** (rows, cols) f32: the stored values, dequantized for Q8_0/Q4_0. */
  values: Float32Array;
  /** The file's own codes for Q8_0 / Q4_0 tensors, else null. */
  packed: Packed | null;
  /** The ggml type when the values are a dequantization the lab cannot keep packed (Q4_1 … Q8_K), else null. */
  dequantized: GgmlDequantType | null;
}

export function tensorRowsCols(info: GgufTensorInfo): { rows: number; cols: number } {
  return { rows: info.dims.slice(1).reduce((a, d) => a * d, 1), cols: info.dims[0]! };
}

export async function readGgufTensor(src: ByteSource, info: GgufTensorInfo): Promise<GgufTensorData> {
  const { rows, cols } = tensorRowsCols(info);
  const bytes = await src.read(info.begin, info.end - info.begin);
  if (bytes.length !== info.end - info.begin)
    throw new GgufError(`${info.name}: read ${bytes.length} bytes, expected ${info.end - info.begin}`, src.name, info.name);
  const n = rows * cols;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (info.type === 'Q8_0' || info.type === 'Q4_0') {
    const packed = (info.type === 'Q8_0' ? q8_0ToPacked : q4_0ToPacked)(bytes, rows, cols, src.name, info.name);
    return { rows, cols, values: dequantize(packed), packed, dequantized: null };
  }
  if (info.type in GGML_DEQUANT) {
    const type = info.type as GgmlDequantType;
    return { rows, cols, values: dequantizeGgml(type, bytes, rows, cols, src.name, info.name), packed: null, dequantized: type };
  }
  const values = new Float32Array(n);
  if (info.type === 'F32') new Uint8Array(values.buffer).set(bytes); // every WebGPU host is little-endian, like the file
  else if (info.type === 'BF16') {
    const u = new Uint32Array(values.buffer);
    for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
  } else for (let i = 0; i < n; i++) values[i] = f16ToF32(dv.getUint16(2 * i, true));
  return { rows, cols, values, packed: null, dequantized: null };
}

function blockScale(dv: DataView, off: number, file: string, tensor: string, r: number, b: number): number {
  const s = f16ToF32(dv.getUint16(off, true));
  if (!Number.isFinite(s)) throw new GgufError(`${tensor}: block ${b} of row ${r} has scale ${s} (must be finite)`, file, tensor);
  return s;
}

/** Q8_0 blocks of a (rows, cols) tensor (cols % 32 == 0) → q8 group 32, codes and scales unchanged. */
export function q8_0ToPacked(bytes: Uint8Array, rows: number, cols: number, file = 'model.gguf', tensor = '(tensor)'): Packed {
  checkBlocks(bytes, rows, cols, 34, file, tensor);
  const nb = cols / 32;
  const wpr = cols / 4;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = new Uint32Array(rows * wpr);
  const scales = new Float32Array(rows * nb);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const off = (r * nb + b) * 34;
      scales[r * nb + b] = blockScale(dv, off, file, tensor, r, b);
      for (let k = 0; k < 8; k++) words[r * wpr + b * 8 + k] = dv.getUint32(off + 2 + 4 * k, true);
    }
  }
  return { format: 'q8', rows, cols, groupSize: 32, wordsPerRow: wpr, words, scales, zeros: null };
}

/** Q4_0 blocks of a (rows, cols) tensor (cols % 32 == 0) → q4 group 32 (nibbles reordered, scales unchanged). */
export function q4_0ToPacked(bytes: Uint8Array, rows: number, cols: number, file = 'model.gguf', tensor = '(tensor)'): Packed {
  checkBlocks(bytes, rows, cols, 18, file, tensor);
  const nb = cols / 32;
  const wpr = cols / 8;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = new Uint32Array(rows * wpr);
  const scales = new Float32Array(rows * nb);
  const nib = new Uint8Array(32);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const off = (r * nb + b) * 18;
      scales[r * nb + b] = blockScale(dv, off, file, tensor, r, b);
      for (let j = 0; j < 16; j++) {
        const q = bytes[off + 2 + j]!;
        nib[j] = q & 15;
        nib[j + 16] = q >> 4;
      }
      for (let k = 0; k < 4; k++) {
        let w = 0;
        for (let i = 0; i < 8; i++) w |= nib[8 * k + i]! << (4 * i);
        words[r * wpr + b * 4 + k] = w >>> 0;
      }
    }
  }
  return { format: 'q4', rows, cols, groupSize: 32, wordsPerRow: wpr, words, scales, zeros: null };
}

function checkBlocks(bytes: Uint8Array, rows: number, cols: number, blockBytes: number, file: string, tensor: string): void {
  if (cols % 32 !== 0) throw new GgufError(`${tensor}: ${cols} columns is not a multiple of the 32-element block`, file, tensor);
  const want = rows * (cols / 32) * blockBytes;
  if (bytes.length !== want) throw new GgufError(`${tensor}: ${bytes.length} bytes, (${rows}, ${cols}) needs ${want}`, file, tensor);
}

/**
 * Undo llama.cpp's convert_hf_to_gguf.py `permute(w, n_head, n_head_kv)` on q/k rows (a row permutation, so it
 * applies to f32 rows and to packed rows alike). The converter turns HF's rotate-half row order within each head
 * into ggml's interleaved RoPE order: permuted row h·hd + 2i + j ← HF row h·hd + j·hd/2 + i (i < hd/2, j ∈ {0,1}).
 * `perm(hfRow)` gives the permuted (file) row that holds HF row `hfRow`.
 */
export function unpermuteRowIndex(nHeads: number, rows: number): (hfRow: number) => number {
  const hd = rows / nHeads;
  const half = hd / 2;
  return (hfRow) => {
    const h = Math.floor(hfRow / hd);
    const w = hfRow % hd;
    const j = w >= half ? 1 : 0;
    const i = w - j * half;
    return h * hd + 2 * i + j;
  };
}

/** Rows of `data` (rows, rowLen) reordered so out row r = data row src(r). */
export function gatherRows<T extends Float32Array | Uint32Array>(data: T, rows: number, src: (r: number) => number): T {
  const rowLen = data.length / rows;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let r = 0; r < rows; r++) out.set(data.subarray(src(r) * rowLen, (src(r) + 1) * rowLen), r * rowLen);
  return out;
}

/** A tensor's rows reordered (f32 values and, when present, packed words and scales alike). */
export function permuteTensorRows(t: GgufTensorData, src: (r: number) => number): GgufTensorData {
  const p = t.packed;
  return {
    ...t,
    values: gatherRows(t.values, t.rows, src),
    packed: p ? { ...p, words: gatherRows(p.words, p.rows, src), scales: gatherRows(p.scales, p.rows, src) } : null,
  };
}

/** Rows [r0, r0 + n) of a tensor (f32 values and, when present, packed words and scales alike). */
export function sliceTensorRows(t: GgufTensorData, r0: number, n: number): GgufTensorData {
  const p = t.packed;
  const rowsOf = <T extends Float32Array | Uint32Array>(a: T, rows: number): T => a.slice((a.length / rows) * r0, (a.length / rows) * (r0 + n)) as T;
  return {
    ...t,
    rows: n,
    values: rowsOf(t.values, t.rows),
    packed: p ? { ...p, rows: n, words: rowsOf(p.words, p.rows), scales: rowsOf(p.scales, p.rows), zeros: p.zeros ? rowsOf(p.zeros, p.rows) : null } : null,
  };
}
