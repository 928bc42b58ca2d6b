// 2:4 sparse GEMV / matmul (shaders/gemv_24.wgsl) vs dense linear() (src/ref/linear.ts) on the masked matrix.
// The packed layout's own float64 reference (linear24Ref) is checked against linear() in tests/unit/prune-formats.
// Tolerance: norm-relative 1e-5 (f32 sums of at most cols/2 products, like the dense kernels).
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { gemv24, type Linear24Entry, pack24, uniforms24 } from '../../src/kernels/gemv-24';
import { linear } from '../../src/ref/linear';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { applyMask, nmMask } from '../../src/techniques/prune';
import { expectClose, getGpu, runLinearKernel } from './harness';

describe('gemv_24 (2:4 sparse) vs dense linear on the masked matrix', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  const u = mulberry32(24);
  // (rows, cols): odd sizes (cols not a multiple of 4 or 32), aligned ones, the lab-target's shapes
  const shapes: [number, number][] = [[1, 1], [3, 5], [37, 12], [130, 67], [5, 300], [64, 64], [768, 256], [256, 768]];
  for (let i = 0; i < 3; i++) shapes.push([randint(u, 1, 300), randint(u, 1, 200)]);
  for (let i = 0; i < 2; i++) shapes.push([randint(u, 1, 300), 4 * randint(u, 1, 60)]);

  for (const [rows, cols] of shapes) {
    const entries: Linear24Entry[] = cols % 4 === 0 ? ['gemv_vec4', 'gemv', 'matmul_vec4', 'matmul'] : ['gemv', 'matmul'];
    for (const force of entries) {
      for (const [bias, accumulate] of [[false, false], [true, true]] as const) {
        if ((rows > 300 || cols > 300) && bias) continue; // large shapes: one combination is enough
        it(`${force} rows=${rows} cols=${cols} bias=${bias} acc=${accumulate}`, async () => {
          const n = force.startsWith('gemv') ? 1 : randint(u, 2, 9);
          const W0 = randn(rows * cols, rows * 31 + cols);
          const W = applyMask(W0, nmMask(W0, rows, cols));
          W.fill(0, 0, cols); // row 0 fully pruned
          if (rows > 2) for (let c = 0; c < cols; c += 3) W[2 * cols + c] = 0; // a row sparser than 2:4
          const p = pack24(W, rows, cols);
          const x = randn(n * cols, cols + 1);
          const b = randn(rows, rows + 2);
          const y0 = randn(n * rows, rows + 3);
          const weights = {
            vals: gpu.pool.fromArray('vals', [p.vals.length], p.vals, 'weights'),
            idx: gpu.pool.fromArray('idx', [p.idx.length], p.idx, 'weights'),
          };
          const io = { n, rows, cols, x, b, y0, accumulate };
          const got = await runLinearKernel(gpu, gemv24, { n, rows, cols, bias, accumulate, force }, weights, io, uniforms24(n, rows, cols));
          expectClose(got, linear(W, x, rows, cols, n, bias ? b : null, accumulate ? y0 : null), 1e-5, `gemv_24 ${force}`);
        });
      }
    }
  }
});
