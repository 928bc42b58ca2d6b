// Embedding spec: out = table[ids] (a gather). Math and variants: shaders/embedding.wgsl (f32 table) and
// shaders/embedding_packed.wgsl (f16 / q8 tables, dequantized on the fly: embeddingF16, embeddingQ8). CPU spec:
// src/ref/embedding.ts (embedRows for one row chunk of a split table; embedF16 / embedQ8 for packed ones).
// Uniforms { n, dim, vocab, row0 }.
import source from '../../shaders/embedding.wgsl?raw';
import packedSource from '../../shaders/embedding_packed.wgsl?raw';
import { defineKernel, read, readWrite, type Variant } from '../gpu/kernel';
import { fold, groups } from './common';

export interface EmbeddingShape {
  /** Tokens. */
  n: number;
  /** Embedding width (hidden size). */
  dim: number;
  /** Rows of the table (of this chunk); ids outside [row0, row0 + vocab) give zeros, or are skipped (keep). */
  vocab: number;
  /** A later chunk of a split table: leave tokens whose id is outside this chunk untouched (no zeros). */
  keep?: boolean;
}

const WG = 64;

export const embedding = defineKernel<EmbeddingShape, Variant>({
  name: 'embedding',
  source,
  uniforms: [['n', 'u32'], ['dim', 'u32'], ['vocab', 'u32'], ['row0', 'u32']],
  bindings: [read('table'), read('ids'), readWrite('out')],
  variant: (s) => ({ entry: s.dim % 4 === 0 ? 'main_vec4' : 'main', constants: { WG, FILL_ZEROS: s.keep ? 0 : 1 } }),
  dispatch: (s, v) => fold(groups((s.n * s.dim) / (v.entry === 'main_vec4' ? 4 : 1), WG)),
});

/** f16 table: bindings table (vocab, ceil(dim/2)) u32, ids, out. */
export const embeddingF16 = defineKernel<EmbeddingShape, Variant>({
  name: 'embedding_f16',
  source: packedSource,
  uniforms: [['n', 'u32'], ['dim', 'u32'], ['vocab', 'u32'], ['row0', 'u32']],
  bindings: [read('table'), read('ids'), readWrite('out')],
  variant: (s) => ({ entry: s.dim % 4 === 0 ? 'f16_vec4' : 'f16_main', constants: { WG, FILL_ZEROS: s.keep ? 0 : 1 } }),
  dispatch: (s, v) => fold(groups((s.n * s.dim) / (v.entry === 'f16_vec4' ? 4 : 1), WG)),
});

export interface EmbeddingQ8Shape extends EmbeddingShape {
  /** Columns per scale (a positive multiple of 8). */
  groupSize: number;
}

/** q8 table: bindings table (vocab, ceil(dim/4)) u32, ids, out, scales (vocab, ceil(dim/groupSize)) f32. */
export const embeddingQ8 = defineKernel<EmbeddingQ8Shape, Variant>({
  name: 'embedding_q8',
  source: packedSource,
  uniforms: [['n', 'u32'], ['dim', 'u32'], ['vocab', 'u32'], ['row0', 'u32']],
  bindings: [read('table'), read('ids'), readWrite('out'), read('scales')],
  variant: (s) => ({ entry: s.dim % 4 === 0 ? 'q8_vec4' : 'q8_main', constants: { WG, FILL_ZEROS: s.keep ? 0 : 1, G: s.groupSize } }),
  dispatch: (s, v) => fold(groups((s.n * s.dim) / (v.entry === 'q8_vec4' ? 4 : 1), WG)),
});
