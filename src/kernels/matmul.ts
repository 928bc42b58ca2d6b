// Matmul spec: y = x·Wᵀ (+ b) (+ y), many tokens (prefill, verification). Math and variants: shaders/matmul.wgsl.
// CPU spec: src/ref/linear.ts (linear(W, x, rows, cols, n, b, residual)).
// Uniforms { n, rows, cols, yOff, ldy }: y[t, r] is stored at y[t·ldy + yOff + r] (a row chunk of a split weight
// writes its columns of the whole (n, ldy) output; unsplit: yOff 0, ldy = rows).
import source from '../../shaders/matmul.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits } from '../gpu/kernel';
import { groups } from './common';

export interface MatmulShape {
  /** Tokens (rows of x and y). */
  n: number;
  /** Output features (rows of W). */
  rows: number;
  /** Input features (cols of W and x). */
  cols: number;
  bias?: boolean;
  /** y += x·Wᵀ (fused residual add). */
  accumulate?: boolean;
}

export type MatmulVariantName = 'reg4x4_vec4' | 'reg4x4' | 'tile16' | 'tile64';
export const MATMUL_VARIANTS: readonly MatmulVariantName[] = ['reg4x4_vec4', 'reg4x4', 'tile16', 'tile64'];

const WG = 64;

/** Which entry point runs for this shape on this adapter: the autotuned choice where it applies. */
export function matmulVariantName(n: number, cols: number, traits: AdapterTraits): MatmulVariantName {
  const tuned = traits.tuned['matmul'] as MatmulVariantName | undefined;
  const pick: MatmulVariantName =
    tuned && MATMUL_VARIANTS.includes(tuned) ? tuned : traits.isFallback ? 'reg4x4_vec4' : n <= 16 ? 'tile16' : 'tile64';
  return pick === 'reg4x4_vec4' && cols % 4 !== 0 ? 'reg4x4' : pick;
}

export const matmul = defineKernel({
  name: 'matmul',
  source,
  uniforms: [['n', 'u32'], ['rows', 'u32'], ['cols', 'u32'], ['yOff', 'u32'], ['ldy', 'u32']],
  bindings: [read('W'), read('x'), read('b'), readWrite('y')],
  variant: (s: MatmulShape & { force?: MatmulVariantName }, traits) => {
    const entry = s.force ?? matmulVariantName(s.n, s.cols, traits);
    if (entry === 'reg4x4_vec4' && s.cols % 4 !== 0) throw new Error(`matmul reg4x4_vec4 needs cols % 4 == 0 (cols ${s.cols})`);
    const constants: Record<string, number> = { HAS_BIAS: s.bias ? 1 : 0, ACCUMULATE: s.accumulate ? 1 : 0 };
    if (entry === 'reg4x4_vec4' || entry === 'reg4x4') constants.WG = WG; // the tiled entries are fixed 16×16
    return { entry, constants };
  },
  dispatch: (s, v) => {
    if (v.entry === 'tile16') return [groups(s.rows, 16), groups(s.n, 16)];
    if (v.entry === 'tile64') return [groups(s.rows, 64), groups(s.n, 64)];
    return [groups(s.rows, 4 * WG), groups(s.n, 4)];
  },
});
