// softmax (row-wise, in place), every variant, vs src/ref/softmax.ts. Tolerance: norm-relative 1e-5 (f32 exp
// and a blocked f32 sum of up to 151,936 terms). In place, so nothing is poisoned: a skipped element keeps its
// logit, which is far from its probability. Rows carry offsets up to +800 to exercise the max subtraction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { SOFTMAX_VARIANTS, softmax, softmaxVariantName, type SoftmaxVariantName } from '../../src/kernels/softmax';
import * as ref from '../../src/ref/softmax';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu } from './harness';

describe('softmax vs src/ref/softmax.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  async function check(force: SoftmaxVariantName, rows: number, cols: number, scale: number, wg?: number): Promise<void> {
    const x = randn(rows * cols, rows * 7 + cols, scale);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) x[r * cols + c]! += [0, 800, -50][r % 3]!;
    const tx = gpu.pool.fromArray('x', [rows, cols], x, 'activations');
    const rec = new Recorder(gpu);
    const shape = { rows, cols, force };
    const v = softmax.variant(shape, gpu.traits);
    if (wg) v.constants = { ...v.constants, WG: wg };
    rec.run(softmax, shape, { x: tx }, { rows, cols }, v);
    rec.submit();
    const got = await gpu.pool.readF32(tx);
    expectClose(got, ref.softmax(x, rows, cols), 1e-5, `softmax ${v.entry} rows=${rows} cols=${cols}`);
    for (let r = 0; r < Math.min(rows, 4); r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += got[r * cols + c]!;
      expect(Math.abs(s - 1), `row ${r} sums to ${s}`).toBeLessThan(1e-5);
    }
    gpu.pool.release(tx);
  }

  const u = mulberry32(13);
  const shapes: [number, number][] = [[1, 1], [1, 7], [3, 5], [2, 64], [5, 67], [3, 1000], [2, 4099], [70, 12], [66, 3]];
  for (let i = 0; i < 3; i++) shapes.push([randint(u, 1, 70), randint(u, 1, 3000)]);

  for (const force of SOFTMAX_VARIANTS) {
    for (const [rows, cols] of shapes) {
      const entry = force === 'wg' ? 'wg' : cols % 4 === 0 ? 'row_vec4' : 'row';
      it(`${entry} rows=${rows} cols=${cols}`, () => check(force, rows, cols, 3));
    }
    // A Qwen2-sized vocabulary row (vec4 for row) and an odd one, peaked (scale 8) and flat (scale 1).
    it(`${force} on vocabulary-sized rows: 2 × 151936 and 1 × 151935`, async () => {
      await check(force, 2, 151936, 8);
      await check(force, 1, 151935, 1);
    });
  }

  // Workgroups of 4 threads: 65537 workgroups of 256 threads with barriers take ~45 s on SwiftShader.
  it('wg folds more than 65535 rows into (x, y): rows=65537 cols=5, WG=4', async () => {
    const [x, y] = softmax.dispatch({ rows: 65537, cols: 5 }, { entry: 'wg' });
    expect(y! > 1 && x <= 65535).toBe(true);
    await check('wg', 65537, 5, 2, 4);
  });

  it('picks row on a fallback adapter, wg on a real GPU, and honours the autotuned choice', () => {
    const traits = { isFallback: true, hasSubgroups: false, hasF16: false, maxWorkgroupSize: 256, tuned: {} };
    expect(softmaxVariantName(traits)).toBe('row');
    expect(softmaxVariantName({ ...traits, isFallback: false })).toBe('wg');
    expect(softmaxVariantName({ ...traits, tuned: { softmax: 'wg' } })).toBe('wg');
  });
});
