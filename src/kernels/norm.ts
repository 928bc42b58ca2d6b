// Normalisation specs: RMSNorm and LayerNorm over rows. Math and variants: shaders/norm.wgsl.
// CPU spec: src/ref/norm.ts.
import source from '../../shaders/norm.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits, type Variant } from '../gpu/kernel';
import { fold, groups } from './common';

export interface NormShape {
  /** Rows (tokens). */
  n: number;
  /** Row width (hidden size). */
  dim: number;
  /** Run this variant instead of the adapter's choice (tests, autotune). */
  force?: NormVariantName;
}

/** row: one thread per row, no barriers (SwiftShader). wg: one workgroup per row with a shared-memory reduction. */
export type NormVariantName = 'row' | 'wg';
export const NORM_VARIANTS: readonly NormVariantName[] = ['row', 'wg'];

const WG_ROW = 64;
const WG_REDUCE = 256;
/** The tree reduction halves WG: round down to a power of two. */
const pow2Below = (n: number): number => 2 ** Math.floor(Math.log2(n));

/** Which variant runs on this adapter: the autotuned choice (traits.tuned.norm) where set. */
export function normVariantName(traits: AdapterTraits): NormVariantName {
  const tuned = traits.tuned['norm'];
  if (tuned === 'row' || tuned === 'wg') return tuned;
  return traits.isFallback ? 'row' : 'wg';
}

const chooser = (prefix: 'rms' | 'ln') => (s: NormShape, traits: AdapterTraits): Variant => {
  const name = s.force ?? normVariantName(traits);
  if (name === 'wg') return { entry: `${prefix}_wg`, constants: { WG: pow2Below(Math.min(WG_REDUCE, traits.maxWorkgroupSize)) } };
  return { entry: s.dim % 4 === 0 ? `${prefix}_row_vec4` : `${prefix}_row`, constants: { WG: WG_ROW } };
};

const rowsDispatch = (s: NormShape, v: Variant) => (v.entry!.endsWith('_wg') ? fold(s.n) : fold(groups(s.n, WG_ROW)));

/** y = x / sqrt(mean(x²) + eps) · w, per row. */
export const rmsnorm = defineKernel<NormShape, Variant>({
  name: 'rmsnorm',
  source,
  uniforms: [['n', 'u32'], ['dim', 'u32'], ['eps', 'f32']],
  bindings: [read('x'), read('w'), readWrite('y')],
  variant: chooser('rms'),
  dispatch: rowsDispatch,
});

/** y = (x − mean) / sqrt(var + eps) · w + b, per row. */
export const layernorm = defineKernel<NormShape, Variant>({
  name: 'layernorm',
  source,
  uniforms: [['n', 'u32'], ['dim', 'u32'], ['eps', 'f32']],
  bindings: [read('x'), read('w'), read('b'), readWrite('y')],
  variant: chooser('ln'),
  dispatch: rowsDispatch,
});
