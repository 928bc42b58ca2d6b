// Sparse storage formats (host side): the 2:4 compressed layout (src/kernels/gemv-24.ts) and SELL-16-σ
// (src/kernels/gemv-sparse.ts). Hand-checked bit layouts, pack → unpack round trips, and the float64 references
// that walk the packed layouts equal dense linear() on the masked matrix; plus the dense/sparse kernel choice.
import { describe, expect, it } from 'vitest';
import type { AdapterTraits } from '../../src/gpu/kernel';
import { linear24Ref, pack24, unpack24, words24 } from '../../src/kernels/gemv-24';
import { chooseSparseKernel, packSell, SPARSE_CROSSOVER, sellRef, unpackSell } from '../../src/kernels/gemv-sparse';
import { linear } from '../../src/ref/linear';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { applyMask, magnitudeMask, nmMask } from '../../src/techniques/prune';

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-30);
};

describe('2:4 compressed layout', () => {
  it('hand-checked: positions in 4-bit fields, values in order, padding to 32 columns', () => {
    // row 0: groups [0 5 0 7] [1 0 0 0] [0 0 0 0] [. . . .]→ cols 10: third group short (cols 8, 9)
    const W = [0, 5, 0, 7, 1, 0, 0, 0, 0, 2];
    const p = pack24(W, 1, 10);
    expect(p.nw).toBe(1);
    expect(p.vals.length).toBe(16);
    expect([...p.vals.slice(0, 6)]).toEqual([5, 7, 1, 0, 0, 2]);
    // group 0: p0=1, p1=3 → 1 | 3<<2 = 13; group 1: 0 and pad 1 → 0 | 1<<2 = 4; group 2: pad 0, 1 → 4 << 8;
    // groups 3..7 (all padding): 0 | 1<<2 = 4 each
    let want = 13 | (4 << 4) | (4 << 8);
    for (let g = 3; g < 8; g++) want |= 4 << (4 * g);
    expect(p.idx[0]! >>> 0).toBe(want >>> 0);
    expect([...unpack24(p)]).toEqual(W);
  });

  it('rejects a group with 3 nonzeros', () => {
    expect(() => pack24([1, 2, 3, 0], 1, 4)).toThrow(/2:4 allows 2/);
  });

  const u = mulberry32(3);
  const shapes: [number, number][] = [[1, 1], [3, 5], [7, 33], [16, 64], [5, 98], [9, 256]];
  for (let i = 0; i < 3; i++) shapes.push([randint(u, 1, 40), randint(u, 1, 200)]);
  for (const [rows, cols] of shapes) {
    it(`round trip and reference equal linear on the masked matrix (${rows}×${cols})`, () => {
      const W = applyMask(randn(rows * cols, rows * 13 + cols), nmMask(randn(rows * cols, rows * 13 + cols), rows, cols));
      W.fill(0, 0, Math.min(cols, W.length)); // an all-zero row
      const p = pack24(W, rows, cols);
      expect(p.nw).toBe(words24(cols));
      expect([...unpack24(p)]).toEqual([...W]);
      for (let i = 0; i < p.idx.length * 8; i++) {
        const bits = (p.idx[i >> 3]! >>> (4 * (i & 7))) & 15;
        expect(bits & 3, 'p0 < p1').toBeLessThan(bits >> 2);
      }
      const n = 3;
      const x = randn(n * cols, 5);
      const b = randn(rows, 6);
      const res = randn(n * rows, 7);
      expect(relErr(linear24Ref(p, x, n, b, res), linear(W, x, rows, cols, n, b, res))).toBeLessThan(1e-12);
    });
  }
});

describe('SELL-16-σ layout', () => {
  it('hand-checked: chunk offsets, k-major slots, u16 column pairs', () => {
    const W = [0, 3, 0, /* row 1 */ 1, 0, 2];
    const p = packSell(W, 2, 3);
    expect([...p.perm]).toEqual([1, 0]); // the longer row is stored first
    expect(p.slices).toBe(1);
    expect([...p.chunk]).toEqual([0, 8]); // longest row has 2 → 2 steps × 4 lanes
    expect(p.nnz).toBe(3);
    expect([...p.vals.slice(0, 4)]).toEqual([1, 3, 0, 0]); // slot 0 = step 0 of slice 0: rows 0..3
    expect([...p.vals.slice(16, 20)]).toEqual([2, 0, 0, 0]); // slot 4 = step 1 of slice 0
    expect([p.cix[0], p.cix[1]]).toEqual([0 | (1 << 16), 0]);
    expect([p.cix[8], p.cix[9]]).toEqual([2, 0]);
    expect(p.vals.length).toBe((8 + 1) * 4); // + the trailing zero slot
    expect([...unpackSell(p)]).toEqual(W);
  });

  it('rejects more than 65536 columns', () => {
    expect(() => packSell(new Float32Array(65537), 1, 65537)).toThrow(/u16/);
  });

  const u = mulberry32(4);
  const cases: [number, number, number][] = [[1, 1, 0], [3, 5, 0.5], [17, 33, 0.9], [64, 64, 0], [70, 257, 0.75], [5, 98, 1]];
  for (let i = 0; i < 3; i++) cases.push([randint(u, 1, 90), randint(u, 1, 300), u()]);
  for (const [rows, cols, s] of cases) {
    it(`round trip and reference equal linear on the masked matrix (${rows}×${cols}, sparsity ${s.toFixed(2)})`, () => {
      const W0 = randn(rows * cols, rows * 7 + cols);
      const W = applyMask(W0, magnitudeMask(W0, s));
      if (rows > 2) W.fill(0, cols, 2 * cols); // an all-zero row
      const p = packSell(W, rows, cols);
      const nnz = W.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
      expect(p.nnz).toBe(nnz);
      expect(p.slots * 4).toBeGreaterThanOrEqual(nnz);
      expect([...unpackSell(p)]).toEqual([...W]);
      const n = 2;
      const x = randn(n * cols, 8);
      const b = randn(rows, 9);
      const res = randn(n * rows, 10);
      const want = linear(W, x, rows, cols, n, b, res);
      const got = sellRef(p, x, n, b, res);
      if (s === 1) expect([...got]).toEqual([...want]); // only bias + residual
      else expect(relErr(got, want)).toBeLessThan(1e-12);
    });
  }
});

describe('chooseSparseKernel', () => {
  const traits = (isFallback: boolean, tuned: Record<string, string> = {}): AdapterTraits => ({
    isFallback, hasSubgroups: true, hasF16: false, maxWorkgroupSize: 256, tuned,
  });
  it('dense below the crossover, SELL at and above it; a tuned crossover wins', () => {
    for (const fb of [true, false]) {
      const x = fb ? SPARSE_CROSSOVER.fallback : SPARSE_CROSSOVER.gpu;
      expect(chooseSparseKernel(0, traits(fb))).toBe('dense');
      expect(chooseSparseKernel(x - 0.01, traits(fb))).toBe('dense');
      expect(chooseSparseKernel(x, traits(fb))).toBe('sell');
      expect(chooseSparseKernel(0.95, traits(fb))).toBe('sell');
    }
    expect(chooseSparseKernel(0.3, traits(true, { sparse_crossover: '0.25' }))).toBe('sell');
    expect(chooseSparseKernel(0.3, traits(true, { sparse_crossover: 'bogus' }))).toBe(chooseSparseKernel(0.3, traits(true)));
  });
});
