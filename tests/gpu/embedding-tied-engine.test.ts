// A tied-embedding model through the engine: at f16 / int8 / int4 (alone and after pruning) the embedding table is
// packed (f16 / q8) and the tied head is a view over it, the GPU weight bytes equal the memory plan, and the dense
// setting restores the f32 table, the original bytes and the original greedy ids (the applyTechniques dense path).
import { expect, it } from 'vitest';
import { LabEngine } from '../../src/engine/engine';
import { DEFAULT_SAMPLING, DEFAULT_TECHNIQUES, type TechniqueSettings } from '../../src/engine/types';
import { makeLlamaFixture } from '../fixtures/llama';

it('tied: f16/int8/int4 (pruned too) and back to dense restore the f32 table, bytes and ids', async () => {
  const engine = new LabEngine();
  const f = makeLlamaFixture({ seed: 33, tie: true });
  await engine.load({ kind: 'files', files: [new File([JSON.stringify(f.configJson)], 'config.json'), new File([f.safetensors], 'model.safetensors')] });
  const req = { prompt: [5, 6, 7, 8], sampling: { ...DEFAULT_SAMPLING, maxNewTokens: 12 } };
  const dense = await engine.generate(req, () => {});
  const denseBytes = (await engine.stats()).gpuBytes.weights;
  const model = engine.internals().model!;
  for (const precision of ['f16', 'int8', 'int4'] as const) {
    for (const kind of ['none', 'unstructured'] as const) {
      const s: TechniqueSettings = { ...DEFAULT_TECHNIQUES, quant: { precision, groupSize: 32, lmHead: null }, prune: { ...DEFAULT_TECHNIQUES.prune, kind, sparsity: 0.5 } };
      await engine.configure(s);
      expect(model.embed.format).toBe(precision === 'f16' ? 'f16' : 'q8');
      expect(model.headSharesEmbedding()).toBe(true);
      expect((await engine.generate(req, () => {})).outputIds.length).toBe(12);
      const st = await engine.stats();
      if (kind === 'none') expect(st.gpuBytes.weights, `${precision}: pool = plan`).toBe(st.memory!.estimate!.weights.total);
      await engine.configure(DEFAULT_TECHNIQUES);
      expect(model.embed.format).toBe('f32');
      expect(model.headSharesEmbedding()).toBe(true);
      expect((await engine.stats()).gpuBytes.weights).toBe(denseBytes);
      expect((await engine.generate(req, () => {})).outputIds).toEqual(dense.outputIds);
    }
  }
  await engine.reset();
});
