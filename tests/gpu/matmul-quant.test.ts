// Dequantizing matmul (shaders/matmul_quant.wgsl) vs its spec: dequantize() (src/techniques/quantize.ts) then
// the float64 linear() (src/ref/linear.ts). Tolerance: norm-relative 1e-5 (f32 accumulation over ≤ 300 columns).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { MATMUL_QUANT_VARIANTS, matmulQuant, matmulQuantVariantName } from '../../src/kernels/matmul-quant';
import { linear } from '../../src/ref/linear';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { dequantize, quantize, type QuantFormat } from '../../src/techniques/quantize';
import { expectClose, getGpu, poison } from './harness';

const FORMATS: readonly QuantFormat[] = ['q8', 'q4', 'q4z'];

describe('matmul_quant (prefill, packed weights) vs dequantize + src/ref/linear.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());
  const u = mulberry32(23);
  // (n, rows, cols, groupSize): ragged tiles on every side, cols not multiples of the group / 8 / 4, aligned ones
  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 32], [3, 5, 7, 8], [2, 37, 45, 32], [17, 130, 67, 64], [9, 257, 96, 32], [5, 6, 300, 128],
    [4, 64, 64, 32], [33, 20, 131, 128], [18, 17, 256, 64],
  ];
  for (let i = 0; i < 3; i++) shapes.push([randint(u, 2, 40), randint(u, 1, 150), randint(u, 1, 200), [32, 64, 128][i]!]);

  for (const [n, rows, cols, gs] of shapes) {
    for (const fmt of FORMATS) {
      for (const force of MATMUL_QUANT_VARIANTS) {
        for (const [bias, accumulate] of [[false, false], [true, true]] as const) {
          it(`${fmt} g${gs} ${force} n=${n} rows=${rows} cols=${cols} bias=${bias} acc=${accumulate}`, async () => {
            const seed = n * 7919 + rows * 31 + cols + gs;
            const W = randn(rows * cols, seed, 0.5);
            const p = quantize(W, rows, cols, fmt, gs);
            const x = randn(n * cols, seed + 1);
            const b = randn(rows, seed + 2);
            const y0 = randn(n * rows, seed + 3);
            const tW = gpu.pool.fromArray('Wq', [rows, p.wordsPerRow], p.words, 'weights');
            const ts = gpu.pool.fromArray('scales', [rows, p.scales.length / rows], p.scales, 'weights');
            const tz = p.zeros ? gpu.pool.fromArray('zeros', [rows, p.zeros.length / rows], p.zeros, 'weights') : ts;
            const tx = gpu.pool.fromArray('x', [n, cols], x, 'activations');
            const tb = gpu.pool.fromArray('b', [rows], b, 'weights');
            const ty = gpu.pool.alloc('y', [n, rows], 'f32', 'activations');
            if (accumulate) gpu.pool.write(ty, y0);
            else poison(gpu, ty);
            const rec = new Recorder(gpu);
            const shape = { fmt, groupSize: gs, n, rows, cols, bias, accumulate, force };
            rec.run(matmulQuant, shape, { Wq: tW, scales: ts, zeros: tz, x: tx, b: tb, y: ty }, { n, rows, cols });
            rec.submit();
            const got = await gpu.pool.readF32(ty);
            const want = linear(dequantize(p), x, rows, cols, n, bias ? b : null, accumulate ? y0 : null);
            expectClose(got, want, 1e-5, `matmul_quant ${fmt} ${force}`);
            for (const t of new Set([tW, ts, tz, tx, tb, ty])) gpu.pool.release(t);
          });
        }
      }
    }
  }

  it('chooses reg4x4 on fallback adapters, tile16 on GPUs, the tuned choice when set', () => {
    const t = { isFallback: true, hasSubgroups: false, hasF16: false, maxWorkgroupSize: 256, tuned: {} };
    expect(matmulQuantVariantName(t)).toBe('reg4x4');
    expect(matmulQuantVariantName({ ...t, isFallback: false })).toBe('tile16');
    expect(matmulQuantVariantName({ ...t, tuned: { matmul_q: 'tile16' } })).toBe('tile16');
    expect(() => matmulQuant.variant({ fmt: 'q4', groupSize: 4, n: 2, rows: 1, cols: 8 }, t)).toThrow(/multiple of 8/);
  });
});
