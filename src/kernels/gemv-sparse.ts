// Unstructured sparse linear (SELL-16-σ, sliced ELLPACK with rows sorted by length): y = W·x (+ b) (+ y) for one token (GEMV) or many
// (matmul). Math, layout and the argument for the format: shaders/gemv_sparse.wgsl. Packing (host), the float64
// CPU reference that walks the packed layout, and the dense-vs-sparse choice live here, next to the spec.
import source from '../../shaders/gemv_sparse.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits } from '../gpu/kernel';
import type { Vec } from '../ref/linear';
import { groups } from './common';

/** Slices (threads) per chunk; a slice is 4 rows. Must match C in the shader. */
export const SELL_C = 4;

/** W (rows, cols) in the SELL-16-σ layout of shaders/gemv_sparse.wgsl. */
export interface PackedSell {
  rows: number;
  cols: number;
  slices: number; // ceil(rows / 4)
  nnz: number; // nonzeros stored
  slots: number; // slots used (each 4 values); ≥ nnz / 4, the rest is padding
  vals: Float32Array; // (slots + 1, 4)   (+1: a trailing zero slot, so no buffer is empty)
  cix: Uint32Array; // (slots + 1, 2)    two u16 column indices per word
  chunk: Uint32Array; // (nChunks + 1)   first slot of each chunk
  perm: Uint32Array; // (rows)            matrix row of each stored row (rows sorted by nonzeros, descending)
}

/** Compress the nonzeros of W (rows, cols), e.g. applyMask(W, magnitudeMask(W, s)). */
export function packSell(W: ArrayLike<number>, rows: number, cols: number): PackedSell {
  if (W.length !== rows * cols) throw new Error(`packSell: ${W.length} values for (${rows}, ${cols})`);
  if (cols > 65536) throw new Error(`packSell: cols ${cols} > 65536 (column indices are u16)`);
  const byRow: number[][] = [];
  let nnz = 0;
  for (let r = 0; r < rows; r++) {
    const cs: number[] = [];
    for (let c = 0; c < cols; c++) if (W[r * cols + c] !== 0) cs.push(c);
    byRow.push(cs);
    nnz += cs.length;
  }
  const perm = Uint32Array.from(byRow.keys()).sort((a, b) => byRow[b]!.length - byRow[a]!.length || a - b);
  const rowCols = Array.from(perm, (r) => byRow[r]!); // stored row j = matrix row perm[j]
  const slices = Math.ceil(rows / 4);
  const nChunks = Math.ceil(slices / SELL_C);
  const chunk = new Uint32Array(nChunks + 1);
  for (let c = 0; c < nChunks; c++) {
    let len = 0;
    for (let r = c * 4 * SELL_C; r < Math.min(rows, (c + 1) * 4 * SELL_C); r++) len = Math.max(len, rowCols[r]!.length);
    chunk[c + 1] = chunk[c]! + len * SELL_C;
  }
  const slots = chunk[nChunks]!;
  const vals = new Float32Array((slots + 1) * 4);
  const cix = new Uint32Array((slots + 1) * 2);
  for (let j = 0; j < rows; j++) {
    const s = j >> 2;
    const c = Math.floor(s / SELL_C);
    rowCols[j]!.forEach((col, k) => {
      const slot = chunk[c]! + k * SELL_C + (s % SELL_C);
      vals[slot * 4 + (j & 3)] = W[perm[j]! * cols + col]!;
      cix[slot * 2 + ((j & 3) >> 1)]! |= col << (16 * (j & 1));
    });
  }
  return { rows, cols, slices, nnz, slots, vals, cix, chunk, perm };
}

/** Calls f(row, col, value) for every stored slot of a packed matrix (padding included: value 0, col 0). */
function eachSlot(p: PackedSell, f: (r: number, c: number, v: number) => void): void {
  for (let s = 0; s < p.slices; s++) {
    const c = Math.floor(s / SELL_C);
    const len = (p.chunk[c + 1]! - p.chunk[c]!) / SELL_C;
    for (let k = 0; k < len; k++) {
      const slot = p.chunk[c]! + k * SELL_C + (s % SELL_C);
      for (let i = 0; i < 4 && 4 * s + i < p.rows; i++) {
        const col = (p.cix[slot * 2 + (i >> 1)]! >>> (16 * (i & 1))) & 0xffff;
        f(p.perm[4 * s + i]!, col, p.vals[slot * 4 + i]!);
      }
    }
  }
}

/** The dense (rows, cols) matrix a packed one stands for. */
export function unpackSell(p: PackedSell): Float32Array {
  const W = new Float32Array(p.rows * p.cols);
  eachSlot(p, (r, c, v) => v !== 0 && (W[r * p.cols + c] = v));
  return W;
}

/** Float64 CPU reference walking the packed layout: y (n, rows) = x (n, cols)·Wᵀ (+ b) (+ residual). */
export function sellRef(p: PackedSell, x: Vec, n = 1, b: Vec | null = null, residual: Vec | null = null): Float64Array {
  const y = new Float64Array(n * p.rows);
  for (let t = 0; t < n; t++) {
    eachSlot(p, (r, c, v) => (y[t * p.rows + r] += v * x[t * p.cols + c]!));
    for (let r = 0; r < p.rows; r++) y[t * p.rows + r] += (b ? b[r]! : 0) + (residual ? residual[t * p.rows + r]! : 0);
  }
  return y;
}

export interface SparseShape {
  n: number; // tokens: 1 → gemv, > 1 → matmul
  rows: number;
  cols: number;
  bias?: boolean;
  /** y += W·x (fused residual add). */
  accumulate?: boolean;
}

const WG = 64;

export const gemvSparse = defineKernel({
  name: 'gemv_sparse',
  source,
  uniforms: [['n', 'u32'], ['rows', 'u32'], ['cols', 'u32'], ['slices', 'u32']],
  bindings: [read('vals'), read('cix'), read('chunk'), read('perm'), read('x'), read('b'), readWrite('y')],
  variant: (s: SparseShape & { force?: 'gemv' | 'matmul'; wg?: number }) => ({
    entry: s.force ?? (s.n === 1 ? 'gemv' : 'matmul'),
    constants: { WG: s.wg ?? WG, HAS_BIAS: s.bias ? 1 : 0, ACCUMULATE: s.accumulate ? 1 : 0 },
  }),
  dispatch: (s, v) => {
    const slices = groups(Math.ceil(s.rows / 4), v.constants.WG!);
    return v.entry === 'gemv' ? [slices] : [slices, groups(s.n, 4)];
  },
});

/** Uniform values for gemvSparse. */
export const uniformsSparse = (n: number, rows: number, cols: number) => ({ n, rows, cols, slices: Math.ceil(rows / 4) });

// ---- dense or sparse? ----------------------------------------------------------------------------------------

/**
 * Sparsity at and above which the SELL GEMV beats the dense f32 GEMV (decode), by adapter class.
 *   fallback: measured on SwiftShader (Chromium, 2 CPU cores, busy machine; paired runs, medians and minima of
 *             14 submits of 30 dispatches) on the lab-target's layer-2 weights, magnitude-masked:
 *               sparsity        0.5    0.6    0.7    0.8    0.9    0.95   (SELL speed-up over dense, minima)
 *               256→768 (gate)  0.75×  0.90×  1.05×  1.58×  2.71×  4.47×
 *               768→256 (down)  0.71×  0.82×  1.13×  1.62×  2.63×  4.62×
 *               256→256 (q)     0.69×  0.88×  1.16×  1.47×  1.94×  2.72×
 *             SELL wins from 0.7 on every shape (from ~0.65 on the best): crossover 0.7.
 *   gpu:      NOT measured (no GPU was available to this work): from bytes, SELL reads 6 B per kept weight vs
 *             4 B per weight dense, break-even at 1/3 sparsity; with padding and gather overhead, 0.5.
 * An autotuned value (traits.tuned['sparse_crossover'], a decimal string) wins when present.
 */
export const SPARSE_CROSSOVER = { fallback: 0.7, gpu: 0.5 } as const;

export type SparseKernel = 'dense' | 'sell';

export function sparseCrossover(traits: AdapterTraits): number {
  const tuned = Number(traits.tuned['sparse_crossover']);
  if (traits.tuned['sparse_crossover'] !== undefined && tuned >= 0 && tuned <= 1) return tuned;
  return traits.isFallback ? SPARSE_CROSSOVER.fallback : SPARSE_CROSSOVER.gpu;
}

/** The decode kernel for a tensor of this sparsity: the masked dense GEMV below the crossover, SELL at or above. */
export function chooseSparseKernel(sparsity: number, traits: AdapterTraits): SparseKernel {
  return sparsity >= sparseCrossover(traits) ? 'sell' : 'dense';
}
