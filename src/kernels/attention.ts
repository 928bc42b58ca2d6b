// Attention spec: fused causal attention over the KV cache with grouped-query heads, online softmax.
// Math and variants: shaders/attention.wgsl. CPU spec: src/ref/attention.ts.
// Uniforms the caller passes: { n, nHeads, nKvHeads, headDim, pos0: kvLen − n, scale: 1 / sqrt(headDim) }
// (attentionUniforms() builds them from the shape).
import source from '../../shaders/attention.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits } from '../gpu/kernel';
import { fold, groups } from './common';

export interface AttentionShape {
  /** Query tokens this step (1 = decode). */
  n: number;
  nHeads: number;
  nKvHeads: number;
  /** <= 256. */
  headDim: number;
  /** Valid cache rows after this step's K/V were written: pos0 + n. */
  kvLen: number;
}

export type AttentionVariantName = 'thread_vec4' | 'thread' | 'wg';
export const ATTENTION_VARIANTS: readonly AttentionVariantName[] = ['thread_vec4', 'thread', 'wg'];

/** Largest headDim the kernels hold in registers / shared memory. */
export const ATTENTION_MAX_HEAD_DIM = 256;

const WG = 64;

/** Which entry point runs for this shape on this adapter: the autotuned choice where it applies. */
export function attentionVariantName(headDim: number, traits: AdapterTraits): AttentionVariantName {
  const tuned = traits.tuned['attention'] as AttentionVariantName | undefined;
  const pick: AttentionVariantName =
    tuned && ATTENTION_VARIANTS.includes(tuned) ? tuned : traits.isFallback ? 'thread_vec4' : 'wg';
  return pick === 'thread_vec4' && headDim % 4 !== 0 ? 'thread' : pick;
}

/** The uniform values for a shape. */
export function attentionUniforms(s: AttentionShape): Record<string, number> {
  return { n: s.n, nHeads: s.nHeads, nKvHeads: s.nKvHeads, headDim: s.headDim, pos0: s.kvLen - s.n, scale: 1 / Math.sqrt(s.headDim) };
}

function check(s: AttentionShape): void {
  if (s.headDim > ATTENTION_MAX_HEAD_DIM) throw new Error(`attention: headDim ${s.headDim} > ${ATTENTION_MAX_HEAD_DIM}`);
  if (s.nHeads % s.nKvHeads !== 0) throw new Error(`attention: nHeads ${s.nHeads} not a multiple of nKvHeads ${s.nKvHeads}`);
  if (s.kvLen < s.n) throw new Error(`attention: kvLen ${s.kvLen} < n ${s.n}`);
}

export const attention = defineKernel({
  name: 'attention',
  source,
  uniforms: [['n', 'u32'], ['nHeads', 'u32'], ['nKvHeads', 'u32'], ['headDim', 'u32'], ['pos0', 'u32'], ['scale', 'f32']],
  bindings: [read('q'), read('k'), read('v'), readWrite('out')],
  variant: (s: AttentionShape & { force?: AttentionVariantName }, traits) => {
    check(s);
    const entry = s.force ?? attentionVariantName(s.headDim, traits);
    if (entry === 'thread_vec4' && s.headDim % 4 !== 0) throw new Error(`attention thread_vec4 needs headDim % 4 == 0 (${s.headDim})`);
    return { entry, constants: { WG } };
  },
  dispatch: (s, v) => (v.entry === 'wg' ? fold(s.n * s.nHeads) : fold(groups(s.n * s.nHeads, WG))),
});
