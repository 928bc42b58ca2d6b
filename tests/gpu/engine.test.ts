// The real LabEngine (what the worker runs) in the page: load from picked files, generate, evaluate.
import { describe, expect, it } from 'vitest';
import { LabEngine } from '../../src/engine/engine';
import { DEFAULT_SAMPLING, DEFAULT_TECHNIQUES, type TechniqueSettings } from '../../src/engine/types';
import { parseConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { loadWeights } from '../../src/model/weights';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { makeLlamaFixture } from '../fixtures/llama';

function fixtureFiles(seed: number) {
  const f = makeLlamaFixture({ seed });
  return {
    f,
    files: [new File([JSON.stringify(f.configJson)], 'config.json'), new File([f.safetensors], 'model.safetensors')],
  };
}

/** CPU reference NLL of forced decoding in one window. */
async function refNll(f: ReturnType<typeof makeLlamaFixture>, ids: number[]): Promise<number> {
  const cfg = parseConfig(f.configJson);
  const src = bytesSource('model.safetensors', f.safetensors);
  const w = await loadWeights(cfg, await readSafetensors(src), src);
  const logits = new RefModel(cfg, w, 128).forward(ids, 0);
  let nll = 0;
  for (let i = 0; i + 1 < ids.length; i++) {
    const row = logits.subarray(i * cfg.vocabSize, (i + 1) * cfg.vocabSize);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    nll += lse - row[ids[i + 1]!]!;
  }
  return nll / (ids.length - 1);
}

describe('LabEngine in the page', () => {
  it('loads picked files, generates greedily like the reference, reports metrics, evaluates perplexity', async () => {
    const engine = new LabEngine();
    const { f, files } = fixtureFiles(31);
    const info = await engine.load({ kind: 'files', files, name: 'fixture' });
    expect(info.parameters).toBeGreaterThan(0);
    expect(info.hasTokenizer).toBe(false);
    const prompt = [3, 1, 4, 1, 5, 9, 2, 6];
    const seen: number[] = [];
    const r = await engine.generate({ prompt, sampling: { ...DEFAULT_SAMPLING, maxNewTokens: 20 } }, (ev) => seen.push(ev.id));
    const cfg = parseConfig(f.configJson);
    const src = bytesSource('model.safetensors', f.safetensors);
    const w = await loadWeights(cfg, await readSafetensors(src), src);
    expect(r.outputIds).toEqual(refGreedy(cfg, w, prompt, 20));
    expect(seen).toEqual(r.outputIds);
    const m = r.metrics;
    expect(m.ttft_ms).toBeGreaterThan(0);
    expect(m.decode_tok_s).toBeGreaterThan(0);
    expect(m.ms_per_token_p95).toBeGreaterThanOrEqual(m.ms_per_token_p50);
    expect(m.gpu_bytes.weights).toBeGreaterThan(0);
    expect(m.gpu_bytes.kv).toBeGreaterThan(0);
    expect(m.bytes_per_token).toBeGreaterThan(m.gpu_bytes.weights * 0.9);
    expect(m.achieved_gbps).toBeGreaterThan(0);
    expect(['bandwidth', 'dispatch', 'latency']).toContain(m.bound);

    const ids = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % cfg.vocabSize);
    const q = await engine.evaluate({ ids });
    expect(q.tokens).toBe(39);
    expect(Math.abs(q.nll - (await refNll(f, ids))) / q.nll).toBeLessThan(1e-5);
    expect(q.top1_agreement).toBeNull(); // the dense model is the reference
    await engine.reset();
    expect((await engine.stats()).gpuBytes.weights).toBe(0);
  });

  it('rejects bad prompts with typed errors and stays usable', async () => {
    const engine = new LabEngine();
    await engine.load({ kind: 'files', files: fixtureFiles(32).files });
    const s = { ...DEFAULT_SAMPLING, maxNewTokens: 4 };
    await expect(engine.generate({ prompt: [], sampling: s }, () => {})).rejects.toThrow(/empty/);
    await expect(engine.generate({ prompt: [100000], sampling: s }, () => {})).rejects.toThrow(/outside the vocabulary/);
    await expect(engine.generate({ prompt: 'hello', sampling: s }, () => {})).rejects.toThrow(/no tokenizer/);
    await expect(engine.generate({ prompt: Array(200).fill(1), sampling: s }, () => {})).rejects.toThrow(/context/);
    await expect(engine.generate({ prompt: [1], sampling: { ...s, topP: 0 } }, () => {})).rejects.toThrow(/topP/);
    const ok = await engine.generate({ prompt: [1, 2], sampling: s }, () => {});
    expect(ok.outputIds.length).toBe(4);
    await engine.reset();
  });

  it('switches techniques live from the master copy: pruned output differs, dense again equals the original, bytes return', async () => {
    const engine = new LabEngine();
    await engine.load({ kind: 'files', files: fixtureFiles(33).files });
    const req = { prompt: [5, 6, 7, 8], sampling: { ...DEFAULT_SAMPLING, maxNewTokens: 12 } };
    const dense = await engine.generate(req, () => {});
    const denseBytes = (await engine.stats()).gpuBytes.weights;
    const pruned: TechniqueSettings = { ...DEFAULT_TECHNIQUES, prune: { ...DEFAULT_TECHNIQUES.prune, kind: 'unstructured', sparsity: 0.9 } };
    for (let i = 0; i < 3; i++) {
      const r = await engine.configure(pruned);
      expect(r.weightBytes).toBeLessThan(denseBytes);
      expect(r.notes.join(' ')).toMatch(/kernel/);
      const p = await engine.generate(req, () => {});
      expect(p.outputIds).not.toEqual(dense.outputIds);
      const q = await engine.evaluate({ ids: Array.from({ length: 30 }, (_, j) => (j * 5 + 1) % 97) });
      expect(q.top1_agreement).toBeGreaterThanOrEqual(0);
      expect(q.kl).toBeGreaterThan(0);
      await engine.configure(DEFAULT_TECHNIQUES);
      expect((await engine.stats()).gpuBytes.weights).toBe(denseBytes);
      expect((await engine.generate(req, () => {})).outputIds).toEqual(dense.outputIds);
    }
    await engine.configure({ ...DEFAULT_TECHNIQUES, prune: { ...DEFAULT_TECHNIQUES.prune, kind: 'structured', sparsity: 0.5 } });
    expect((await engine.generate(req, () => {})).outputIds.length).toBe(12);
    // quantization, alone and after pruning (prune, then quantize), and back
    const int4: TechniqueSettings = { ...DEFAULT_TECHNIQUES, quant: { precision: 'int4', groupSize: 32, lmHead: null } };
    const r4 = await engine.configure(int4);
    expect(r4.weightBytes).toBeLessThan(denseBytes * 0.3);
    expect(Object.keys(r4.bytesByFormat)).toContain('q4');
    const q = await engine.evaluate({ ids: Array.from({ length: 30 }, (_, j) => (j * 5 + 1) % 97) });
    expect(q.top1_agreement).toBeGreaterThan(0.5);
    for (const kind of ['unstructured', '2:4', 'structured'] as const) {
      await engine.configure({ ...int4, prune: { ...DEFAULT_TECHNIQUES.prune, kind, sparsity: 0.5 } });
      expect((await engine.generate(req, () => {})).outputIds.length).toBe(12);
    }
    await engine.configure(DEFAULT_TECHNIQUES);
    expect((await engine.stats()).gpuBytes.weights).toBe(denseBytes);
    expect((await engine.generate(req, () => {})).outputIds).toEqual(dense.outputIds);
    await engine.reset();
  });

  it('recovers from a device loss mid-generation: typed error, then the same output from a new device', async () => {
    const engine = new LabEngine();
    await engine.load({ kind: 'files', files: fixtureFiles(34).files });
    const req = { prompt: [2, 4, 6], sampling: { ...DEFAULT_SAMPLING, maxNewTokens: 40 } };
    const before = await engine.generate(req, () => {});
    const lostAt = engine.generate(req, (ev) => {
      if (ev.index === 5) engine.internals().gpu!.device.destroy();
    });
    await expect(lostAt).rejects.toMatchObject({ name: 'DeviceLostError' });
    const after = await engine.generate(req, () => {});
    expect(after.outputIds).toEqual(before.outputIds);
    expect(engine.recoveries.length).toBe(1);
    await engine.reset();
  });

  it('early exit and speculative decoding run through the engine, lossless where promised, with per-token provenance', async () => {
    const engine = new LabEngine();
    await engine.load({ kind: 'files', files: fixtureFiles(35).files });
    const req = { prompt: [7, 3, 9], sampling: { ...DEFAULT_SAMPLING, maxNewTokens: 16 } };
    const dense = await engine.generate(req, () => {});
    await engine.configure({ ...DEFAULT_TECHNIQUES, earlyExit: { enabled: true, threshold: 1.01, minLayer: 1, criterion: 'maxprob' } });
    const layers: (number | undefined)[] = [];
    const ee = await engine.generate(req, (ev) => layers.push(ev.exitLayer));
    expect(ee.outputIds).toEqual(dense.outputIds); // a threshold that never triggers equals the full model
    expect(layers.every((l) => l === 2)).toBe(true);
    expect(ee.metrics.early_exit?.avg_layers).toBe(2);
    await engine.configure({ ...DEFAULT_TECHNIQUES, speculative: { enabled: true, draft: 'self', gamma: 3, selfLayers: 1 } });
    const kinds: (string | undefined)[] = [];
    const sp = await engine.generate(req, (ev) => kinds.push(ev.drafted));
    expect(sp.outputIds).toEqual(dense.outputIds); // greedy speculative decoding is exactly lossless
    expect(kinds.every((k) => k === 'accepted' || k === 'corrected')).toBe(true);
    expect(sp.metrics.speculative?.tokens_per_target_forward).toBeGreaterThanOrEqual(1);
    await expect(engine.configure({ ...DEFAULT_TECHNIQUES, speculative: { enabled: true, draft: 'model', gamma: 3, selfLayers: 1 } })).rejects.toMatchObject({ name: 'TechniqueError' });
    await engine.reset();
  });
});
