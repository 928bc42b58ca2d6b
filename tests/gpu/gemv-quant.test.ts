// Dequantizing GEMV (shaders/gemv_quant.wgsl) vs its spec: dequantize() (src/techniques/quantize.ts) then the
// float64 linear() (src/ref/linear.ts). Tolerance: norm-relative 1e-5 (f32 accumulation; the dequantized weights
// are exactly the f32 values the kernel multiplies with). rows4 sums in-place codes and subtracts z·Σx per group,
// a cancellation: x has mean 0.3 here (post-SwiGLU activations are not centred) to exercise it; measured ≤ 2e-6
// up to 4096 columns with mean 0.7. The int8-activation entry (a8) is
// compared with its own spec linearA8 (src/ref/quant.ts) at 1e-5 (integer sums are exact; two f32 roundings per
// group), and with the f32-activation result at 2e-2: rounding x to 8 bits per group (step ≤ amax/64) is a
// real approximation, ~0.3% typical on random data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { gemvQuant, gemvQuantVariantName, hasPackedDot } from '../../src/kernels/gemv-quant';
import { linear } from '../../src/ref/linear';
import { linearA8 } from '../../src/ref/quant';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { dequantize, quantize, type QuantFormat } from '../../src/techniques/quantize';
import { expectClose, getGpu, poison } from './harness';

const FORMATS: readonly QuantFormat[] = ['q8', 'q4', 'q4z'];

describe('gemv_quant (decode, packed weights) vs dequantize + src/ref/linear.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());
  const u = mulberry32(17);
  // (rows, cols, groupSize): rows not multiples of 4, cols not multiples of the group, of 8 or of 4; aligned ones
  const shapes: [number, number, number][] = [
    [1, 1, 32], [3, 5, 8], [37, 45, 32], [130, 67, 64], [257, 96, 32], [5, 300, 128], [6, 64, 32], [64, 256, 64],
    [65, 131, 128], [9, 768, 128],
  ];
  for (let i = 0; i < 3; i++) shapes.push([randint(u, 1, 300), randint(u, 1, 300), [32, 64, 128][i]!]);

  for (const [rows, cols, gs] of shapes) {
    for (const fmt of FORMATS) {
      for (const force of ['rows4', 'wg', 'a8'] as const) {
        // a8 pipelines take seconds each to compile on SwiftShader: test it at two group sizes (4 pipelines)
        if (force === 'a8' && (fmt !== 'q8' || (gs !== 32 && gs !== 128))) continue;
        for (const [bias, accumulate] of [[false, false], [true, true]] as const) {
          it(`${fmt} g${gs} ${force} rows=${rows} cols=${cols} bias=${bias} acc=${accumulate}`, async () => {
            const seed = rows * 31 + cols + gs;
            const W = randn(rows * cols, seed, 0.5);
            const p = quantize(W, rows, cols, fmt, gs);
            const x = randn(cols, seed + 1).map((v) => v + 0.3);
            const b = randn(rows, seed + 2);
            const y0 = randn(rows, seed + 3);
            const tW = gpu.pool.fromArray('Wq', [rows, p.wordsPerRow], p.words, 'weights');
            const ts = gpu.pool.fromArray('scales', [rows, p.scales.length / rows], p.scales, 'weights');
            const tz = p.zeros ? gpu.pool.fromArray('zeros', [rows, p.zeros.length / rows], p.zeros, 'weights') : ts;
            const tx = gpu.pool.fromArray('x', [cols], x, 'activations');
            const tb = gpu.pool.fromArray('b', [rows], b, 'weights');
            const ty = gpu.pool.alloc('y', [rows], 'f32', 'activations');
            if (accumulate) gpu.pool.write(ty, y0);
            else poison(gpu, ty);
            const rec = new Recorder(gpu);
            const shape = { fmt, groupSize: gs, rows, cols, bias, accumulate, force };
            rec.run(gemvQuant, shape, { Wq: tW, scales: ts, zeros: tz, x: tx, b: tb, y: ty }, { rows, cols });
            rec.submit();
            const got = await gpu.pool.readF32(ty);
            const want = linear(dequantize(p), x, rows, cols, 1, bias ? b : null, accumulate ? y0 : null);
            if (force === 'a8') {
              expectClose(got, linearA8(p, x, 1, bias ? b : null, accumulate ? y0 : null), 1e-5, 'gemv_quant a8 vs linearA8');
              expectClose(got, want, 2e-2, 'gemv_quant a8 vs f32 activations');
            } else {
              expectClose(got, want, 1e-5, `gemv_quant ${fmt} ${force}`);
            }
            for (const t of new Set([tW, ts, tz, tx, tb, ty])) gpu.pool.release(t);
          });
        }
      }
    }
  }

  it('this browser has packed_4x8_integer_dot_product (else a8 would be skipped silently)', () => {
    expect(hasPackedDot).toBe(true);
  });

  it('chooses rows4 on fallback adapters, wg on GPUs, the tuned choice when set', () => {
    const t = { isFallback: true, hasSubgroups: false, hasF16: false, maxWorkgroupSize: 256, tuned: {} };
    const s = { fmt: 'q4' as const, groupSize: 32, rows: 8, cols: 64 };
    expect(gemvQuantVariantName(s, t)).toBe('rows4');
    expect(gemvQuantVariantName(s, { ...t, isFallback: false })).toBe('wg');
    expect(gemvQuantVariantName(s, { ...t, tuned: { gemv_q: 'wg' } })).toBe('wg');
    expect(gemvQuantVariantName(s, { ...t, tuned: { gemv_q: 'a8' } })).toBe('rows4'); // a8 is q8-only
    expect(gemvQuantVariantName({ ...s, fmt: 'q8' }, { ...t, tuned: { gemv_q: 'a8' } })).toBe('a8');
    expect(gemvQuantVariantName({ ...s, fmt: 'q8', cols: 4100 }, { ...t, tuned: { gemv_q: 'a8' } })).toBe('rows4');
    expect(() => gemvQuant.variant({ ...s, force: 'a8' }, t)).toThrow(/q8 weights/);
    expect(() => gemvQuant.variant({ ...s, groupSize: 12 }, t)).toThrow(/multiple of 8/);
  });
});
