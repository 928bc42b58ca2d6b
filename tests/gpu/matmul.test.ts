import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { MATMUL_VARIANTS, matmul, matmulVariantName } from '../../src/kernels/matmul';
import { linear } from '../../src/ref/linear';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu, poison } from './harness';

describe('matmul (prefill x·Wᵀ) vs src/ref/linear.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());
  const u = mulberry32(11);
  // (n, rows, cols): odd sizes, ragged tiles on every side, aligned ones, and more than one tile each way.
  const shapes: [number, number, number][] = [
    [1, 1, 1], [3, 5, 7], [4, 16, 16], [5, 37, 12], [17, 130, 67], [64, 64, 64], [9, 257, 96], [33, 20, 300],
    [70, 65, 33], [2, 3, 260],
  ];
  for (let i = 0; i < 3; i++) shapes.push([randint(u, 1, 80), randint(u, 1, 150), randint(u, 1, 120)]);
  for (let i = 0; i < 2; i++) shapes.push([randint(u, 1, 80), randint(u, 1, 150), 4 * randint(u, 1, 40)]);

  for (const [n, rows, cols] of shapes) {
    for (const force of MATMUL_VARIANTS) {
      if (force === 'reg4x4_vec4' && cols % 4 !== 0) continue;
      for (const [bias, accumulate] of [[false, false], [true, true]] as const) {
        it(`${force} n=${n} rows=${rows} cols=${cols} bias=${bias} acc=${accumulate}`, async () => {
          const seed = n * 7919 + rows * 31 + cols;
          const W = randn(rows * cols, seed);
          const x = randn(n * cols, seed + 1);
          const b = randn(rows, seed + 2);
          const y0 = randn(n * rows, seed + 3);
          const tW = gpu.pool.fromArray('W', [rows, cols], W, 'weights');
          const tx = gpu.pool.fromArray('x', [n, cols], x, 'activations');
          const tb = gpu.pool.fromArray('b', [rows], b, 'weights');
          const ty = gpu.pool.alloc('y', [n, rows], 'f32', 'activations');
          if (accumulate) gpu.pool.write(ty, y0);
          else poison(gpu, ty);
          const rec = new Recorder(gpu);
          rec.run(matmul, { n, rows, cols, bias, accumulate, force }, { W: tW, x: tx, b: tb, y: ty }, { n, rows, cols, yOff: 0, ldy: rows });
          rec.submit();
          const got = await gpu.pool.readF32(ty);
          const want = linear(W, x, rows, cols, n, bias ? b : null, accumulate ? y0 : null);
          expectClose(got, want, 1e-5, `matmul ${force}`);
          for (const t of [tW, tx, tb, ty]) gpu.pool.release(t);
        });
      }
    }
  }

  // A row chunk of a split weight: y[t, r] at y[t·ldy + yOff + r]; the other columns are left untouched.
  for (const [n, rows, cols, yOff, ldy] of [[3, 5, 7, 2, 9], [17, 37, 12, 16, 70], [5, 65, 33, 64, 129], [2, 16, 16, 0, 40]] as const) {
    for (const force of MATMUL_VARIANTS) {
      if (force === 'reg4x4_vec4' && cols % 4 !== 0) continue;
      it(`${force} chunk n=${n} rows=${rows} at yOff=${yOff} ldy=${ldy} (bias, accumulate)`, async () => {
        const seed = n * 13 + rows * 7 + yOff;
        const W = randn(rows * cols, seed);
        const x = randn(n * cols, seed + 1);
        const b = randn(rows, seed + 2);
        const y0 = randn(n * ldy, seed + 3);
        const tW = gpu.pool.fromArray('W', [rows, cols], W, 'weights');
        const tx = gpu.pool.fromArray('x', [n, cols], x, 'activations');
        const tb = gpu.pool.fromArray('b', [rows], b, 'weights');
        const ty = gpu.pool.fromArray('y', [n, ldy], y0, 'activations');
        const rec = new Recorder(gpu);
        rec.run(matmul, { n, rows, cols, bias: true, accumulate: true, force }, { W: tW, x: tx, b: tb, y: ty }, { n, rows, cols, yOff, ldy });
        rec.submit();
        const got = await gpu.pool.readF32(ty);
        const res = new Float64Array(n * rows);
        for (let t = 0; t < n; t++) for (let r = 0; r < rows; r++) res[t * rows + r] = y0[t * ldy + yOff + r]!;
        const part = linear(W, x, rows, cols, n, b, res);
        const want = Float64Array.from(y0);
        for (let t = 0; t < n; t++) want.set(part.subarray(t * rows, (t + 1) * rows), t * ldy + yOff);
        expectClose(got, want, 1e-5, `matmul ${force} yOff/ldy`);
        for (const t of [tW, tx, tb, ty]) gpu.pool.release(t);
      });
    }
  }

  it('chooses by traits and autotune, never vec4 for ragged cols', () => {
    const t = { isFallback: true, hasSubgroups: false, hasF16: false, maxWorkgroupSize: 256, tuned: {} };
    expect(matmulVariantName(64, 256, t)).toBe('reg4x4_vec4');
    expect(matmulVariantName(64, 255, t)).toBe('reg4x4');
    expect(matmulVariantName(64, 256, { ...t, isFallback: false })).toBe('tile64');
    expect(matmulVariantName(8, 256, { ...t, isFallback: false })).toBe('tile16');
    expect(matmulVariantName(64, 256, { ...t, tuned: { matmul: 'tile16' } })).toBe('tile16');
    expect(matmulVariantName(64, 6, { ...t, isFallback: false, tuned: { matmul: 'reg4x4_vec4' } })).toBe('reg4x4');
    expect(() => matmul.variant({ n: 1, rows: 1, cols: 3, force: 'reg4x4_vec4' }, t)).toThrow(/cols % 4/);
  });
});
