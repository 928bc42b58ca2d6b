// posembed (x += table[pos0 + t]) vs src/ref/posembed.ts on odd shapes, both variants. An f32 add of two f32
// values is correctly rounded, so the tolerance is 1e-7 norm-relative (the float64 reference rounds once less).
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { posEmbed } from '../../src/kernels/posembed';
import { addPositions } from '../../src/ref/posembed';
import { randn } from '../../src/ref/random';
import { expectClose, getGpu } from './harness';

describe('posembed vs src/ref/posembed.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  async function check(n: number, dim: number, rows: number, pos0: number, seed: number): Promise<void> {
    const table = randn(rows * dim, seed);
    const x = randn(n * dim, seed + 1);
    const tTable = gpu.pool.fromArray('table', [rows, dim], table, 'weights');
    const tx = gpu.pool.fromArray('x', [n, dim], x, 'activations');
    const rec = new Recorder(gpu);
    rec.run(posEmbed, { n, dim }, { table: tTable, x: tx }, { n, dim, rows, pos0 });
    rec.submit();
    expectClose(await gpu.pool.readF32(tx), addPositions(x, table, n, dim, pos0), 1e-7, `posembed n=${n} dim=${dim} pos0=${pos0}`);
    gpu.pool.release(tTable);
    gpu.pool.release(tx);
  }

  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 0], [7, 5, 16, 0], [1, 72, 128, 127], [9, 36, 20, 3], [13, 67, 40, 11], [5, 64, 8, 6], // last: rows 6, 7 in range, 8.. add 0
  ];
  for (const [n, dim, rows, pos0] of shapes) {
    it(`${dim % 4 === 0 ? 'main_vec4' : 'main'} n=${n} dim=${dim} rows=${rows} pos0=${pos0}`, () => check(n, dim, rows, pos0, n * 100 + dim));
  }
});
