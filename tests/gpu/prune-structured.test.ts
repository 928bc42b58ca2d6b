// Structured pruning through the GPU forward pass: whole FFN neurons and whole KV groups (a kv head with its
// query heads, for GQA) removed, giving physically smaller dense f32 layers whose per-layer dims the forward
// pass reads (heads = q.rows / headDim, kv heads = k.rows / headDim, inter = gate.rows). Checked: shapes stay
// consistent per layer, fewer weight bytes, and greedy ids / prefill logits equal the CPU reference run on the
// equivalent MASKED full-size weights (pruned units zeroed: the same function).
import { describe, expect, it } from 'vitest';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { Recorder } from '../../src/gpu/recorder';
import { GpuModel } from '../../src/model/transformer';
import { parseConfig, type ModelConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
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

const spec = (sparsity: number, scope: PruneSpec['scope'] = 'layer', attention = true, ffn = true): PruneSpec => ({
  kind: 'structured', sparsity, scope, targets: { attention, ffn },
});

const CASES: { label: string; opts: LlamaFixtureOptions; spec: PruneSpec }[] = [
  { label: 'GQA 4/2, 50% per layer (one KV group of two heads left)', opts: { seed: 11 }, spec: spec(0.5) },
  { label: 'GQA 8/2, 64 wide, 3 layers, 40% global', opts: { seed: 31, nHeads: 8, nKvHeads: 2, hiddenSize: 64, nLayers: 3 }, spec: spec(0.4, 'global') },
  { label: 'MHA 4/4, FFN only 70%', opts: { seed: 13, nKvHeads: 4 }, spec: spec(0.7, 'layer', false, true) },
  { label: 'Qwen2 q/k/v biases, attention only 50%', opts: { seed: 14, qwen2: true }, spec: spec(0.5, 'layer', true, false) },
];

describe('structured pruning: smaller dense layers through the GPU forward pass', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await fixture(c.opts);
      const { headDim: hd, hiddenSize: H, nHeads, nKvHeads } = cfg;
      const prompt = [1, 5, 9, 2, 17, 3, 30];
      const pruned = pruneHost(weights, cfg, c.spec).weights;
      const want = refGreedy(cfg, pruned, prompt, 36);
      const model = new GpuModel(gpu, cfg, weights, 64);
      try {
        const denseBytes = gpu.pool.bytesByPurpose().weights;
        const res = applyPruning(gpu, model, masters(weights), cfg, c.spec);
        let expectBytes = denseBytes;
        model.layers.forEach((L, l) => {
          const dims = res.report.layers[l]!;
          expect(L.q.rows).toBe(dims.heads * hd);
          expect(L.k.rows).toBe(dims.kvHeads * hd);
          expect(L.v.rows).toBe(dims.kvHeads * hd);
          expect(L.o.cols).toBe(L.q.rows);
          expect(L.gate!.rows).toBe(dims.inter);
          expect(L.up.rows).toBe(dims.inter);
          expect(L.down.cols).toBe(dims.inter);
          for (const lw of [L.q, L.k, L.v, L.gate!, L.up]) expect(lw.cols).toBe(H);
          expect(L.o.rows).toBe(H);
          expect(L.down.rows).toBe(H);
          expect(dims.heads / dims.kvHeads).toBe(nHeads / nKvHeads); // whole KV groups
          expect(dims.kvHeads).toBeGreaterThan(0);
          for (const lw of [L.q, L.k, L.v, L.o, L.gate!, L.up, L.down]) {
            expect(lw.format).toBe('f32');
            expect(lw.tensors['W']!.shape).toEqual([lw.rows, lw.cols]);
            const m = res.masters.get(lw.name)!; // pruned masters for a quantizer: same shapes
            expect([m.rows, m.cols, m.W.length]).toEqual([lw.rows, lw.cols, lw.rows * lw.cols]);
            if (lw.bias) expect(m.bias!.length).toBe(lw.rows);
          }
          const removedHeads = (nHeads - dims.heads) * hd;
          const removedKv = (nKvHeads - dims.kvHeads) * hd;
          const removedInter = cfg.intermediateSize - dims.inter;
          expectBytes -= 4 * (2 * removedHeads * H + 2 * removedKv * H + 3 * removedInter * H);
          if (cfg.attentionBias) expectBytes -= 4 * (removedHeads + 2 * removedKv);
        });
        expect(gpu.pool.bytesByPurpose().weights).toBe(expectBytes);
        expect(expectBytes).toBeLessThan(denseBytes);
        expect(res.report.sparsity).toBeGreaterThan(0);
        const got = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 36 } });
        expect(got.ids).toEqual(want);
        expect(new Set(want).size, 'fixture output is not degenerate').toBeGreaterThan(5);
        // prefill logits over all positions (the matmul path with per-layer dims)
        const ids = gpu.pool.fromArray('ids', [prompt.length], new Uint32Array(prompt), 'activations');
        const logits = gpu.pool.alloc('logits', [prompt.length, cfg.vocabSize], 'f32', 'activations');
        const rec = new Recorder(gpu);
        model.forward(rec, ids, prompt.length, 0, logits, true);
        rec.submit();
        expectClose(await gpu.pool.readF32(logits), new RefModel(cfg, pruned, 64).forward(prompt, 0), 1e-4, 'logits');
        gpu.pool.release(ids);
        gpu.pool.release(logits);
        // switching back restores full-size layers and the dense bytes
        applyPruning(gpu, model, masters(weights), cfg, { ...c.spec, kind: 'none' });
        expect(gpu.pool.bytesByPurpose().weights).toBe(denseBytes);
        expect(model.layers.every((L) => L.q.rows === nHeads * hd && L.gate!.rows === cfg.intermediateSize)).toBe(true);
      } finally {
        model.destroy();
      }
    });
  }
});
