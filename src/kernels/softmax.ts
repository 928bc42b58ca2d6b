// Softmax spec: row-wise, in place, max-subtracted. Math and variants: shaders/softmax.wgsl. CPU spec: src/ref/softmax.ts.
import source from '../../shaders/softmax.wgsl?raw';
import { defineKernel, readWrite, type AdapterTraits, type Variant } from '../gpu/kernel';
import { fold, groups } from './common';

export interface SoftmaxShape {
  rows: number;
  /** Row length (e.g. the vocabulary size). */
  cols: number;
  /** Run this variant instead of the adapter's choice (tests, autotune). */
  force?: SoftmaxVariantName;
}

/** row: one thread per row, no barriers (SwiftShader). wg: one workgroup per row with tree reductions. */
export type SoftmaxVariantName = 'row' | 'wg';
export const SOFTMAX_VARIANTS: readonly SoftmaxVariantName[] = ['row', 'wg'];

const WG_ROW = 64;
const WG_REDUCE = 256;
/** The tree reduction halves WG: round down to a power of two. */
const pow2Below = (n: number): number => 2 ** Math.floor(Math.log2(n));

/** Which variant runs on this adapter: the autotuned choice (traits.tuned.softmax) where set. */
export function softmaxVariantName(traits: AdapterTraits): SoftmaxVariantName {
  const tuned = traits.tuned['softmax'];
  if (tuned === 'row' || tuned === 'wg') return tuned;
  return traits.isFallback ? 'row' : 'wg';
}

export const softmax = defineKernel<SoftmaxShape, Variant>({
  name: 'softmax',
  source,
  uniforms: [['rows', 'u32'], ['cols', 'u32']],
  bindings: [readWrite('x')],
  variant: (s, traits) => {
    const name = s.force ?? softmaxVariantName(traits);
    if (name === 'wg') return { entry: 'wg', constants: { WG: pow2Below(Math.min(WG_REDUCE, traits.maxWorkgroupSize)) } };
    return { entry: s.cols % 4 === 0 ? 'row_vec4' : 'row', constants: { WG: WG_ROW } };
  },
  dispatch: (s, v) => (v.entry === 'wg' ? fold(s.rows) : fold(groups(s.rows, WG_ROW))),
});
