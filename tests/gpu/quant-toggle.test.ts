// The live precision switch: toggling f32 → f16 → int8 → int4 → f32 … 100 times on a loaded model returns GPU
// bytes (gpu.memory(), every purpose) to the same figure for the same precision each time (no leak, no duplicate
// of the tied embedding: a tied head is a view over the f16 / q8 embedding table), f16 linears and the f16 table
// take exactly half their f32 bytes, the model still decodes exactly the f32 golden sequence afterwards, and a bad
// master (missing, or a weight or embedding value f16 cannot store) is refused before anything changes. Also prints (no assertion on time) the re-pack time at the embedded target's size.
import { describe, expect, it } from 'vitest';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import type { BytesByPurpose } from '../../src/gpu/pool';
import { GpuModel } from '../../src/model/transformer';
import { refGreedy } from '../../src/ref/forward';
import { linearBytes } from '../../src/model/linear';
import { F16RangeError, packF16 } from '../../src/ref/f16';
import { applyPrecision, defaultPlan, mastersFromHost, precisionUnavailable, TIED_HEAD } from '../../src/techniques/quant-formats';
import { type Precision, quantize } from '../../src/techniques/quantize';
import { loadFixture } from '../fixtures/llama';
import { getGpu } from './harness';

const fixture = loadFixture;

const sampling = { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 12 };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('quant toggle: f32 → f16 → int8 → int4 → f32 … without leaks', () => {
  for (const tie of [false, true]) {
    it(`100 toggles keep GPU bytes per precision fixed (${tie ? 'tied' : 'untied'} head)`, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await fixture({ seed: 31, tie, nLayers: 1, hiddenSize: 40, intermediateSize: 52, vocabSize: 61 });
      const masters = mastersFromHost(weights);
      const prompt = [1, 2, 3];
      const model = new GpuModel(gpu, cfg, weights, 32);
      try {
        const seen = new Map<Precision, { mem: BytesByPurpose; live: number }>();
        const order: Precision[] = ['f32', 'f16', 'int8', 'int4'];
        seen.set('f32', { mem: gpu.memory(), live: gpu.pool.liveCount() });
        // f32 bytes of the linears that own their weights (a tied f32 head shares the embedding) and of the head
        const own = model.linears().filter((l) => l.name !== TIED_HEAD).reduce((s, l) => s + linearBytes(l), 0);
        const head = cfg.vocabSize * cfg.hiddenSize * 4;
        for (let i = 1; i <= 100; i++) {
          const p = order[i % order.length]!;
          applyPrecision(gpu, model, masters, defaultPlan(p));
          const now = { mem: gpu.memory(), live: gpu.pool.liveCount() };
          const first = seen.get(p);
          if (first) expect(now, `toggle ${i} to ${p}`).toEqual(first);
          else seen.set(p, now);
          expect(model.embed.format).toBe(p === 'f32' ? 'f32' : p === 'f16' ? 'f16' : 'q8');
          if (tie) expect(model.headSharesEmbedding(), `tied head shares the ${p} table`).toBe(true);
          else expect(model.headSharesEmbedding()).toBe(false);
        }
        const w = (p: Precision) => seen.get(p)!.mem.weights;
        expect(w('int4')).toBeLessThan(w('int8'));
        expect(w('int8')).toBeLessThan(w('f16'));
        expect(w('f16')).toBeLessThan(w('f32'));
        // every col is even here, so f16 is exactly half of f32 per linear and for the table (a tied head shares it)
        expect(w('f32') - w('f16')).toBe(own / 2 + head / 2);
        // 100 % 4 = 0 → ends on f32 already; apply f32 again (a no-op) and decode the f32 golden sequence
        applyPrecision(gpu, model, masters, defaultPlan('f32'));
        expect(gpu.memory()).toEqual(seen.get('f32')!.mem);
        if (tie) expect(model.lmHead.tensors['W']).toBe(model.embed.tensors[0]);
        const got = await generateLoop(gpu, model, prompt, { sampling });
        expect(got.ids).toEqual(refGreedy(cfg, weights, prompt, sampling.maxNewTokens));
      } finally {
        model.destroy();
      }
      expect(gpu.pool.liveCount()).toBe(0);
    });
  }

  it('refuses a missing master, or a weight f16 cannot store, before touching the model', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture({ seed: 32, nLayers: 1, hiddenSize: 40, intermediateSize: 52, vocabSize: 61 });
    const model = new GpuModel(gpu, cfg, weights, 32);
    try {
      const before = model.linears();
      const huge = mastersFromHost(weights);
      const down = Float32Array.from(huge.get('model.layers.0.mlp.down_proj.weight')!);
      down[5] = 1e6;
      huge.set('model.layers.0.mlp.down_proj.weight', down);
      expect(() => applyPrecision(gpu, model, huge, defaultPlan('f16'))).toThrow(F16RangeError);
      expect(() => applyPrecision(gpu, model, huge, defaultPlan('f16'))).toThrow(/model\.layers\.0\.mlp\.down_proj\.weight: weight 1000000 at \(0, 5\)/);
      expect(model.linears()).toEqual(before);
      const partial = mastersFromHost(weights);
      partial.delete('lm_head.weight');
      expect(() => applyPrecision(gpu, model, partial, defaultPlan('int8'))).toThrow(/no f32 master for 'lm_head.weight'/);
      expect(model.linears()).toEqual(before);
      expect(model.embed.format).toBe('f32');
    } finally {
      model.destroy();
    }
    // an embedding value f16 cannot store: refused, naming the table, with nothing allocated or changed
    const embed = Float32Array.from(weights.embed);
    embed[2 * 40 + 3] = -7e4;
    const bad = new GpuModel(gpu, cfg, { ...weights, embed }, 32);
    try {
      const table = bad.embed;
      const live = gpu.pool.liveCount();
      expect(() => applyPrecision(gpu, bad, mastersFromHost({ ...weights, embed }), defaultPlan('f16'))).toThrow(/model\.embed_tokens\.weight: weight -70000 at \(2, 3\)/);
      expect(bad.embed).toBe(table);
      expect(gpu.pool.liveCount()).toBe(live);
      expect(precisionUnavailable('f16', { hasF16: false })).toBeNull();
      expect(precisionUnavailable('f16', { hasF16: true })).toBeNull();
      expect(precisionUnavailable('int4', { hasF16: false })).toBeNull();
    } finally {
      model.destroy();
    }
  });

  it('re-pack time at the embedded target size (6 layers, hidden 256, inter 768, vocab 1024): printed', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture({ seed: 41, nLayers: 6, hiddenSize: 256, intermediateSize: 768, vocabSize: 1024, nHeads: 8, nKvHeads: 4 });
    const masters = mastersFromHost(weights);
    const model = new GpuModel(gpu, cfg, weights, 64);
    const lines: string[] = [];
    try {
      for (const p of ['f16', 'int8', 'int4', 'int4z'] as const) {
        const quantMs: number[] = [];
        const applyMs: number[] = [];
        for (let rep = 0; rep < 3; rep++) {
          let t0 = performance.now();
          for (const l of model.linears()) {
            if (p === 'f16') packF16(masters.get(l.name)!, l.rows, l.cols);
            else quantize(masters.get(l.name)!, l.rows, l.cols, p === 'int8' ? 'q8' : p === 'int4' ? 'q4' : 'q4z', 32);
          }
          quantMs.push(performance.now() - t0);
          applyPrecision(gpu, model, masters, defaultPlan('f32'));
          await gpu.sync();
          t0 = performance.now();
          applyPrecision(gpu, model, masters, defaultPlan(p));
          await gpu.sync();
          applyMs.push(performance.now() - t0);
        }
        const mb = gpu.memory().weights / 2 ** 20;
        lines.push(`${p}: quantize (CPU only) ${median(quantMs).toFixed(1)} ms, applyPrecision (quantize + upload + sync) ${median(applyMs).toFixed(1)} ms median of 3 [${applyMs.map((t) => t.toFixed(0)).join(', ')}], weights ${mb.toFixed(2)} MiB`);
      }
      applyPrecision(gpu, model, masters, defaultPlan('f32'));
      lines.push(`f32: weights ${(gpu.memory().weights / 2 ** 20).toFixed(2)} MiB`);
      console.log(`[quant re-pack, ${gpu.probe.description || gpu.probe.vendor}]\n  ${lines.join('\n  ')}`);
    } finally {
      model.destroy();
    }
  });
});
