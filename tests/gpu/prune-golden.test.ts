// Golden end-to-end for pruning: a pruned fixture decodes greedily on WebGPU to exactly the token ids of the
// float64 CPU reference (src/ref/forward.ts) run on the MASKED dense weights (pruneHost), through prefill
// (the formats' sparse matmul entries) and decode (their GEMVs). Unstructured (SELL and masked-dense kernels),
// 2:4, and switching back to dense. Structured pruning: tests/gpu/prune-structured.test.ts.
import { describe, expect, it } from 'vitest';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { Recorder } from '../../src/gpu/recorder';
import { parseConfig, type ModelConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { GpuModel } from '../../src/model/transformer';
import { type HostWeights, loadWeights } from '../../src/model/weights';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { type PruneSpec, pruneHost } from '../../src/techniques/prune';
import { applyPruning,  } from '../../src/techniques/sparse-formats';
import { makeLlamaFixture, type LlamaFixtureOptions } from '../fixtures/llama';
import { masterCopy } from '../../src/engine/techniques';
import { expectClose, getGpu } from './harness';

async function fixture(opts: LlamaFixtureOptions): Promise<{ cfg: ModelConfig; weights: HostWeights }> {
  const f = makeLlamaFixture(opts);
  const cfg = parseConfig(f.configJson);
  const src = bytesSource('model.safetensors', f.safetensors);
  return { cfg, weights: await loadWeights(cfg, await readSafetensors(src), src) };
}

const masters = masterCopy;

const spec = (kind: PruneSpec['kind'], sparsity: number, scope: PruneSpec['scope'] = 'layer', attention = true, ffn = true): PruneSpec => ({
  kind, sparsity, scope, targets: { attention, ffn },
});

const PROMPT = [1, 5, 9, 2, 17, 3, 30];

const CASES: { label: string; opts: LlamaFixtureOptions; spec: PruneSpec; crossover?: string; formats: string[] }[] = [
  { label: 'unstructured 50% per layer, SELL kernels', opts: { seed: 11 }, spec: spec('unstructured', 0.5), crossover: '0', formats: ['sparse'] },
  { label: 'unstructured 50% per layer, masked dense below the crossover', opts: { seed: 12 }, spec: spec('unstructured', 0.5), crossover: '0.9', formats: ['f32'] },
  { label: 'unstructured 80% global, Qwen2 biases, tied head', opts: { seed: 14, qwen2: true, tie: true }, spec: spec('unstructured', 0.8, 'global'), crossover: '0.5', formats: ['f32', 'sparse'] },
  { label: '2:4 (vec4 and scalar-x entries: cols 72 and 98)', opts: { seed: 13 }, spec: spec('2:4', 0), formats: ['2:4'] },
  { label: '2:4 on the FFN only, MHA 3 layers', opts: { seed: 15, nLayers: 3, nKvHeads: 4 }, spec: spec('2:4', 0, 'layer', false, true), formats: ['2:4', 'f32'] },
];

describe('golden: pruned GPU greedy decode equals the CPU reference on the masked weights', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await fixture(c.opts);
      const want = refGreedy(cfg, pruneHost(weights, cfg, c.spec).weights, PROMPT, 36);
      const model = new GpuModel(gpu, cfg, weights, 64);
      const saved = gpu.traits.tuned['sparse_crossover'];
      try {
        if (c.crossover !== undefined) gpu.traits.tuned['sparse_crossover'] = c.crossover;
        const { report } = applyPruning(gpu, model, masters(weights), cfg, c.spec);
        const formats = new Set(model.linears().filter((l) => l.name.startsWith('model.layers.')).map((l) => l.format));
        expect([...formats].sort()).toEqual([...c.formats].sort());
        expect(report.tensors.filter((t) => t.pruned).every((t) => t.format === model.linears().find((l) => l.name === t.name)!.format)).toBe(true);
        const got = await generateLoop(gpu, model, PROMPT, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 36 } });
        expect(got.ids).toEqual(want);
        expect(new Set(want).size, 'fixture output is not degenerate').toBeGreaterThan(5);
        // and back to dense: the unpruned reference again
        applyPruning(gpu, model, masters(weights), cfg, spec('none', 0));
        expect(model.linears().every((l) => l.format === 'f32')).toBe(true);
        const dense = await generateLoop(gpu, model, PROMPT, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 12 } });
        expect(dense.ids).toEqual(refGreedy(cfg, weights, PROMPT, 12));
      } finally {
        if (saved === undefined) delete gpu.traits.tuned['sparse_crossover'];
        else gpu.traits.tuned['sparse_crossover'] = saved;
        model.destroy();
      }
    });
  }

  for (const [label, s, crossover] of [['SELL', spec('unstructured', 0.6), '0'], ['2:4', spec('2:4', 0), undefined]] as const) {
    it(`prefill logits (all positions, sparse matmul) match the reference within 1e-4: ${label}`, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await fixture({ seed: 21 });
      const prompt = [4, 8, 15, 16, 23, 42, 7, 1, 9];
      const ref = new RefModel(cfg, pruneHost(weights, cfg, s).weights, 64).forward(prompt, 0);
      const model = new GpuModel(gpu, cfg, weights, 64);
      const ids = gpu.pool.fromArray('ids', [prompt.length], new Uint32Array(prompt), 'activations');
      const logits = gpu.pool.alloc('logits', [prompt.length, cfg.vocabSize], 'f32', 'activations');
      const saved = gpu.traits.tuned['sparse_crossover'];
      try {
        if (crossover !== undefined) gpu.traits.tuned['sparse_crossover'] = crossover;
        applyPruning(gpu, model, masters(weights), cfg, s);
        const rec = new Recorder(gpu);
        model.forward(rec, ids, prompt.length, 0, logits, true);
        rec.submit();
        expectClose(await gpu.pool.readF32(logits), ref, 1e-4, 'logits');
      } finally {
        if (saved === undefined) delete gpu.traits.tuned['sparse_crossover'];
        else gpu.traits.tuned['sparse_crossover'] = saved;
        gpu.pool.release(ids);
        gpu.pool.release(logits);
        model.destroy();
      }
    });
  }
});
