// Golden end-to-end per architecture: tiny deterministic random GPT-2 (layernorm, learned positions, gelu, Conv1D
// weights, tied head), Qwen2 with a tied head (q/k/v biases) and Llama-3 RoPE scaling decode greedily on WebGPU to
// exactly the token ids of the float64 CPU reference (src/ref/forward.ts): the prefill path (the prompt in one
// pass) and the decode path (one token per encoder). Logits are also compared directly, for every prompt position
// (prefill) and for decode steps at later positions, within 1e-4 norm-relative (f32 kernels vs float64).
// Techniques on GPT-2 (no gate; o/up/down biases): structured pruning shrinks up rows with their biases and down
// columns, and the GPU run equals the reference on the masked full-size weights.
import { describe, expect, it } from 'vitest';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import type { ModelConfig } from '../../src/model/config';
import { GpuModel } from '../../src/model/transformer';
import type { HostWeights } from '../../src/model/weights';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { masterCopy } from '../../src/engine/techniques';
import { pruneHost, type PruneSpec } from '../../src/techniques/prune';
import { applyPruning } from '../../src/techniques/sparse-formats';
import { loadGpt2Fixture } from '../fixtures/gpt2';
import { loadFixture } from '../fixtures/llama';
import { expectClose, getGpu } from './harness';

type Loaded = { cfg: ModelConfig; weights: HostWeights };
const CASES: { label: string; load: () => Promise<Loaded> }[] = [
  { label: 'GPT-2 (tied, n_inner 98)', load: () => loadGpt2Fixture({ seed: 3 }) },
  { label: 'GPT-2 (untied, 3 layers, n_inner null, bare GPT2Model names)', load: () => loadGpt2Fixture({ seed: 8, tie: false, nLayers: 3, nInner: null, hiddenSize: 36, prefix: '' }) },
  { label: 'Qwen2 (tied head, q/k/v biases)', load: () => loadFixture({ seed: 202, qwen2: true, tie: true }) },
  { label: 'Llama-3 rope scaling', load: () => loadFixture({ seed: 102, llama3Rope: true }) },
];
const PROMPT = [1, 5, 9, 2, 17, 3, 30];
const NEW = 30;

async function withModel(gpu: Gpu, l: Loaded, f: (m: GpuModel) => Promise<void>): Promise<void> {
  const model = new GpuModel(gpu, l.cfg, l.weights, 64);
  try {
    await f(model);
  } finally {
    model.destroy();
  }
}

describe('arch golden: GPU equals the CPU reference for GPT-2, Qwen2 (tied) and Llama-3 rope scaling', () => {
  for (const c of CASES) {
    it(`${c.label}: greedy ids (prefill + ${NEW - 1} decode steps)`, async () => {
      const gpu = await getGpu();
      const l = await c.load();
      const want = refGreedy(l.cfg, l.weights, PROMPT, NEW);
      expect(new Set(want).size, 'fixture output is not degenerate').toBeGreaterThan(10);
      await withModel(gpu, l, async (model) => {
        const got = await generateLoop(gpu, model, PROMPT, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: NEW } });
        expect(got.ids).toEqual(want);
      });
    });

    it(`${c.label}: prefill logits (every position) and decode logits at later positions within 1e-4`, async () => {
      const gpu = await getGpu();
      const l = await c.load();
      const V = l.cfg.vocabSize;
      const ref = new RefModel(l.cfg, l.weights, 64);
      const want = ref.forward(PROMPT, 0);
      await withModel(gpu, l, async (model) => {
        const ids = gpu.pool.fromArray('ids', [PROMPT.length], new Uint32Array(PROMPT), 'activations');
        const logits = gpu.pool.alloc('logits', [PROMPT.length, V], 'f32', 'activations');
        const one = gpu.pool.alloc('one', [1], 'u32', 'activations');
        try {
          const rec = new Recorder(gpu);
          model.forward(rec, ids, PROMPT.length, 0, logits, true);
          rec.submit();
          expectClose(await gpu.pool.readF32(logits), want, 1e-4, 'prefill logits');
          // decode: tokens fed one at a time at positions 7, 8, … (learned positions / rope at each)
          for (const [i, id] of [40, 2, 77, 13, 6].entries()) {
            const pos = PROMPT.length + i;
            gpu.pool.write(one, new Uint32Array([id]));
            const r = new Recorder(gpu);
            model.forward(r, one, 1, pos, logits);
            r.submit();
            const got = (await gpu.pool.readF32(logits)).subarray(0, V);
            expectClose(got, ref.forward([id], pos), 1e-4, `decode logits at position ${pos}`);
          }
        } finally {
          for (const t of [ids, logits, one]) gpu.pool.release(t);
        }
      });
    });
  }

  it('GPT-2 with structured pruning (heads and gelu neurons, biases carried): GPU ids equal the masked reference', async () => {
    const gpu = await getGpu();
    const l = await loadGpt2Fixture({ seed: 3 });
    const spec: PruneSpec = { kind: 'structured', sparsity: 0.5, scope: 'layer', targets: { attention: true, ffn: true } };
    const pruned = pruneHost(l.weights, l.cfg, spec).weights;
    const want = refGreedy(l.cfg, pruned, PROMPT, 24);
    await withModel(gpu, l, async (model) => {
      const res = applyPruning(gpu, model, masterCopy(l.weights), l.cfg, spec);
      expect(model.layers.every((L) => L.gate === null && L.up.rows === res.report.layers[0]!.inter && L.up.bias!.shape[0] === L.up.rows)).toBe(true);
      expect(model.layers.every((L) => L.o.bias !== null && L.down.bias !== null)).toBe(true);
      const got = await generateLoop(gpu, model, PROMPT, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 24 } });
      expect(got.ids).toEqual(want);
    });
  });
});
