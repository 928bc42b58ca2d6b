// GEMV spec: y = W·x (+ b) (+ y), one token. Math and variants: shaders/gemv.wgsl. CPU spec: src/ref/linear.ts.
// Uniforms { rows, cols, yOff }: yOff places a row chunk's outputs at y[yOff..] (split weights; 0 when unsplit).
import source from '../../shaders/gemv.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits } from '../gpu/kernel';
import { fold, groups } from './common';

export interface GemvShape {
  rows: number;
  cols: number;
  bias?: boolean;
  /** y += W·x (fused residual add). */
  accumulate?: boolean;
}

export type GemvVariantName = 'rows4_vec4' | 'rows4' | 'wg_vec4';
export const GEMV_VARIANTS: readonly GemvVariantName[] = ['rows4_vec4', 'rows4', 'wg_vec4'];

const WG = 64;

/** Which entry point runs for this shape on this adapter: the autotuned choice where it applies. */
export function gemvVariantName(cols: number, traits: AdapterTraits): GemvVariantName {
  if (cols % 4 !== 0) return 'rows4';
  const tuned = traits.tuned['gemv'];
  if (tuned === 'wg_vec4' || tuned === 'rows4_vec4') return tuned;
  return traits.isFallback ? 'rows4_vec4' : 'wg_vec4';
}

export const gemv = defineKernel({
  name: 'gemv',
  source,
  uniforms: [['rows', 'u32'], ['cols', 'u32'], ['yOff', 'u32']],
  bindings: [read('W'), read('x'), read('b'), readWrite('y')],
  variant: (s: GemvShape & { force?: GemvVariantName }, traits) => ({
    entry: s.force ?? gemvVariantName(s.cols, traits),
    constants: { WG, HAS_BIAS: s.bias ? 1 : 0, ACCUMULATE: s.accumulate ? 1 : 0 },
  }),
  dispatch: (s, v) => (v.entry === 'wg_vec4' ? fold(s.rows) : [groups(s.rows, 4 * WG)]),
});
