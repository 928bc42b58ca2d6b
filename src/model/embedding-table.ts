// The token-embedding table on the GPU, in one of three storages, split into row chunks when it is larger than
// one storage binding (gpu.maxBindingBytes: laptops often allow 128 MiB; a 151,936 × 896 f32 table is 544 MB).
//
//   formats (the linear formats' layouts, so a tied lm_head reads the very same buffers):
//     f32: table (vocab, dim) f32 row-major                                          shaders/embedding.wgsl
//     f16: words (vocab, ceil(dim / 2)) u32, two binary16 per word (src/ref/f16.ts) shaders/embedding_packed.wgsl
//     q8:  words (vocab, ceil(dim / 4)) u32 + scales (vocab, ceil(dim / G)) f32 (src/techniques/quantize.ts)
//   Chunks are stacked by rows: chunk i holds rows [row0_i, row0_i + rows_i) as its own tensors. Chunk sizes follow
//   src/model/linear.ts chunkRows with the widest tensor's bytes per row (as uploadRows cuts a linear), multiples
//   of 16 rows where the limit allows, the last chunk takes the rest. Unsplit: one chunk, row0 = 0.
// Lookup (x = ŵ[ids], x: (n, dim) f32): one embedding kernel call per chunk; the first fills ids outside its rows
// with zeros, the later ones write only their own ids (row0 + FILL_ZEROS), so every token row is written exactly
// by the chunk owning its id, and ids >= vocab stay zero rows as in the unsplit kernel.
// A tied lm_head (tiedHead) is a LinearWeight in the table's format over the same chunk tensors: f32 → format
// 'f32' { W }; f16 → 'f16' { W }; q8 → 'q8' { Wq, scales }, meta.groupSize = G. A split packed head runs its chunks
// through scratch outputs (formats that do not place rows, src/model/linear.ts), allocated by the head.

import type { Gpu } from '../gpu/device';
import type { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { embedding, embeddingF16, embeddingQ8 } from '../kernels/embedding';
import { packF16 } from '../ref/f16';
import { quantize } from '../techniques/quantize';
import { ChunkScratch, chunkRows, type LinearChunk, type LinearWeight } from './linear';

export type EmbeddingFormat = 'f32' | 'f16' | 'q8';

export interface EmbeddingChunk {
  row0: number;
  rows: number;
  t: GpuTensor; // f32: (rows, dim) f32; f16 / q8: (rows, words per row) u32
  scales: GpuTensor | null; // q8: (rows, ceil(dim / G)) f32
}

/** How to store a table: format, q8's group size G, and the meta a tied head over it carries (for the UI). */
export interface EmbeddingSpec {
  format: EmbeddingFormat;
  groupSize?: number;
  meta?: Record<string, string | number | boolean>;
}

export interface EmbeddingTable {
  name: string;
  vocab: number;
  dim: number;
  format: EmbeddingFormat;
  /** q8 columns per scale; 0 for f32 / f16. */
  groupSize: number;
  meta: Record<string, string | number | boolean>;
  chunks: readonly EmbeddingChunk[];
  /** Every chunk tensor (for release and for a tied head's `keep` lists). */
  tensors: readonly GpuTensor[];
}

/** The tied head's LinearWeight name (src/techniques/quant-formats.ts TIED_HEAD). */
const TIED = 'lm_head (tied)';

const F32: EmbeddingSpec = { format: 'f32', meta: { precision: 'f32', bitsPerWeight: 32 } };

/**
 * Upload a (vocab, dim) f32 table in `spec`'s storage, split by rows when a tensor would exceed
 * gpu.maxBindingBytes. The whole table is packed before anything is uploaded (f16: F16RangeError for |w| ≥ 65520).
 */
export function uploadEmbedding(gpu: Gpu, name: string, vocab: number, dim: number, data: Float32Array, spec: EmbeddingSpec = F32): EmbeddingTable {
  if (data.length !== vocab * dim) throw new Error(`${name}: ${data.length} values for a (${vocab}, ${dim}) table`);
  let main: { label: string; data: Float32Array | Uint32Array; perRow: number };
  let scales: { data: Float32Array; perRow: number } | null = null;
  let groupSize = 0;
  if (spec.format === 'f32') main = { label: name, data, perRow: dim };
  else if (spec.format === 'f16') {
    const p = packF16(data, vocab, dim, name);
    main = { label: `${name}:f16`, data: p.words, perRow: p.wordsPerRow };
  } else {
    groupSize = spec.groupSize ?? 32;
    const p = quantize(data, vocab, dim, 'q8', groupSize);
    main = { label: `${name}:q8`, data: p.words, perRow: p.wordsPerRow };
    scales = { data: p.scales, perRow: p.scales.length / vocab };
  }
  const bytesPerRow = Math.max(4, main.perRow * 4, (scales?.perRow ?? 0) * 4);
  const sizes = chunkRows(vocab, bytesPerRow, gpu.maxBindingBytes, `'${name}'`);
  const chunks: EmbeddingChunk[] = [];
  let row0 = 0;
  for (const rows of sizes) {
    const suffix = sizes.length === 1 ? '' : `[${row0}:${row0 + rows}]`;
    const part = (label: string, d: Float32Array | Uint32Array, perRow: number) =>
      gpu.pool.fromArray(label + suffix, [rows, perRow], d.subarray(row0 * perRow, (row0 + rows) * perRow), 'weights');
    chunks.push({ row0, rows, t: part(main.label, main.data, main.perRow), scales: scales && part(`${name}:scales`, scales.data, scales.perRow) });
    row0 += rows;
  }
  const tensors = chunks.flatMap((c) => (c.scales ? [c.t, c.scales] : [c.t]));
  return { name, vocab, dim, format: spec.format, groupSize, meta: spec.meta ?? F32.meta!, chunks, tensors };
}

/** Encode x (n, dim) = ŵ[ids (n) u32]: one kernel call per chunk (see the file header). */
export function embedLookup(rec: Recorder, table: EmbeddingTable, ids: GpuTensor, out: GpuTensor, n: number): void {
  const { dim, groupSize } = table;
  table.chunks.forEach((c, i) => {
    const shape = { n, dim, vocab: c.rows, keep: i > 0 };
    const u = { n, dim, vocab: c.rows, row0: c.row0 };
    if (table.format === 'f32') rec.run(embedding, shape, { table: c.t, ids, out }, u);
    else if (table.format === 'f16') rec.run(embeddingF16, shape, { table: c.t, ids, out }, u);
    else rec.run(embeddingQ8, { ...shape, groupSize }, { table: c.t, ids, out, scales: c.scales! }, u);
  });
}

/** The head's tensors of one chunk, keyed as its linear format names them. */
function headTensors(table: EmbeddingTable, c: EmbeddingChunk): Record<string, GpuTensor> {
  return table.format === 'q8' ? { Wq: c.t, scales: c.scales! } : { W: c.t };
}

/**
 * The tied lm_head (vocab, dim) sharing the table's tensors, in the table's format; row-split like the table when
 * it is split (a packed split head gets its own scratch outputs from gpu.pool).
 */
export function tiedHead(gpu: Gpu, table: EmbeddingTable): LinearWeight {
  const meta = table.format === 'q8' ? { ...table.meta, groupSize: table.groupSize } : { ...table.meta };
  const base = { name: TIED, rows: table.vocab, cols: table.dim, format: table.format, bias: null, meta };
  if (table.chunks.length === 1) return { ...base, tensors: headTensors(table, table.chunks[0]!) };
  const chunks: LinearChunk[] = table.chunks.map((c) => ({
    row0: c.row0,
    w: { ...base, name: `${TIED}[${c.row0}:${c.row0 + c.rows}]`, rows: c.rows, tensors: headTensors(table, c) },
  }));
  const tensors: Record<string, GpuTensor> = {};
  table.chunks.forEach((c, i) => {
    for (const [k, t] of Object.entries(headTensors(table, c))) tensors[`${k}#${i}`] = t;
  });
  const scratch = table.format === 'f32' ? undefined : new ChunkScratch(gpu.pool, TIED, table.chunks[0]!.rows);
  return { ...base, tensors, chunks, scratch };
}

/** A linear that reads only this table's tensors (a tied head over it). */
export function sharesTable(l: LinearWeight, table: EmbeddingTable): boolean {
  const ts = Object.values(l.tensors);
  return ts.length > 0 && ts.every((t) => table.tensors.includes(t));
}

export function releaseEmbedding(gpu: Gpu, table: EmbeddingTable): void {
  for (const t of table.tensors) gpu.pool.release(t);
}
