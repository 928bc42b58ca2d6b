// Dequantizing GEMV spec: y = Ŵ·x (+ b) (+ y), one token, Ŵ packed q8/q4/q4z. Math, layout and variants:
// shaders/gemv_quant.wgsl. CPU spec: dequantize() (src/techniques/quantize.ts) then linear() (src/ref/linear.ts);
// the int8-activation entry's spec is linearA8 (src/ref/quant.ts).
import fullSource from '../../shaders/gemv_quant.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits } from '../gpu/kernel';
import type { QuantFormat } from '../techniques/quantize';
import { fold, groups } from './common';

export interface GemvQuantShape {
  fmt: QuantFormat;
  groupSize: number;
  rows: number;
  cols: number;
  bias?: boolean;
  /** y += Ŵ·x (fused residual add). */
  accumulate?: boolean;
}

export type GemvQuantVariantName = 'rows4' | 'wg' | 'a8';
export const GEMV_QUANT_VARIANTS: readonly GemvQuantVariantName[] = ['rows4', 'wg', 'a8'];

export const FMT_CODE: Record<QuantFormat, number> = { q8: 0, q4: 1, q4z: 2 };

/**
 * Shared-memory words of quantized x in the a8 entry (4 KiB): cols ≤ 4·A8_MAX_WORDS. Matches the WGSL. Kept
 * small because compile time grows with workgroup memory (zero-initialised): on SwiftShader 2048 words took
 * 3–5 s per pipeline, 256 words 0.6–1.6 s.
 */
export const A8_MAX_WORDS = 1024;
/** Group scales of x held in shared memory by the a8 entry. Matches the WGSL. */
export const A8_MAX_GROUPS = 128;

const WG = 64;

/**
 * The a8 entry uses dot4I8Packed (WGSL language feature packed_4x8_integer_dot_product). It sits after this
 * marker in the one shader file and is only compiled where the browser has the feature, so the other entries
 * compile everywhere.
 */
const A8_MARKER = '// ---- a8: int8 activations';
const cut = fullSource.indexOf(A8_MARKER);
if (cut < 0) throw new Error('gemv_quant.wgsl: a8 marker missing');

/** Whether this browser's WGSL has packed 4×8-bit integer dot products. */
export const hasPackedDot: boolean = Boolean(
  (globalThis.navigator as Navigator | undefined)?.gpu?.wgslLanguageFeatures?.has('packed_4x8_integer_dot_product'),
);

/** Whether the a8 entry can run this shape here: q8 weights, x and its group scales fit its shared-memory tile. */
export function a8Applies(s: Pick<GemvQuantShape, 'fmt' | 'cols' | 'groupSize'>): boolean {
  return hasPackedDot && s.fmt === 'q8' && Math.ceil(s.cols / 4) <= A8_MAX_WORDS && Math.ceil(s.cols / s.groupSize) <= A8_MAX_GROUPS;
}

/**
 * Which entry point runs: the autotuned choice (traits.tuned['gemv_q']) where it applies, else rows4 on
 * CPU-emulated adapters and wg on real GPUs. a8 changes the numbers (x rounded to 8 bits per group), so it is
 * never the default: only an explicit tuned/forced choice picks it, and only where a8Applies.
 */
export function gemvQuantVariantName(s: GemvQuantShape, traits: AdapterTraits): GemvQuantVariantName {
  const tuned = traits.tuned['gemv_q'];
  if (tuned === 'rows4' || tuned === 'wg') return tuned;
  if (tuned === 'a8' && a8Applies(s)) return 'a8';
  return traits.isFallback ? 'rows4' : 'wg';
}

export const gemvQuant = defineKernel({
  name: 'gemv_quant',
  source: hasPackedDot ? fullSource : fullSource.slice(0, cut),
  uniforms: [['rows', 'u32'], ['cols', 'u32']],
  bindings: [read('Wq'), read('scales'), read('zeros'), read('x'), read('b'), readWrite('y')],
  variant: (s: GemvQuantShape & { force?: GemvQuantVariantName }, traits) => {
    if (s.groupSize % 8 !== 0 || s.groupSize <= 0) throw new Error(`gemv_quant: group size ${s.groupSize} is not a positive multiple of 8`);
    const entry = s.force ?? gemvQuantVariantName(s, traits);
    if (entry === 'a8' && !a8Applies(s))
      throw new Error(`gemv_quant a8 needs q8 weights, cols ≤ ${4 * A8_MAX_WORDS}, ≤ ${A8_MAX_GROUPS} groups and WGSL packed_4x8_integer_dot_product (${s.fmt}, cols ${s.cols}, group ${s.groupSize})`);
    return {
      entry,
      constants: { WG, FMT: FMT_CODE[s.fmt], GS: s.groupSize, HAS_BIAS: s.bias ? 1 : 0, ACCUMULATE: s.accumulate ? 1 : 0 },
    };
  },
  dispatch: (s, v) => (v.entry === 'wg' ? fold(s.rows) : [groups(s.rows, 4 * WG)]),
});
