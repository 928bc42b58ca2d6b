// f16-storage linear kernels (shaders/gemv_f16.wgsl, shaders/matmul_f16.wgsl) vs their spec linearF16
// (src/ref/f16.ts: unpack the packed halves exactly, then the float64 linear). Tolerance: norm-relative 1e-5
// (ŵ is exact in f32; only the f32 accumulation differs). Shapes are odd on every side (odd cols leave a padded
// last word per row); weights mix normal, f16-subnormal-range (stored as 0), near-overflow and negative values.
// The unpack storage variant runs on every adapter; the native (shader-f16) variant runs only where the adapter
// has the feature (SwiftShader here does not: those tests are skipped, with the reason in their names).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import type { KernelSpec, Variant } from '../../src/gpu/kernel';
import { GEMV_F16_VARIANTS, MATMUL_F16_VARIANTS, f16Kernels, gemvF16, type F16Storage } from '../../src/kernels/gemv-f16';
import { F16_MAX, linearF16, packF16, type PackedF16 } from '../../src/ref/f16';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu, runLinearKernel } from './harness';

/** Whether this browser's adapter has shader-f16 (acquireGpu then requests it). */
const HAS_F16: boolean = Boolean((await navigator.gpu?.requestAdapter())?.features.has('shader-f16'));
const NO_F16 = 'skipped: this adapter lacks shader-f16';

/** Normal(0, 0.5) weights with every 5th element in f16's subnormal range, every 11th large, every 13th negative-only large. */
function weights(rows: number, cols: number, seed: number): Float32Array {
  const W = randn(rows * cols, seed, 0.5);
  const u = mulberry32(seed + 99);
  for (let i = 0; i < W.length; i++) {
    if (i % 5 === 4) W[i] = (u() - 0.5) * 2 ** -13; // |w| < 2⁻¹⁴: mostly flushed to 0, some round up to 2⁻¹⁴
    else if (i % 11 === 10) W[i] = (u() < 0.5 ? -1 : 1) * (1 + u()) * 2 ** 6; // 64..128
    else if (i % 13 === 12) W[i] = -F16_MAX * (0.5 + 0.5 * u()); // up to the largest finite f16
  }
  return W;
}

/** Set every odd row's padding half (the high half of its last word) to an f16 NaN: a kernel that used it fails. */
function nanPadding(p: PackedF16): Uint32Array {
  const w = p.words.slice();
  if (p.cols % 2 === 1) {
    for (let r = 0; r < p.rows; r++) {
      const i = r * p.wordsPerRow + p.wordsPerRow - 1;
      w[i] = (w[i]! | (0x7e00 << 16)) >>> 0;
    }
  }
  return w;
}

// `any`: one checker for both families' shapes
type Spec = KernelSpec<any, Variant>;

async function check(gpu: Gpu, spec: Spec, shape: Record<string, unknown>, n: number, rows: number, cols: number, bias: boolean, accumulate: boolean, seed: number): Promise<void> {
  const p = packF16(weights(rows, cols, seed), rows, cols);
  const x = randn(n * cols, seed + 1).map((v) => v * 0.01 + 0.003); // keep Σ|w·x| well inside f32 with the 6e4 weights
  const b = randn(rows, seed + 2);
  const y0 = randn(n * rows, seed + 3);
  const W = gpu.pool.fromArray('W', [rows, p.wordsPerRow], nanPadding(p), 'weights');
  const got = await runLinearKernel(gpu, spec, shape, { W }, { n, rows, cols, x, b, y0, accumulate }, { n, rows, cols }); // gemv ignores n
  expect(got.every(Number.isFinite), 'finite output').toBe(true);
  expectClose(got, linearF16(p, x, n, bias ? b : null, accumulate ? y0 : null), 1e-5, `${spec.name} ${String(shape['force'])}`);
}

function suite(storage: F16Storage, skip: boolean): void {
  const k = f16Kernels(storage);
  const tag = skip ? ` (${NO_F16})` : '';
  describe(`${storage} storage: ${k.gemv.name} / ${k.matmul.name} vs linearF16${tag}`, () => {
    let gpu: Gpu;
    beforeAll(async () => {
      gpu = await getGpu();
    });
    afterAll(() => gpu?.pool.trim());
    const u = mulberry32(storage === 'native' ? 61 : 59);
    // gemv (rows, cols): rows not multiples of 4 or of WG, cols odd / even / not multiples of 4, and aligned ones
    const gemvShapes: [number, number][] = [[1, 1], [3, 5], [37, 45], [130, 67], [257, 96], [5, 300], [64, 256], [9, 769]];
    for (let i = 0; i < 2; i++) gemvShapes.push([randint(u, 1, 300), randint(u, 1, 300)]);
    for (const [rows, cols] of gemvShapes) {
      for (const force of GEMV_F16_VARIANTS) {
        for (const [bias, accumulate] of [[false, false], [true, true]] as const) {
          it.skipIf(skip)(`gemv ${force} rows=${rows} cols=${cols} bias=${bias} acc=${accumulate}${tag}`, async () => {
            await check(gpu, k.gemv, { rows, cols, bias, accumulate, force }, 1, rows, cols, bias, accumulate, rows * 31 + cols);
          });
        }
      }
    }
    // matmul (n, rows, cols): ragged 16×16 tiles and 4×4 blocks on every side
    const mmShapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [2, 37, 45], [17, 130, 67], [9, 257, 96], [5, 6, 300], [33, 20, 131]];
    for (let i = 0; i < 2; i++) mmShapes.push([randint(u, 2, 40), randint(u, 1, 150), randint(u, 1, 200)]);
    for (const [n, rows, cols] of mmShapes) {
      for (const force of MATMUL_F16_VARIANTS) {
        for (const [bias, accumulate] of [[false, false], [true, true]] as const) {
          it.skipIf(skip)(`matmul ${force} n=${n} rows=${rows} cols=${cols} bias=${bias} acc=${accumulate}${tag}`, async () => {
            await check(gpu, k.matmul, { n, rows, cols, bias, accumulate, force }, n, rows, cols, bias, accumulate, n * 7919 + rows * 31 + cols);
          });
        }
      }
    }
  });
}

suite('unpack', false);
suite('native', !HAS_F16);

describe('f16 kernel choice', () => {
  const t = { isFallback: true, hasSubgroups: false, hasF16: false, maxWorkgroupSize: 256, tuned: {} };
  it('rows4 / reg4x4 on fallback adapters, wg / tile16 on GPUs, the tuned choice when set', () => {
    const k = f16Kernels('unpack');
    expect(k.gemv.variant({ rows: 8, cols: 9 }, t).entry).toBe('rows4');
    expect(k.gemv.variant({ rows: 8, cols: 9 }, { ...t, isFallback: false }).entry).toBe('wg');
    expect(k.gemv.variant({ rows: 8, cols: 9 }, { ...t, tuned: { gemv_f16: 'wg' } }).entry).toBe('wg');
    expect(k.matmul.variant({ n: 3, rows: 8, cols: 9 }, t).entry).toBe('reg4x4');
    expect(k.matmul.variant({ n: 3, rows: 8, cols: 9 }, { ...t, isFallback: false }).entry).toBe('tile16');
  });
  it('the native variant refuses a device without shader-f16; the unpack variant is the one for it', () => {
    expect(() => f16Kernels('native').gemv.variant({ rows: 8, cols: 9 }, t)).toThrow(/shader-f16/);
    expect(() => f16Kernels('native').matmul.variant({ n: 2, rows: 8, cols: 9 }, t)).toThrow(/shader-f16/);
    expect(f16Kernels('unpack').gemv).toBe(gemvF16);
    expect(f16Kernels('native').gemv.variant({ rows: 8, cols: 9 }, { ...t, hasF16: true }).entry).toBe('rows4');
  });
  it(`this adapter's shader-f16 (native tests ${HAS_F16 ? 'ran' : 'skipped'})`, async () => {
    const gpu = await getGpu();
    expect(gpu.traits.hasF16).toBe(HAS_F16);
  });
});
