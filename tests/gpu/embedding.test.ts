// embedding (gather) vs src/ref/embedding.ts. A gather copies f32 values, so the tolerance is 0 (exact).
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { embedding } from '../../src/kernels/embedding';
import { embed, embedRows } from '../../src/ref/embedding';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu, poison } from './harness';

describe('embedding vs src/ref/embedding.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  async function check(n: number, dim: number, vocab: number, seed: number): Promise<void> {
    const u = mulberry32(seed);
    const table = randn(vocab * dim, seed + 1);
    // Mostly valid ids (repeats allowed), plus out-of-range ones that must give zero rows.
    const ids = Uint32Array.from({ length: n }, (_, t) =>
      t % 5 === 3 ? [vocab, vocab + 7, 0xffffffff][t % 3]! : randint(u, 0, vocab - 1));
    const tTable = gpu.pool.fromArray('table', [vocab, dim], table, 'weights');
    const tIds = gpu.pool.fromArray('ids', [n], ids, 'activations');
    const tOut = gpu.pool.alloc('out', [n, dim], 'f32', 'activations');
    poison(gpu, tOut);
    const rec = new Recorder(gpu);
    rec.run(embedding, { n, dim, vocab }, { table: tTable, ids: tIds, out: tOut }, { n, dim, vocab, row0: 0 });
    rec.submit();
    const got = await gpu.pool.readF32(tOut);
    expectClose(got, embed(table, ids, dim), 0, `embedding n=${n} dim=${dim}`);
    for (const t of [tTable, tIds, tOut]) gpu.pool.release(t);
  }

  const u = mulberry32(11);
  const shapes: [number, number, number][] = [[1, 1, 1], [4, 5, 7], [9, 3, 2], [13, 67, 33], [6, 300, 11], [5, 64, 50], [8, 256, 17], [1, 4, 1]];
  for (let i = 0; i < 4; i++) shapes.push([randint(u, 1, 40), randint(u, 1, 200), randint(u, 1, 100)]);
  for (const [n, dim, vocab] of shapes) {
    const entry = dim % 4 === 0 ? 'main_vec4' : 'main';
    it(`${entry} n=${n} dim=${dim} vocab=${vocab}`, () => check(n, dim, vocab, n * 1000 + dim));
  }

  // One row chunk of a split table: ids in [row0, row0 + rows) get the chunk's rows; others zeros (first chunk)
  // or left untouched (later chunks, keep).
  for (const [n, dim, rows, row0, keep] of [[9, 5, 4, 3, false], [13, 8, 16, 16, true], [7, 3, 5, 10, true], [20, 12, 33, 0, false]] as const) {
    it(`chunk n=${n} dim=${dim} rows=${rows} row0=${row0} keep=${keep}`, async () => {
      const u = mulberry32(n + dim + row0);
      const chunk = randn(rows * dim, n * 3 + rows);
      const ids = Uint32Array.from({ length: n }, (_, t) => (t === 0 ? row0 + rows : t === 1 && row0 > 0 ? row0 - 1 : randint(u, 0, row0 + rows + 4)));
      const before = randn(n * dim, 99);
      const tTable = gpu.pool.fromArray('table', [rows, dim], chunk, 'weights');
      const tIds = gpu.pool.fromArray('ids', [n], ids, 'activations');
      const tOut = gpu.pool.fromArray('out', [n, dim], before, 'activations');
      const rec = new Recorder(gpu);
      rec.run(embedding, { n, dim, vocab: rows, keep }, { table: tTable, ids: tIds, out: tOut }, { n, dim, vocab: rows, row0 });
      rec.submit();
      const got = await gpu.pool.readF32(tOut);
      expectClose(got, embedRows(chunk, ids, dim, row0, !keep, Float64Array.from(before)), 0, 'embedding chunk');
      for (const t of [tTable, tIds, tOut]) gpu.pool.release(t);
    });
  }

  it('folds more than 65535 workgroups into (x, y): n=1025 dim=4099 (scalar)', async () => {
    const [x, y] = embedding.dispatch({ n: 1025, dim: 4099, vocab: 3 }, { entry: 'main' });
    if (!(y! > 1 && x <= 65535)) throw new Error(`expected a folded dispatch, got (${x}, ${y})`);
    await check(1025, 4099, 3, 5);
  });
});
