// The token-embedding table on the GPU, split into row chunks when it is larger than one storage binding
// (gpu.maxBindingBytes: laptops often allow 128 MiB; a 151,936 × 896 f32 table is 544 MB).
//
//   table (vocab, dim) f32 row-major = chunks stacked by rows: chunk i holds rows [row0_i, row0_i + rows_i)
//   as its own (rows_i, dim) tensor. Chunk sizes follow src/model/linear.ts chunkRows (multiples of 16 rows
//   where the limit allows, the last chunk takes the rest). Unsplit: one chunk, row0 = 0.
// Lookup (x = table[ids], x: (n, dim)): one embedding kernel call per chunk; the first fills ids outside its rows
// with zeros, the later ones write only their own ids (shaders/embedding.wgsl, row0 + FILL_ZEROS), so every token
// row is written exactly by the chunk owning its id, and ids >= vocab stay zero rows as in the unsplit kernel.
// A tied lm_head reads the same chunk tensors as a row-split f32 LinearWeight (tiedHead).

import type { Gpu } from '../gpu/device';
import type { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { embedding } from '../kernels/embedding';
import { chunkRows, type LinearChunk, type LinearWeight } from './linear';

export interface EmbeddingChunk {
  row0: number;
  rows: number;
  t: GpuTensor; // (rows, dim) f32
}

export interface EmbeddingTable {
  name: string;
  vocab: number;
  dim: number;
  chunks: readonly EmbeddingChunk[];
  /** Every chunk tensor (for release and for a tied head's `keep` lists). */
  tensors: readonly GpuTensor[];
}

/** The tied head's LinearWeight name (src/techniques/quant-formats.ts TIED_HEAD). */
const TIED = 'lm_head (tied)';

/** Upload a (vocab, dim) f32 table, split by rows when it exceeds gpu.maxBindingBytes. */
export function uploadEmbedding(gpu: Gpu, name: string, vocab: number, dim: number, data: Float32Array): EmbeddingTable {
  if (data.length !== vocab * dim) throw new Error(`${name}: ${data.length} values for a (${vocab}, ${dim}) table`);
  const sizes = chunkRows(vocab, dim * 4, gpu.maxBindingBytes, `'${name}'`);
  const chunks: EmbeddingChunk[] = [];
  let row0 = 0;
  for (const rows of sizes) {
    const label = sizes.length === 1 ? name : `${name}[${row0}:${row0 + rows}]`;
    chunks.push({ row0, rows, t: gpu.pool.fromArray(label, [rows, dim], data.subarray(row0 * dim, (row0 + rows) * dim), 'weights') });
    row0 += rows;
  }
  return { name, vocab, dim, chunks, tensors: chunks.map((c) => c.t) };
}

/** Encode x (n, dim) = table[ids (n) u32]: one kernel call per chunk (see the file header). */
export function embedLookup(rec: Recorder, table: EmbeddingTable, ids: GpuTensor, out: GpuTensor, n: number): void {
  const { dim } = table;
  table.chunks.forEach((c, i) => {
    rec.run(embedding, { n, dim, vocab: c.rows, keep: i > 0 }, { table: c.t, ids, out }, { n, dim, vocab: c.rows, row0: c.row0 });
  });
}

/** The tied lm_head (vocab, dim) sharing the table's tensors: f32, row-split like the table when it is split. */
export function tiedHead(table: EmbeddingTable): LinearWeight {
  const base = { name: TIED, rows: table.vocab, cols: table.dim, format: 'f32', bias: null };
  if (table.chunks.length === 1) return { ...base, tensors: { W: table.chunks[0]!.t } };
  const chunks: LinearChunk[] = table.chunks.map((c) => ({
    row0: c.row0,
    w: { ...base, name: `${TIED}[${c.row0}:${c.row0 + c.rows}]`, rows: c.rows, tensors: { W: c.t } },
  }));
  const tensors = Object.fromEntries(table.chunks.map((c, i) => [`W#${i}`, c.t]));
  return { ...base, tensors, chunks };
}

export function releaseEmbedding(gpu: Gpu, table: EmbeddingTable): void {
  for (const t of table.tensors) gpu.pool.release(t);
}
