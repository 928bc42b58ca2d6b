// 2:4 sparse linear: y = W·x (+ b) (+ y) for one token (GEMV) or many (matmul), W in the compressed 2:4 layout.
// Math, layout and variants: shaders/gemv_24.wgsl. Packing (host) and the float64 CPU reference that walks the
// packed layout live here, next to the spec, because they define the layout the shader reads.
import source from '../../shaders/gemv_24.wgsl?raw';
import { defineKernel, read, readWrite } from '../gpu/kernel';
import type { Vec } from '../ref/linear';
import { groups } from './common';

/** W (rows, cols) in the 2:4 layout of shaders/gemv_24.wgsl. */
export interface Packed24 {
  rows: number;
  cols: number;
  nw: number; // index words per row = ceil(cols / 32); rows are padded to 32·nw columns
  vals: Float32Array; // (rows, 16·nw): 2 kept values per group of 4 inputs
  idx: Uint32Array; // (rows, nw): 4 bits per group (two 2-bit positions)
}

export const words24 = (cols: number): number => Math.ceil(cols / 32);

/**
 * Compress a 2:4-sparse matrix (at most 2 nonzeros in every group of 4 consecutive inputs of a row; e.g.
 * applyMask(W, nmMask(W, rows, cols))). Slots a group does not need hold value 0 at an unused position; the two
 * positions of a group are always distinct and ascending (the shader relies on it).
 */
export function pack24(W: ArrayLike<number>, rows: number, cols: number): Packed24 {
  if (W.length !== rows * cols) throw new Error(`pack24: ${W.length} values for (${rows}, ${cols})`);
  const nw = words24(cols);
  const vals = new Float32Array(rows * nw * 16);
  const idx = new Uint32Array(rows * nw);
  const pos = [0, 0];
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < nw * 8; g++) {
      let np = 0;
      let used = 0; // bit j: position j taken
      for (let j = 0; j < 4; j++) {
        if (4 * g + j < cols && W[r * cols + 4 * g + j] !== 0) {
          if (np === 2) throw new Error(`pack24: row ${r}, columns ${4 * g}..${4 * g + 3} hold more than 2 nonzeros (2:4 allows 2)`);
          pos[np++] = j;
          used |= 1 << j;
        }
      }
      for (let j = 0; np < 2; j++) if (!(used & (1 << j))) pos[np++] = j; // pad with unused positions, value 0
      const p0 = Math.min(pos[0]!, pos[1]!);
      const p1 = Math.max(pos[0]!, pos[1]!);
      const vo = r * nw * 16 + 2 * g;
      vals[vo] = 4 * g + p0 < cols ? W[r * cols + 4 * g + p0]! : 0;
      vals[vo + 1] = 4 * g + p1 < cols ? W[r * cols + 4 * g + p1]! : 0;
      idx[r * nw + (g >> 3)]! |= (p0 | (p1 << 2)) << (4 * (g & 7));
    }
  }
  return { rows, cols, nw, vals, idx };
}

/** The dense (rows, cols) matrix a packed one stands for. */
export function unpack24(p: Packed24): Float32Array {
  const W = new Float32Array(p.rows * p.cols);
  for (let r = 0; r < p.rows; r++) {
    for (let g = 0; g < p.nw * 8; g++) {
      const bits = (p.idx[r * p.nw + (g >> 3)]! >>> (4 * (g & 7))) & 15;
      for (let s = 0; s < 2; s++) {
        const c = 4 * g + ((bits >> (2 * s)) & 3);
        const v = p.vals[r * p.nw * 16 + 2 * g + s]!;
        if (v !== 0 && c < p.cols) W[r * p.cols + c] = v;
      }
    }
  }
  return W;
}

/** Float64 CPU reference walking the packed layout: y (n, rows) = x (n, cols)·Wᵀ (+ b) (+ residual). */
export function linear24Ref(p: Packed24, x: Vec, n = 1, b: Vec | null = null, residual: Vec | null = null): Float64Array {
  const y = new Float64Array(n * p.rows);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < p.rows; r++) {
      let acc = 0;
      for (let g = 0; g < p.nw * 8; g++) {
        const bits = (p.idx[r * p.nw + (g >> 3)]! >>> (4 * (g & 7))) & 15;
        for (let s = 0; s < 2; s++) {
          const c = Math.min(4 * g + ((bits >> (2 * s)) & 3), p.cols - 1); // the shader's clamp
          acc += p.vals[r * p.nw * 16 + 2 * g + s]! * x[t * p.cols + c]!;
        }
      }
      if (b) acc += b[r]!;
      if (residual) acc += residual[t * p.rows + r]!;
      y[t * p.rows + r] = acc;
    }
  }
  return y;
}

export interface Linear24Shape {
  n: number; // tokens: 1 → gemv entries, > 1 → matmul entries
  rows: number;
  cols: number;
  bias?: boolean;
  /** y += W·x (fused residual add). */
  accumulate?: boolean;
}

export type Linear24Entry = 'gemv_vec4' | 'gemv' | 'matmul_vec4' | 'matmul';

const WG = 64;

export const gemv24 = defineKernel({
  name: 'gemv_24',
  source,
  uniforms: [['n', 'u32'], ['rows', 'u32'], ['cols', 'u32'], ['nw', 'u32']],
  bindings: [read('vals'), read('idx'), read('x'), read('b'), readWrite('y')],
  variant: (s: Linear24Shape & { force?: Linear24Entry; wg?: number }) => {
    const entry = s.force ?? `${s.n === 1 ? 'gemv' : 'matmul'}${s.cols % 4 === 0 ? '_vec4' : ''}`;
    if (entry.endsWith('_vec4') && s.cols % 4 !== 0) throw new Error(`gemv_24 ${entry} needs cols % 4 == 0 (cols ${s.cols})`);
    return { entry, constants: { WG: s.wg ?? WG, HAS_BIAS: s.bias ? 1 : 0, ACCUMULATE: s.accumulate ? 1 : 0 } };
  },
  dispatch: (s, v) => {
    const wg = v.constants.WG!;
    return v.entry!.startsWith('gemv') ? [groups(s.rows, 4 * wg)] : [groups(s.rows, 4 * wg), groups(s.n, 4)];
  },
});

/** Uniform values for gemv24 (nw follows from cols). */
export const uniforms24 = (n: number, rows: number, cols: number) => ({ n, rows, cols, nw: words24(cols) });
