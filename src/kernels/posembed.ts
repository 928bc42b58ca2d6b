// Learned position embeddings spec: x[t] += table[pos0 + t] in place (GPT-2's wpe). Math and variants:
// shaders/posembed.wgsl. CPU spec: src/ref/posembed.ts.
import source from '../../shaders/posembed.wgsl?raw';
import { defineKernel, read, readWrite, type Variant } from '../gpu/kernel';
import { fold, groups } from './common';

export interface PosEmbedShape {
  /** Tokens. */
  n: number;
  /** Embedding width (hidden size). */
  dim: number;
}

const WG = 64;

/** x (n, dim) += table (rows, dim) rows pos0 .. pos0+n−1 (uniforms n, dim, rows, pos0). */
export const posEmbed = defineKernel<PosEmbedShape, Variant>({
  name: 'posembed',
  source,
  uniforms: [['n', 'u32'], ['dim', 'u32'], ['rows', 'u32'], ['pos0', 'u32']],
  bindings: [read('table'), readWrite('x')],
  variant: (s) => ({ entry: s.dim % 4 === 0 ? 'main_vec4' : 'main', constants: { WG } }),
  dispatch: (s, v) => fold(groups((s.n * s.dim) / (v.entry === 'main_vec4' ? 4 : 1), WG)),
});
