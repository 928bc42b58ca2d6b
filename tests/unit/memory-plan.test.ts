// The memory plan (src/engine/memory-plan.ts) for the embedded lab-target config, by hand, and the refusal with
// its numbers. tests/gpu/split.test.ts checks the same formulas against what the buffer pool actually allocates.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkBudget, defaultBudget, describeRefusal, estimateMemory, MemoryBudgetError } from '../../src/engine/memory-plan';
import { parseConfig } from '../../src/model/config';

const cfg = parseConfig(JSON.parse(readFileSync('models/lab-target/config.json', 'utf8')));
const f32 = { precision: 'f32', groupSize: 32, lmHead: null } as const;
const MiB = 1024 ** 2;

describe('memory plan: lab-target (H 256, I 768, 6 layers, 8 heads / 4 KV of 32, vocab 1024, untied)', () => {
  it('f32 at ctx 256: weights by part, KV, activations', () => {
    const e = estimateMemory(cfg, { quant: f32, ctx: 256, promptTokens: 7 });
    expect(e.weights.embedding).toBe(1024 * 256 * 4);
    // per layer: 2 norms + q, o (256×256) + k, v (128×256) + gate, up, down (768×256); rope inv_freq once
    const layer = 2 * 256 * 4 + 4 * (2 * 256 * 256 + 2 * 128 * 256 + 3 * 768 * 256);
    expect(e.weights.layers).toBe(6 * layer + 16 * 4);
    expect(e.weights.head).toBe(256 * 4 + 1024 * 256 * 4);
    expect(e.kv).toBe(2 * 6 * 256 * 128 * 4);
    const acts = (n: number) => 4 * (2 * n * 256 + 2 * n * 256 + 2 * n * 128 + 3 * n * 768 + 256);
    expect(e.activations.decode).toBe(acts(1));
    expect(e.activations.prefill).toBe(acts(7));
    expect(e.activations.loop).toBe(1024 * 4 + 7 * 4 + 8);
    expect(e.total).toBe(e.weights.total + e.kv + e.activations.total);
    expect(e.split).toEqual([]);
    expect(e.largest).toEqual({ name: 'model.embed_tokens.weight', bytes: 1024 * 256 * 4 });
  });

  it('int8 g32 packs every linear (words + scales) and the table (q8); int4 keeps a q8 head; f16 halves the table; a tied head over the table is counted once', () => {
    const q8 = (rows: number, cols: number) => rows * (Math.ceil(cols / 4) + Math.ceil(cols / 32)) * 4;
    const q4 = (rows: number, cols: number) => rows * (Math.ceil(cols / 8) + Math.ceil(cols / 32)) * 4;
    const e8 = estimateMemory(cfg, { quant: { ...f32, precision: 'int8' }, ctx: 256 });
    const lin = (q: typeof q8) => 2 * q(256, 256) + 2 * q(128, 256) + 2 * q(768, 256) + q(256, 768);
    expect(e8.weights.layers).toBe(6 * (2048 + lin(q8)) + 64);
    expect(e8.weights.head).toBe(1024 + q8(1024, 256));
    expect(e8.weights.embedding).toBe(q8(1024, 256));
    const e4 = estimateMemory(cfg, { quant: { ...f32, precision: 'int4' }, ctx: 256 });
    expect(e4.weights.embedding).toBe(q8(1024, 256));
    expect(e4.weights.layers).toBe(6 * (2048 + lin(q4)) + 64);
    expect(e4.weights.head).toBe(1024 + q8(1024, 256));
    const tied = { ...cfg, tieWordEmbeddings: true };
    expect(estimateMemory(tied, { quant: f32, ctx: 256 }).weights.head).toBe(1024);
    for (const precision of ['int8', 'int4', 'f16'] as const) {
      const e = estimateMemory(tied, { quant: { ...f32, precision }, ctx: 256 });
      expect(e.weights.head, `${precision}: the tied head is the table`).toBe(1024);
      expect(e.weights.embedding).toBe(precision === 'f16' ? 1024 * 128 * 4 : q8(1024, 256));
    }
    // int8 g64 body: the tied head (and so the table) is q8 g64
    expect(estimateMemory(tied, { quant: { ...f32, precision: 'int8', groupSize: 64 }, ctx: 256 }).weights.embedding).toBe(1024 * (64 + 4) * 4);
    // a tied head set to int4: its own q4 copy beside the q8 g32 table
    const own = estimateMemory(tied, { quant: { ...f32, precision: 'int4', lmHead: 'int4' }, ctx: 256 });
    expect(own.weights.head).toBe(1024 + q4(1024, 256));
    expect(own.weights.embedding).toBe(q8(1024, 256));
    // a tied head set to f32 keeps the f32 table it shares
    expect(estimateMemory(tied, { quant: { ...f32, precision: 'int8', lmHead: 'f32' }, ctx: 256 }).weights.embedding).toBe(1024 * 256 * 4);
  });

  it('a 151,936 × 896 f32 embedding under a 128 MiB binding limit is split into 5 row chunks', () => {
    const big = { ...cfg, vocabSize: 151_936, hiddenSize: 896, tieWordEmbeddings: true };
    const e = estimateMemory(big, { quant: f32, ctx: 256, bindingLimit: 128 * MiB });
    expect(e.largest.bytes).toBe(151_936 * 896 * 4);
    expect(e.split).toContainEqual({ name: 'model.embed_tokens.weight', bytes: 151_936 * 896 * 4, chunks: 5 });
    const e8 = estimateMemory(big, { quant: { ...f32, precision: 'int8' }, ctx: 256, bindingLimit: 128 * MiB });
    // the tied head is the q8 table: 136 MB of int8 words in 2 chunks, no head of its own
    expect(e8.split.find((s) => s.name === 'model.embed_tokens.weight')?.chunks).toBe(2);
    expect(e8.split.find((s) => s.name === 'lm_head (tied)')).toBeUndefined();
    expect(e8.activations.decode).toBeGreaterThan(estimateMemory(big, { quant: { ...f32, precision: 'int8' }, ctx: 256 }).activations.decode);
  });

  it('refuses with the numbers and suggests a precision and a context that fit', () => {
    const e = estimateMemory(cfg, { quant: f32, ctx: 256 });
    const budget = { bytes: e.total - 1, source: 'user', note: 'test' } as const;
    const v = checkBudget(cfg, { quant: f32, ctx: 256 }, budget);
    expect(v.fits).toBe(false);
    const err = new MemoryBudgetError(v);
    expect(err.name).toBe('MemoryBudgetError');
    const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
    for (const part of [e.total, e.weights.total, e.kv, e.activations.total, budget.bytes]) expect(err.message).toContain(mib(part));
    expect(err.message).toMatch(/f16 would fit/); // the highest precision below f32 that fits
    expect(v.maxCtx).toBeGreaterThan(0);
    expect(v.maxCtx).toBeLessThan(256);
    expect(err.message).toContain(`a context of ${v.maxCtx} tokens would fit`);
    // a budget only int4 fits
    const tiny = { ...budget, bytes: estimateMemory(cfg, { quant: { ...f32, precision: 'int4' }, ctx: 256 }).total + 1 };
    expect(describeRefusal(checkBudget(cfg, { quant: f32, ctx: 256 }, tiny, ['f32', 'int8', 'int4']))).toMatch(/int4 would fit/);
    expect(checkBudget(cfg, { quant: f32, ctx: 256 }, { ...budget, bytes: e.total }).fits).toBe(true);
  });

  it("precision 'file' (a file's own storage) is counted as f32, an upper bound, and marked approximate", () => {
    const e = estimateMemory(cfg, { quant: { ...f32, precision: 'file' }, ctx: 256 });
    expect(e.approximate).toBe(true);
    expect(e.weights.total).toBe(estimateMemory(cfg, { quant: f32, ctx: 256 }).weights.total);
    expect(estimateMemory(cfg, { quant: f32, ctx: 256 }).approximate).toBe(false);
  });

  it('default budget: half of navigator.deviceMemory, else 2 GiB', () => {
    expect(defaultBudget(8)).toMatchObject({ bytes: 4 * 1024 ** 3, source: 'deviceMemory' });
    expect(defaultBudget(undefined)).toMatchObject({ bytes: 2 * 1024 ** 3, source: 'default' });
  });
});
