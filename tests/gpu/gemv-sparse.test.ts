// Unstructured sparse (SELL-16-σ) GEMV / matmul (shaders/gemv_sparse.wgsl) vs dense linear() (src/ref/linear.ts)
// on the magnitude-masked matrix, at sparsities 0..100% with all-zero rows. The packed layout's own float64
// reference (sellRef) is checked against linear() in tests/unit/prune-formats.test.ts.
// Tolerance: norm-relative 1e-5 (f32 sums of at most cols products, like the dense kernels).
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { gemvSparse, packSell, uniformsSparse } from '../../src/kernels/gemv-sparse';
import { linear } from '../../src/ref/linear';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { applyMask, magnitudeMask } from '../../src/techniques/prune';
import { expectClose, getGpu, runLinearKernel } from './harness';

describe('gemv_sparse (SELL-16-σ) vs dense linear on the masked matrix', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  const u = mulberry32(17);
  const cases: [number, number, number][] = [
    [1, 1, 0], [3, 5, 0.5], [37, 12, 0], [130, 67, 0.7], [5, 300, 0.95], [64, 64, 0.5], [17, 33, 1],
    [768, 256, 0.8], [256, 768, 0.6],
  ];
  for (let i = 0; i < 4; i++) cases.push([randint(u, 1, 300), randint(u, 1, 300), [0.1, 0.5, 0.9, 0.99][i]!]);

  for (const [rows, cols, s] of cases) {
    for (const force of ['gemv', 'matmul'] as const) {
      for (const [bias, accumulate] of [[false, false], [true, true]] as const) {
        if ((rows > 300 || cols > 300) && bias) continue;
        it(`${force} rows=${rows} cols=${cols} sparsity=${s} bias=${bias} acc=${accumulate}`, async () => {
          const n = force === 'gemv' ? 1 : randint(u, 2, 9);
          const W0 = randn(rows * cols, rows * 29 + cols);
          const W = applyMask(W0, magnitudeMask(W0, s));
          if (rows > 3) W.fill(0, 3 * cols, 4 * cols); // an all-zero row
          const p = packSell(W, rows, cols);
          const x = randn(n * cols, cols + 1);
          const b = randn(rows, rows + 2);
          const y0 = randn(n * rows, rows + 3);
          const weights = {
            vals: gpu.pool.fromArray('vals', [p.vals.length], p.vals, 'weights'),
            cix: gpu.pool.fromArray('cix', [p.cix.length], p.cix, 'weights'),
            chunk: gpu.pool.fromArray('chunk', [p.chunk.length], p.chunk, 'weights'),
            perm: gpu.pool.fromArray('perm', [p.perm.length], p.perm, 'weights'),
          };
          const io = { n, rows, cols, x, b, y0, accumulate };
          const got = await runLinearKernel(gpu, gemvSparse, { n, rows, cols, bias, accumulate, force }, weights, io, uniformsSparse(n, rows, cols));
          const want = linear(W, x, rows, cols, n, bias ? b : null, accumulate ? y0 : null);
          if (s === 1 && !bias) expectClose(got, new Float64Array(n * rows), 0, 'all pruned'); // exact zeros
          else expectClose(got, want, 1e-5, `gemv_sparse ${force}`);
        });
      }
    }
  }
});
