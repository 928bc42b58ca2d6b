// Embedding spec: out = table[ids] (a gather). Math and variants: shaders/embedding.wgsl. CPU spec: src/ref/embedding.ts
// (embedRows for one row chunk of a split table). Uniforms { n, dim, vocab, row0 }.
import source from '../../shaders/embedding.wgsl?raw';
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
