// Golden end-to-end: a small deterministic random-weight Llama decodes greedily on WebGPU to exactly the token
// ids of the float64 CPU reference forward (src/ref/forward.ts), through the prefill path (a multi-token
// prompt in one pass) and the decode path (>= 32 new tokens, one encoder per token).
import { describe, expect, it } from 'vitest';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { Recorder } from '../../src/gpu/recorder';
import { GpuModel } from '../../src/model/transformer';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { loadFixture } from '../fixtures/llama';
import { expectClose, getGpu } from './harness';

const CASES = [
  { label: 'GQA, untied head', opts: { seed: 11, tie: false } },
  { label: 'GQA, tied head', opts: { seed: 12, tie: true } },
  { label: 'MHA, 3 layers', opts: { seed: 13, nLayers: 3, nKvHeads: 4 } },
  { label: 'Qwen2 q/k/v biases', opts: { seed: 14, qwen2: true } },
] as const;

const fixture = loadFixture;

describe('golden: GPU greedy decode equals the CPU reference forward', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await fixture(c.opts);
      const prompt = [1, 5, 9, 2, 17, 3, 30];
      const want = refGreedy(cfg, weights, prompt, 36);
      const model = new GpuModel(gpu, cfg, weights, 64);
      try {
        const got = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 36 } });
        expect(got.ids).toEqual(want);
        expect(new Set(want).size, 'fixture output is not degenerate').toBeGreaterThan(5);
      } finally {
        model.destroy();
      }
    });
  }

  it('prefill logits (all positions) match the reference within 1e-4', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture({ seed: 21 });
    const prompt = [4, 8, 15, 16, 23];
    const ref = new RefModel(cfg, weights, 64).forward(prompt, 0);
    const model = new GpuModel(gpu, cfg, weights, 64);
    const ids = gpu.pool.fromArray('ids', [prompt.length], new Uint32Array(prompt), 'activations');
    const logits = gpu.pool.alloc('logits', [prompt.length, cfg.vocabSize], 'f32', 'activations');
    try {
      const rec = new Recorder(gpu);
      model.forward(rec, ids, prompt.length, 0, logits, true);
      rec.submit();
      expectClose(await gpu.pool.readF32(logits), ref, 1e-4, 'logits');
    } finally {
      gpu.pool.release(ids);
      gpu.pool.release(logits);
      model.destroy();
    }
  });
});
