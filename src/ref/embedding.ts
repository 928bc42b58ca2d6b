// CPU reference (float64) for shaders/embedding.wgsl.
//   table: (vocab, dim) row-major, ids: (n) → out: (n, dim),  out[t, :] = table[ids[t], :]
//   An id outside [0, vocab) gives a row of zeros (vocab = table.length / dim), as the kernel does.
//   Packed tables (shaders/embedding_packed.wgsl): embedF16 / embedQ8 dequantize the table (unpackF16 / dequantize,
//   exact in f32) and then gather as embedRows does.
import { dequantize, type Packed } from '../techniques/quantize';
import { type PackedF16, unpackF16 } from './f16';
import type { Vec } from './linear';

export function embed(table: Vec, ids: ArrayLike<number>, dim: number): Float64Array {
  const vocab = Math.floor(table.length / dim);
  const out = new Float64Array(ids.length * dim);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    if (!(id >= 0 && id < vocab && Number.isInteger(id))) continue;
    for (let c = 0; c < dim; c++) out[t * dim + c] = table[id * dim + c]!;
  }
  return out;
}

/**
 * One row chunk of a split table (shaders/embedding.wgsl with row0): chunk = rows [row0, row0 + chunk.length/dim)
 * of the whole table. Tokens whose id falls in the chunk get its row in `out` (n, dim); the others get zeros when
 * fillZeros (the first chunk) and are left as they are otherwise. Returns `out`.
 */
export function embedRows(chunk: Vec, ids: ArrayLike<number>, dim: number, row0: number, fillZeros: boolean, out: Float64Array): Float64Array {
  const rows = Math.floor(chunk.length / dim);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]! - row0;
    const inside = id >= 0 && id < rows && Number.isInteger(id);
    if (!inside && !fillZeros) continue;
    for (let c = 0; c < dim; c++) out[t * dim + c] = inside ? chunk[id * dim + c]! : 0;
  }
  return out;
}

/** embedRows over an f16-packed chunk (src/ref/f16.ts layout): dequantize the rows, then gather. */
export function embedF16(chunk: PackedF16, ids: ArrayLike<number>, row0: number, fillZeros: boolean, out: Float64Array): Float64Array {
  return embedRows(unpackF16(chunk), ids, chunk.cols, row0, fillZeros, out);
}

/** embedRows over a q8-packed chunk (src/techniques/quantize.ts layout): dequantize the rows, then gather. */
export function embedQ8(chunk: Packed, ids: ArrayLike<number>, row0: number, fillZeros: boolean, out: Float64Array): Float64Array {
  if (chunk.format !== 'q8') throw new Error(`embedQ8: a ${chunk.format} table (only q8 tables are embedded)`);
  return embedRows(dequantize(chunk), ids, chunk.cols, row0, fillZeros, out);
}
