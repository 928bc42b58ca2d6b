// Weights larger than a storage binding: with gpu.bindingLimitOverride lowered to a few KB, the embedding, the
// lm_head (tied and untied, f32 and int8/int4) and the block linears are cut into 3+ uneven row chunks
// (src/model/linear.ts, src/model/embedding-table.ts). Split results equal the CPU reference and the unsplit model
// (logits within 1e-5, 24 greedy ids identical); the memory plan equals what the pool allocates.
import { afterEach, describe, expect, it } from 'vitest';
import { warmUp } from '../../src/engine/autotune';
import { generateLoop } from '../../src/engine/generate';
import { LabEngine } from '../../src/engine/engine';
import { estimateMemory } from '../../src/engine/memory-plan';
import { DEFAULT_SAMPLING, DEFAULT_TECHNIQUES, type Precision } from '../../src/engine/types';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { embedLookup, sharesTable, tiedHead, uploadEmbedding } from '../../src/model/embedding-table';
import { applyLinear, releaseLinear, uploadLinear } from '../../src/model/linear';
import { GpuModel } from '../../src/model/transformer';
import { embed } from '../../src/ref/embedding';
import { linear } from '../../src/ref/linear';
import { randn } from '../../src/ref/random';
import { applyPrecision, defaultPlan, mastersFromHost, packLinear } from '../../src/techniques/quant-formats';
import { roundTrip } from '../../src/techniques/quantize';
import { roundTripF16 } from '../../src/ref/f16';
import { loadGpt2Fixture } from '../fixtures/gpt2';
import { loadFixture, makeLlamaFixture } from '../fixtures/llama';
import { expectClose, getGpu, poison } from './harness';

afterEach(async () => {
  (await getGpu()).bindingLimitOverride = null;
});

async function runLinear(gpu: Gpu, l: Parameters<typeof applyLinear>[1], x: Float32Array, n: number, y0: Float32Array | null): Promise<Float32Array> {
  const tx = gpu.pool.fromArray('x', [n, l.cols], x, 'activations');
  const ty = gpu.pool.alloc('y', [n, l.rows], 'f32', 'activations');
  if (y0) gpu.pool.write(ty, y0);
  else poison(gpu, ty);
  const rec = new Recorder(gpu);
  applyLinear(rec, l, tx, ty, n, y0 !== null);
  rec.submit();
  const got = await gpu.pool.readF32(ty);
  gpu.pool.release(tx);
  gpu.pool.release(ty);
  return got;
}

describe('split linears vs src/ref/linear.ts', () => {
  const shapes: [number, number, number][] = [[101, 37, 1], [101, 37, 5], [67, 64, 1], [67, 64, 9], [130, 12, 3]];
  for (const [rows, cols, n] of shapes) {
    for (const fmt of ['f32', 'int8', 'int4'] as const) {
      it(`${fmt} (${rows}, ${cols}) n=${n}, bias + accumulate, 3+ uneven chunks`, async () => {
        const gpu = await getGpu();
        const W = randn(rows * cols, rows + cols);
        const b = randn(rows, rows + 1);
        const x = randn(n * cols, n + 2);
        const y0 = randn(n * rows, n + 3);
        const perRow = fmt === 'f32' ? cols * 4 : Math.ceil(cols / (fmt === 'int8' ? 4 : 8)) * 4;
        gpu.bindingLimitOverride = Math.floor((rows * perRow) / 3.5); // → 4+ chunks, the last one short
        const l = fmt === 'f32' ? uploadLinear(gpu, 'w', rows, cols, W, b) : packLinear(gpu, 'w', rows, cols, W, b, { precision: fmt, groupSize: 32 });
        try {
          expect(l.chunks?.length ?? 1).toBeGreaterThanOrEqual(3);
          const sizes = l.chunks!.map((c) => c.w.rows);
          expect(new Set(sizes).size, `uneven chunks ${sizes}`).toBeGreaterThan(1);
          for (const t of Object.values(l.tensors)) expect(t.bytes).toBeLessThanOrEqual(gpu.bindingLimitOverride);
          const Wd = fmt === 'f32' ? W : roundTrip(W, rows, cols, fmt === 'int8' ? 'q8' : 'q4', 32);
          expectClose(await runLinear(gpu, l, x, n, null), linear(Wd, x, rows, cols, n, b), 1e-5, 'y = Wx + b');
          expectClose(await runLinear(gpu, l, x, n, y0), linear(Wd, x, rows, cols, n, b, y0), 1e-5, 'y += Wx + b');
        } finally {
          releaseLinear(gpu, l);
        }
      });
    }
  }

  it('a split embedding table gathers every id from its chunk (ids past the table give zeros)', async () => {
    const gpu = await getGpu();
    const [vocab, dim] = [97, 72];
    const table = randn(vocab * dim, 5);
    gpu.bindingLimitOverride = 10_000;
    const t = uploadEmbedding(gpu, 'emb', vocab, dim, table);
    expect(t.chunks.map((c) => c.rows)).toEqual([32, 32, 32, 1]);
    const ids = Uint32Array.from([0, 31, 32, 96, 95, 64, 63, 97, 5000, 40, 1]);
    const tIds = gpu.pool.fromArray('ids', [ids.length], ids, 'activations');
    const out = gpu.pool.alloc('out', [ids.length, dim], 'f32', 'activations');
    poison(gpu, out);
    const rec = new Recorder(gpu);
    embedLookup(rec, t, tIds, out, ids.length);
    rec.submit();
    expectClose(await gpu.pool.readF32(out), embed(table, ids, dim), 0, 'split embedding');
    for (const x of [...t.tensors, tIds, out]) gpu.pool.release(x);
  });
});

describe('split packed embedding tables', () => {
  for (const fmt of ['f16', 'q8'] as const) {
    it(`${fmt}: every id gathered from its chunk, ids past the table give zeros, a tied head over the chunks`, async () => {
      const gpu = await getGpu();
      const [vocab, dim] = [97, 72];
      const table = randn(vocab * dim, 6);
      gpu.bindingLimitOverride = fmt === 'f16' ? 5_000 : 2_500;
      const t = uploadEmbedding(gpu, 'emb', vocab, dim, table, fmt === 'f16' ? { format: 'f16' } : { format: 'q8', groupSize: 32 });
      const head = tiedHead(gpu, t);
      const Wd = fmt === 'f16' ? roundTripF16(table, vocab, dim) : roundTrip(table, vocab, dim, 'q8', 32);
      try {
        expect(t.chunks.length).toBeGreaterThanOrEqual(3);
        for (const x of t.tensors) expect(x.bytes).toBeLessThanOrEqual(gpu.bindingLimitOverride);
        expect(sharesTable(head, t)).toBe(true);
        const ids = Uint32Array.from([0, 31, 32, 96, 95, 64, 63, 97, 5000, 40, 1]);
        const tIds = gpu.pool.fromArray('ids', [ids.length], ids, 'activations');
        const out = gpu.pool.alloc('out', [ids.length, dim], 'f32', 'activations');
        poison(gpu, out);
        const rec = new Recorder(gpu);
        embedLookup(rec, t, tIds, out, ids.length);
        rec.submit();
        expectClose(await gpu.pool.readF32(out), embed(Wd, ids, dim), 0, `split ${fmt} embedding`);
        for (const x of [tIds, out]) gpu.pool.release(x);
        const x = randn(3 * dim, 7);
        const x1 = x.subarray(0, dim);
        expectClose(await runLinear(gpu, head, x1, 1, null), linear(Wd, x1, vocab, dim, 1), 1e-5, 'tied head, one token');
        expectClose(await runLinear(gpu, head, x, 3, null), linear(Wd, x, vocab, dim, 3), 1e-5, 'tied head, 3 tokens');
      } finally {
        releaseLinear(gpu, head, t.tensors);
        for (const x of t.tensors) gpu.pool.release(x);
      }
    });
  }
});

/** Logits of every prompt position, and 24 greedy ids, of a model built under the current binding limit. */
async function run(gpu: Gpu, model: GpuModel, prompt: number[]): Promise<{ logits: Float32Array; ids: number[] }> {
  const V = model.cfg.vocabSize;
  const tIds = gpu.pool.fromArray('ids', [prompt.length], new Uint32Array(prompt), 'activations');
  const tLogits = gpu.pool.alloc('logits', [prompt.length, V], 'f32', 'activations');
  const rec = new Recorder(gpu);
  model.forward(rec, tIds, prompt.length, 0, tLogits, true);
  rec.submit();
  const logits = await gpu.pool.readF32(tLogits);
  gpu.pool.release(tIds);
  gpu.pool.release(tLogits);
  const g = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 24 } });
  return { logits, ids: g.ids };
}

describe('split model = unsplit model', () => {
  const prompt = [1, 5, 9, 2, 17, 3, 30];
  const cases: { label: string; tie: boolean; qwen2?: boolean; gpt2?: boolean; precision: Precision; limit: number }[] = [
    { label: 'f32 untied', tie: false, precision: 'f32', limit: 10_000 },
    { label: 'f32 tied, qwen2 biases', tie: true, qwen2: true, precision: 'f32', limit: 10_000 },
    { label: 'int8 untied', tie: false, precision: 'int8', limit: 2_000 },
    { label: 'int8 tied', tie: true, precision: 'int8', limit: 2_000 },
    { label: 'int4 (q8 head) tied', tie: true, precision: 'int4', limit: 1_500 },
    { label: 'f16 tied (the head is the f16 table)', tie: true, precision: 'f16', limit: 2_000 },
    { label: 'f16 untied', tie: false, precision: 'f16', limit: 2_000 },
    { label: 'int4 untied (q8 table)', tie: false, precision: 'int4', limit: 1_500 },
    { label: 'GPT-2 f32 (tied wte, learned positions, biases)', tie: true, gpt2: true, precision: 'f32', limit: 10_000 },
    { label: 'GPT-2 int8', tie: true, gpt2: true, precision: 'int8', limit: 2_000 },
  ];
  for (const c of cases) {
    it(c.label, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = c.gpt2 ? await loadGpt2Fixture({ seed: 31 }) : await loadFixture({ seed: 31, tie: c.tie, qwen2: c.qwen2 });
      const build = () => {
        const m = new GpuModel(gpu, cfg, weights, 64);
        if (c.precision !== 'f32') applyPrecision(gpu, m, mastersFromHost(weights), defaultPlan(c.precision));
        return m;
      };
      const plain = build();
      const want = await run(gpu, plain, prompt);
      plain.destroy();
      gpu.bindingLimitOverride = c.limit;
      const before = gpu.pool.bytesByPurpose();
      const split = build();
      try {
        expect(split.embed.chunks.length).toBeGreaterThanOrEqual(3);
        expect(split.lmHead.chunks?.length ?? 1, 'lm_head chunks').toBeGreaterThanOrEqual(3);
        expect(split.layers[0]!.up.chunks?.length ?? 1, 'up_proj chunks').toBeGreaterThanOrEqual(3);
        expect(split.layers[0]!.down.chunks?.length ?? 1, 'down_proj chunks').toBeGreaterThanOrEqual(3);
        for (const l of split.linears()) for (const t of Object.values(l.tensors)) expect(t.bytes, t.label).toBeLessThanOrEqual(c.limit);
        await warmUp(gpu, split); // leaves the decode activation set (and split scratch) allocated, as a load does
        const after = gpu.pool.bytesByPurpose();
        const est = estimateMemory(cfg, { quant: { precision: c.precision, groupSize: 32, lmHead: null }, ctx: 64, bindingLimit: c.limit });
        expect(after.weights - before.weights, 'weights = plan').toBe(est.weights.total);
        expect(after.kv - before.kv, 'KV = plan').toBe(est.kv);
        expect(after.activations - before.activations, 'decode activations = plan').toBe(est.activations.decode);
        expect(est.split.length).toBeGreaterThan(0);
        const got = await run(gpu, split, prompt);
        expectClose(got.logits, want.logits, 1e-5, 'prefill logits');
        expect(got.ids).toEqual(want.ids);
        expect(new Set(want.ids).size, 'not degenerate').toBeGreaterThan(3);
      } finally {
        split.destroy();
      }
    });
  }

  it('lab-target dimensions, unsplit: the plan equals the pool (weights, KV, decode activations)', async () => {
    const gpu = await getGpu();
    const dims = { hiddenSize: 256, intermediateSize: 768, nLayers: 6, nHeads: 8, nKvHeads: 4, vocabSize: 1024, maxSeq: 256 };
    const { cfg, weights } = await loadFixture({ seed: 3, ...dims });
    const before = gpu.pool.bytesByPurpose();
    const model = new GpuModel(gpu, cfg, weights, 256);
    try {
      await warmUp(gpu, model);
      const after = gpu.pool.bytesByPurpose();
      const est = estimateMemory(cfg, { quant: { precision: 'f32', groupSize: 32, lmHead: null }, ctx: 256, bindingLimit: gpu.maxBindingBytes });
      expect(after.weights - before.weights).toBe(est.weights.total);
      expect(after.kv - before.kv).toBe(est.kv);
      expect(after.activations - before.activations).toBe(est.activations.decode);
      expect(est.split).toEqual([]);
    } finally {
      model.destroy();
    }
  });
});

describe('LabEngine memory plan', () => {
  it('reports the plan beside the pool after a load, and refuses a model over the budget before allocating', async () => {
    const engine = new LabEngine();
    const files = (seed: number) => {
      const f = makeLlamaFixture({ seed });
      return [new File([JSON.stringify(f.configJson)], 'config.json'), new File([f.safetensors], 'model.safetensors')];
    };
    try {
      const info = await engine.load({ kind: 'files', files: files(41), name: 'first' });
      const st = await engine.stats();
      const est = st.memory!.estimate!;
      expect(st.gpuBytes.weights).toBe(est.weights.total);
      expect(st.gpuBytes.kv).toBe(est.kv);
      expect(st.gpuBytes.activations).toBe(est.activations.decode);
      expect(est.ctx).toBe(info.maxSeq);
      const v = await engine.estimate({ quant: { precision: 'int4' } });
      expect(v.estimate.weights.total).toBeLessThan(est.weights.total);

      const budget = await engine.setMemoryBudget(est.total / 2);
      expect(budget).toMatchObject({ bytes: est.total / 2, source: 'user' });
      const used = engine.internals().gpu!.pool.totalBytes();
      const err = await engine.load({ kind: 'files', files: files(42), name: 'second' }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe('MemoryBudgetError');
      expect((err as Error).message).toMatch(/needs [\d.]+ MiB .*weights [\d.]+ MiB, KV cache [\d.]+ MiB, activations [\d.]+ MiB; the memory budget is [\d.]+ MiB/);
      expect((err as Error).message).toMatch(/would fit/);
      expect(engine.internals().gpu!.pool.totalBytes(), 'nothing allocated, the first model kept').toBe(used);
      expect((await engine.stats()).model?.name).toBe('first');
      expect((await engine.setMemoryBudget(null)).source).not.toBe('user');
    } finally {
      await engine.reset();
    }
  });

  it('loads at a chosen precision, packing as it uploads: int4 fits a budget f32 does not, same bytes and ids as a live switch', async () => {
    const engine = new LabEngine();
    const f = makeLlamaFixture({ seed: 43 });
    const files = () => [new File([JSON.stringify(f.configJson)], 'config.json'), new File([f.safetensors], 'model.safetensors')];
    const int4 = { precision: 'int4' as const, groupSize: 32, lmHead: null };
    const sampling = { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 12 };
    try {
      // reference: f32 load, then a live switch to int4
      await engine.load({ kind: 'files', files: files(), name: 'f32-then-int4' });
      const f32Total = (await engine.stats()).memory!.estimate!.total;
      await engine.configure({ ...DEFAULT_TECHNIQUES, quant: int4 });
      const switched = (await engine.stats()).gpuBytes.weights;
      const want = (await engine.generate({ prompt: [1, 2, 3], sampling }, () => {})).outputIds;
      const int4Total = (await engine.estimate({ quant: int4 })).estimate.total;
      expect(int4Total).toBeLessThan(f32Total);

      await engine.setMemoryBudget(Math.floor((int4Total + f32Total) / 2));
      const refused = await engine.load({ kind: 'files', files: files(), name: 'at f32' }).catch((e: Error) => e);
      expect((refused as Error).name).toBe('MemoryBudgetError');
      const info = await engine.load({ kind: 'files', files: files(), name: 'at int4' }, undefined, int4);
      expect(info.settings.quant).toEqual(int4);
      expect((await engine.stats()).gpuBytes.weights).toBe(switched);
      expect((await engine.generate({ prompt: [1, 2, 3], sampling }, () => {})).outputIds).toEqual(want);
    } finally {
      await engine.setMemoryBudget(null);
      await engine.reset();
    }
  });
});
