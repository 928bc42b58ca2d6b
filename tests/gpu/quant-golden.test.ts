// Golden end-to-end for quantized weights: after applyPrecision re-packs the fixture model, its greedy decode on
// WebGPU (prefill through matmul_quant / matmul_f16, decode through gemv_quant / gemv_f16) equals, token for token,
// the float64 CPU reference forward run on exactly the dequantized weights (dequantizedHostWeights; for f16 the
// f16-rounded weights), the embedding table included (f16 / q8 tables, embeddingSpec). The fixture's hidden 72 and
// inter 98 leave a short last group in every row (72 = 2·32 + 8, 98 = 3·32 + 2).
import { describe, expect, it } from 'vitest';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { Recorder } from '../../src/gpu/recorder';
import { GpuModel } from '../../src/model/transformer';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { applyPrecision, defaultPlan, dequantizedHostWeights, embeddingSpec, mastersFromHost, type QuantPlan, specFor, TIED_HEAD } from '../../src/techniques/quant-formats';
import { pruneHost } from '../../src/techniques/prune';
import { applyPruning } from '../../src/techniques/sparse-formats';
import { loadFixture, makeLlamaFixture } from '../fixtures/llama';
import { expectClose, getGpu } from './harness';

const fixture = loadFixture;

const g32 = (precision: 'int8' | 'int4' | 'int4z') => ({ precision, groupSize: 32 });
const CASES: { label: string; opts: Parameters<typeof makeLlamaFixture>[0]; plan: QuantPlan }[] = [
  { label: 'int8 g32, untied head', opts: { seed: 11 }, plan: defaultPlan('int8') },
  { label: 'int4 g32 everywhere (head too), untied', opts: { seed: 11 }, plan: { default: g32('int4') } },
  { label: 'int4 g32 default mix (q8 head), tied head', opts: { seed: 12, tie: true }, plan: defaultPlan('int4') },
  { label: 'int4z g64, Qwen2 biases', opts: { seed: 14, qwen2: true }, plan: { default: { precision: 'int4z', groupSize: 64 } } },
  { label: 'f16 everywhere, untied head, Qwen2 biases', opts: { seed: 14, qwen2: true }, plan: defaultPlan('f16') },
  { label: 'f16 everywhere, tied head (the head is the f16 embedding table)', opts: { seed: 12, tie: true }, plan: defaultPlan('f16') },
  { label: 'int8 g64, tied head (the head is the q8 g64 table)', opts: { seed: 12, tie: true }, plan: defaultPlan('int8', 64) },
  { label: 'int4 g32 tied, head int4 too (q8 table + its own q4 head)', opts: { seed: 12, tie: true }, plan: { default: g32('int4'), lmHead: g32('int4') } },
  { label: 'int8 g128 body, f32 tied head', opts: { seed: 12, tie: true }, plan: { default: { precision: 'int8', groupSize: 128 }, lmHead: { precision: 'f32', groupSize: 0 } } },
];

describe('quant golden: GPU greedy decode on packed weights equals the CPU reference on the dequantized weights', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await fixture(c.opts);
      const prompt = [1, 5, 9, 2, 17, 3, 30];
      const want = refGreedy(cfg, dequantizedHostWeights(weights, c.plan), prompt, 36);
      const model = new GpuModel(gpu, cfg, weights, 64);
      try {
        applyPrecision(gpu, model, mastersFromHost(weights), c.plan);
        const fmt = { f32: 'f32', f16: 'f16', int8: 'q8', int4: 'q4', int4z: 'q4z' } as Record<string, string>;
        for (const l of model.linears()) expect(l.format, l.name).toBe(fmt[specFor(l.name, c.plan).precision]);
        const es = embeddingSpec(c.plan, weights.lmHead === weights.embed);
        expect(model.embed.format).toBe(fmt[es.precision]);
        const shares = weights.lmHead === weights.embed && specFor(TIED_HEAD, c.plan).precision === es.precision;
        expect(model.headSharesEmbedding(), 'tied head over the table').toBe(shares);
        const got = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 36 } });
        expect(got.ids).toEqual(want);
        expect(new Set(want).size, 'fixture output is not degenerate').toBeGreaterThan(5);
      } finally {
        model.destroy();
      }
    });
  }

  it('masters as { W, bias } entries (pruneMasters output shape) give the same decode as bare arrays', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture({ seed: 14, qwen2: true });
    const plan = defaultPlan('int4');
    const bare = mastersFromHost(weights);
    const entries = new Map<string, { W: Float32Array; bias: Float32Array | null }>();
    for (const [name, W] of bare) if (!name.endsWith('.bias')) entries.set(name, { W, bias: bare.get(name.replace(/weight$/, 'bias')) ?? null });
    const prompt = [3, 1, 4, 1, 5];
    const want = refGreedy(cfg, dequantizedHostWeights(weights, plan), prompt, 20);
    const model = new GpuModel(gpu, cfg, weights, 64);
    try {
      applyPrecision(gpu, model, entries, plan);
      expect(model.layers[0]!.q.bias).not.toBeNull();
      const got = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 20 } });
      expect(got.ids).toEqual(want);
    } finally {
      model.destroy();
    }
  });

  it('prune first, quantize second: 2:4 layers survive an f32 plan; int4 packs the pruned weights exactly', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture({ seed: 11 });
    const spec = { kind: '2:4' as const, sparsity: 0.5, scope: 'layer' as const, targets: { attention: true, ffn: true } };
    const entries = new Map([...mastersFromHost(weights)].map(([name, W]) => [name, { W, bias: null, rows: 0, cols: 0 }]));
    const prompt = [2, 7, 1, 8];
    const model = new GpuModel(gpu, cfg, weights, 64);
    try {
      const pruned = applyPruning(gpu, model, entries, cfg, spec);
      applyPrecision(gpu, model, pruned.masters, defaultPlan('f32'));
      expect(model.layers[0]!.up.format).toBe('2:4');
      const plan = defaultPlan('int4');
      applyPrecision(gpu, model, pruned.masters, plan);
      expect(new Set(model.linears().map((l) => l.format))).toEqual(new Set(['q4', 'q8']));
      const want = refGreedy(cfg, dequantizedHostWeights(pruneHost(weights, cfg, spec).weights, plan), prompt, 20);
      const got = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 20 } });
      expect(got.ids).toEqual(want);
    } finally {
      model.destroy();
    }
  });

  it('prefill logits (all positions, matmul_quant) match the reference within 1e-4, int4 g32', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture({ seed: 21 });
    const plan = defaultPlan('int4');
    const prompt = [4, 8, 15, 16, 23];
    const ref = new RefModel(cfg, dequantizedHostWeights(weights, plan), 64).forward(prompt, 0);
    const model = new GpuModel(gpu, cfg, weights, 64);
    applyPrecision(gpu, model, mastersFromHost(weights), plan);
    const ids = gpu.pool.fromArray('ids', [prompt.length], new Uint32Array(prompt), 'activations');
    const logits = gpu.pool.alloc('logits', [prompt.length, cfg.vocabSize], 'f32', 'activations');
    try {
      const rec = new Recorder(gpu);
      model.forward(rec, ids, prompt.length, 0, logits, true);
      rec.submit();
      expectClose(await gpu.pool.readF32(logits), ref, 1e-4, 'logits');
      // and the quantized logits really differ from the f32 model's (by the quantization error, not 0)
      const f32ref = new RefModel(cfg, weights, 64).forward(prompt, 0);
      let d = 0;
      for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ref[i]! - f32ref[i]!));
      expect(d).toBeGreaterThan(1e-3);
    } finally {
      gpu.pool.release(ids);
      gpu.pool.release(logits);
      model.destroy();
    }
  });
});
