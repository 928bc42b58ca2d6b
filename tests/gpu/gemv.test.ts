import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { GEMV_VARIANTS, gemv } from '../../src/kernels/gemv';
import { Recorder } from '../../src/gpu/recorder';
import { linear } from '../../src/ref/linear';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu, poison } from './harness';

describe('gemv (decode matrix-vector) vs src/ref/linear.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());
  const u = mulberry32(7);
  const shapes: [number, number][] = [[1, 1], [3, 5], [37, 12], [130, 67], [257, 96], [5, 300]];
  for (let i = 0; i < 4; i++) shapes.push([randint(u, 1, 300), 4 * randint(u, 1, 80)]);

  for (const [rows, cols] of shapes) {
    for (const force of GEMV_VARIANTS) {
      if (force !== 'rows4' && cols % 4 !== 0) continue;
      for (const [bias, accumulate] of [[false, false], [true, true]] as const) {
        it(`${force} rows=${rows} cols=${cols} bias=${bias} acc=${accumulate}`, async () => {
          const W = randn(rows * cols, rows * 31 + cols);
          const x = randn(cols, cols + 1);
          const b = randn(rows, rows + 2);
          const y0 = randn(rows, rows + 3);
          const tW = gpu.pool.fromArray('W', [rows, cols], W, 'weights');
          const tx = gpu.pool.fromArray('x', [cols], x, 'activations');
          const tb = gpu.pool.fromArray('b', [rows], b, 'weights');
          const ty = gpu.pool.alloc('y', [rows], 'f32', 'activations');
          if (accumulate) gpu.pool.write(ty, y0);
          else poison(gpu, ty);
          const rec = new Recorder(gpu);
          const shape = { rows, cols, bias, accumulate, force };
          rec.run(gemv, shape, { W: tW, x: tx, b: tb, y: ty }, { rows, cols, yOff: 0 });
          rec.submit();
          const got = await gpu.pool.readF32(ty);
          const want = linear(W, x, rows, cols, 1, bias ? b : null, accumulate ? y0 : null);
          expectClose(got, want, 1e-5, `gemv ${force}`);
          for (const t of [tW, tx, tb, ty]) gpu.pool.release(t);
        });
      }
    }
  }

  // A row chunk of a split weight: rows land at y[yOff..yOff + rows); the rest of y is left untouched.
  for (const [rows, cols, yOff, total] of [[5, 7, 3, 11], [37, 12, 16, 60], [130, 67, 0, 131]] as const) {
    for (const force of GEMV_VARIANTS) {
      if (force !== 'rows4' && cols % 4 !== 0) continue;
      it(`${force} chunk rows=${rows} at yOff=${yOff} of ${total} (bias, accumulate)`, async () => {
        const W = randn(rows * cols, rows + 5);
        const x = randn(cols, cols + 6);
        const b = randn(rows, rows + 7);
        const y0 = randn(total, total + 8);
        const tW = gpu.pool.fromArray('W', [rows, cols], W, 'weights');
        const tx = gpu.pool.fromArray('x', [cols], x, 'activations');
        const tb = gpu.pool.fromArray('b', [rows], b, 'weights');
        const ty = gpu.pool.fromArray('y', [total], y0, 'activations');
        const rec = new Recorder(gpu);
        rec.run(gemv, { rows, cols, bias: true, accumulate: true, force }, { W: tW, x: tx, b: tb, y: ty }, { rows, cols, yOff });
        rec.submit();
        const got = await gpu.pool.readF32(ty);
        const want = Float64Array.from(y0);
        want.set(linear(W, x, rows, cols, 1, b, y0.subarray(yOff, yOff + rows)), yOff);
        expectClose(got, want, 1e-5, `gemv ${force} yOff`);
        for (const t of [tW, tx, tb, ty]) gpu.pool.release(t);
      });
    }
  }

  it('rejects a missing binding by name', () => {
    const rec = new Recorder(gpu);
    const t = gpu.pool.alloc('x', [4], 'f32', 'activations');
    expect(() => rec.run(gemv, { rows: 1, cols: 4 }, { W: t, x: t, y: t }, { rows: 1, cols: 4, yOff: 0 })).toThrow(/'b'/);
    gpu.pool.release(t);
  });
});
