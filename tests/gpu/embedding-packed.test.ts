// embedding_f16 / embedding_q8 (shaders/embedding_packed.wgsl) vs src/ref/embedding.ts embedF16 / embedQ8, on odd
// shapes, whole tables and row chunks of a split table (row0, keep). Dequantizing is exact in f32 (f16 → f32, one
// q·s product), so the tolerance is 0.
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import type { GpuTensor } from '../../src/gpu/tensor';
import { embeddingF16, embeddingQ8 } from '../../src/kernels/embedding';
import { embedF16, embedQ8 } from '../../src/ref/embedding';
import { packF16 } from '../../src/ref/f16';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { quantize } from '../../src/techniques/quantize';
import { expectClose, getGpu, poison } from './harness';

describe('packed embedding tables vs src/ref/embedding.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  /** ids: mostly inside [row0, row0 + rows), plus ids just outside and far outside (zeros, or untouched with keep). */
  function makeIds(n: number, rows: number, row0: number, seed: number): Uint32Array {
    const u = mulberry32(seed);
    return Uint32Array.from({ length: n }, (_, t) =>
      t % 5 === 3 ? [row0 + rows, row0 > 0 ? row0 - 1 : row0 + rows + 7, 0xffffffff][t % 3]! : randint(u, row0, row0 + rows - 1));
  }

  async function check(fmt: 'f16' | 'q8', n: number, dim: number, rows: number, row0: number, keep: boolean, g = 32): Promise<void> {
    const seed = n * 977 + dim * 31 + rows + row0;
    const W = randn(rows * dim, seed);
    W[0] = 0; // an exact zero, and a group of zeros below when wide enough
    if (dim >= 8) W.fill(0, dim, dim + Math.min(dim, 8));
    const ids = makeIds(n, rows, row0, seed + 1);
    const before = keep ? randn(n * dim, seed + 2) : null;
    const tIds = gpu.pool.fromArray('ids', [n], ids, 'activations');
    const tOut = before ? gpu.pool.fromArray('out', [n, dim], before, 'activations') : gpu.pool.alloc('out', [n, dim], 'f32', 'activations');
    if (!before) poison(gpu, tOut);
    const start = before ? Float64Array.from(before) : new Float64Array(n * dim);
    const rec = new Recorder(gpu);
    const u = { n, dim, vocab: rows, row0 };
    let expected: Float64Array;
    const owned: GpuTensor[] = [tIds, tOut];
    if (fmt === 'f16') {
      const p = packF16(W, rows, dim);
      const table = gpu.pool.fromArray('table', [rows, p.wordsPerRow], p.words, 'weights');
      owned.push(table);
      rec.run(embeddingF16, { n, dim, vocab: rows, keep }, { table, ids: tIds, out: tOut }, u);
      expected = embedF16(p, ids, row0, !keep, start);
    } else {
      const p = quantize(W, rows, dim, 'q8', g);
      const table = gpu.pool.fromArray('table', [rows, p.wordsPerRow], p.words, 'weights');
      const scales = gpu.pool.fromArray('scales', [rows, p.scales.length / rows], p.scales, 'weights');
      owned.push(table, scales);
      rec.run(embeddingQ8, { n, dim, vocab: rows, keep, groupSize: g }, { table, ids: tIds, out: tOut, scales }, u);
      expected = embedQ8(p, ids, row0, !keep, start);
    }
    rec.submit();
    const got = await gpu.pool.readF32(tOut);
    expectClose(got, expected, 0, `${fmt} n=${n} dim=${dim} rows=${rows} row0=${row0} keep=${keep}`);
    for (const t of owned) gpu.pool.release(t);
  }

  const u = mulberry32(23);
  // [n, dim, rows]: odd and vec4 widths, one-row tables, widths past one group
  const shapes: [number, number, number][] = [[1, 1, 1], [4, 5, 7], [9, 3, 2], [13, 67, 33], [6, 300, 11], [5, 64, 50], [8, 256, 17], [3, 36, 9]];
  for (let i = 0; i < 3; i++) shapes.push([randint(u, 1, 40), randint(u, 1, 200), randint(u, 1, 100)]);
  for (const fmt of ['f16', 'q8'] as const) {
    for (const [n, dim, rows] of shapes) {
      const entry = `${fmt}_${dim % 4 === 0 ? 'vec4' : 'main'}`;
      it(`${entry} n=${n} dim=${dim} vocab=${rows}`, () => check(fmt, n, dim, rows, 0, false));
    }
    // row chunks of a split table: the first fills zeros, later ones keep other tokens' rows
    for (const [n, dim, rows, row0, keep] of [[9, 5, 4, 3, false], [13, 8, 16, 16, true], [7, 3, 5, 10, true], [20, 12, 33, 0, false], [11, 70, 6, 48, true]] as const) {
      it(`${fmt} chunk n=${n} dim=${dim} rows=${rows} row0=${row0} keep=${keep}`, () => check(fmt, n, dim, rows, row0, keep));
    }
  }
  for (const [dim, g] of [[67, 64], [200, 128], [36, 8]] as const) {
    it(`q8 group ${g} dim=${dim}`, () => check('q8', 7, dim, 9, 0, false, g));
  }
});
