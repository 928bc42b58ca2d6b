// The embedded models on the lab's WebGPU path against what PyTorch exported (models/<name>/reference.json):
// logits of the first positions within 1e-4 relative, the 32 greedy ids exactly, and held-out perplexity on the
// first 1024 ids (tools/train/heldout_subset.py, same windowing) within 0.1% relative.
import { describe, expect, it } from 'vitest';
import { LabEngine } from '../../src/engine/engine';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { Recorder } from '../../src/gpu/recorder';
import { expectClose } from './harness';

interface Reference {
  prompt_ids: number[];
  logits: number[][];
  greedy_ids: number[];
  heldout_subset: { ids: number[] | number; nll_per_token: number };
}

async function heldoutIds(n: number): Promise<number[]> {
  const buf = await (await fetch('/models/heldout.ids.bin')).arrayBuffer();
  return Array.from(new Uint16Array(buf).slice(0, n));
}

for (const name of ['lab-target', 'lab-draft']) {
  describe(`embedded ${name} matches PyTorch`, () => {
    it('logits, greedy ids and held-out perplexity', async () => {
      const ref = (await (await fetch(`/models/${name}/reference.json`)).json()) as Reference;
      const engine = new LabEngine();
      const info = await engine.load({ kind: 'url', baseUrl: `/models/${name}` });
      expect(info.hasTokenizer).toBe(true);
      const { gpu, model } = engine.internals();
      // logits of the first positions
      const P = ref.logits.length;
      const vocab = info.vocabSize;
      const ids = gpu!.pool.fromArray('ids', [ref.prompt_ids.length], new Uint32Array(ref.prompt_ids), 'activations');
      const logits = gpu!.pool.alloc('logits', [ref.prompt_ids.length, vocab], 'f32', 'activations');
      const rec = new Recorder(gpu!);
      model!.forward(rec, ids, ref.prompt_ids.length, 0, logits, true);
      rec.submit();
      const got = (await gpu!.pool.readF32(logits)).slice(0, P * vocab);
      expectClose(got, ref.logits.flat(), 1e-4, 'logits');
      gpu!.pool.release(ids);
      gpu!.pool.release(logits);
      // greedy continuation
      const r = await engine.generate({ prompt: ref.prompt_ids, sampling: { ...DEFAULT_SAMPLING, maxNewTokens: ref.greedy_ids.length } }, () => {});
      expect(r.outputIds).toEqual(ref.greedy_ids.slice(0, r.outputIds.length));
      // held-out perplexity on the same first ids
      const n = typeof ref.heldout_subset.ids === 'number' ? ref.heldout_subset.ids : ref.heldout_subset.ids.length;
      const q = await engine.evaluate({ ids: await heldoutIds(n), maxTokens: n });
      expect(Math.abs(q.nll - ref.heldout_subset.nll_per_token) / ref.heldout_subset.nll_per_token).toBeLessThan(1e-3);
      await engine.reset();
    });
  });
}
