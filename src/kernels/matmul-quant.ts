// Dequantizing matmul spec: y = x·Ŵᵀ (+ b) (+ y), many tokens (prefill, verification), Ŵ packed q8/q4/q4z.
// Math, layout and variants: shaders/matmul_quant.wgsl. CPU spec: dequantize() (src/techniques/quantize.ts) then
// linear() (src/ref/linear.ts).
import source from '../../shaders/matmul_quant.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits } from '../gpu/kernel';
import type { QuantFormat } from '../techniques/quantize';
import { groups } from './common';
import { FMT_CODE } from './gemv-quant';

export interface MatmulQuantShape {
  fmt: QuantFormat;
  groupSize: number;
  /** Tokens (rows of x and y). */
  n: number;
  /** Output features (rows of W). */
  rows: number;
  /** Input features (cols of W and x). */
  cols: number;
  bias?: boolean;
  /** y += x·Ŵᵀ (fused residual add). */
  accumulate?: boolean;
}

export type MatmulQuantVariantName = 'reg4x4' | 'tile16';
export const MATMUL_QUANT_VARIANTS: readonly MatmulQuantVariantName[] = ['reg4x4', 'tile16'];

const WG = 64;

/** The autotuned choice (traits.tuned['matmul_q']) where set, else reg4x4 on CPU-emulated adapters, tile16 on GPUs. */
export function matmulQuantVariantName(traits: AdapterTraits): MatmulQuantVariantName {
  const tuned = traits.tuned['matmul_q'] as MatmulQuantVariantName | undefined;
  if (tuned && MATMUL_QUANT_VARIANTS.includes(tuned)) return tuned;
  return traits.isFallback ? 'reg4x4' : 'tile16';
}

export const matmulQuant = defineKernel({
  name: 'matmul_quant',
  source,
  uniforms: [['n', 'u32'], ['rows', 'u32'], ['cols', 'u32']],
  bindings: [read('Wq'), read('scales'), read('zeros'), read('x'), read('b'), readWrite('y')],
  variant: (s: MatmulQuantShape & { force?: MatmulQuantVariantName }, traits) => {
    if (s.groupSize % 8 !== 0 || s.groupSize <= 0) throw new Error(`matmul_quant: group size ${s.groupSize} is not a positive multiple of 8`);
    const entry = s.force ?? matmulQuantVariantName(traits);
    const constants: Record<string, number> = {
      FMT: FMT_CODE[s.fmt],
      GS: s.groupSize,
      HAS_BIAS: s.bias ? 1 : 0,
      ACCUMULATE: s.accumulate ? 1 : 0,
    };
    if (entry === 'reg4x4') constants.WG = WG; // tile16 is a fixed 16×16
    return { entry, constants };
  },
  dispatch: (s, v) => (v.entry === 'tile16' ? [groups(s.rows, 16), groups(s.n, 16)] : [groups(s.rows, 4 * WG), groups(s.n, 4)]),
});
