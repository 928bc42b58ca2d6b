// Speculative decoding on WebGPU (generateSpeculative, src/engine/dynamic.ts):
//   - temperature 0 equals the target alone (generateLoop, and the CPU reference's greedy ids) token for token,
//     over 3 prompts, γ ∈ {1, 2, 4}, with a separate draft (a noisy copy of the target: accepts about half) and
//     self-speculation with the target's first layer (k = 1); plus adaptive γ with an unrelated fixture draft of
//     the same vocabulary (rejects nearly everything), the noisy copy, and self-speculation with k = 2;
//   - rollback: after a run with rejections, the target's KV rows 0 … pos of every layer equal those of a run
//     that never drafted (the caches are poisoned with NaN first, so a row nobody rewrote shows), and the separate
//     draft's rows equal a fresh draft prefill of the committed tokens. Tolerance: norm-relative 1e-5 — the rows
//     come from batched (matmul) passes here and single-token (GEMV) passes there, same math, f32 rounding;
//   - a draft at another precision (LabEngine, src/engine/draft.ts): an int4 (and an int8) self-draft copy of an
//     int8 target, fixed and adaptive γ, gives the int8 target's own greedy ids; GPU bytes (every purpose) are back
//     to the same figure after toggling the int4 draft on and off 20 times;
//   - sampling: with the same seeds the GPU loop emits exactly what the CPU implementation speculativeCpu
//     emits (tests/unit/speculative.test.ts shows, over 3000 seeds, that its output follows the target's
//     distribution); a chi-square on the GPU's own 160 runs (significance 0.001) as a direct check.
import { describe, expect, it } from 'vitest';
import { type Draft, generateSpeculative } from '../../src/engine/dynamic';
import { LabEngine } from '../../src/engine/engine';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING, DEFAULT_TECHNIQUES, type TechniqueSettings } from '../../src/engine/types';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { parseConfig, type ModelConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { GpuModel } from '../../src/model/transformer';
import { type HostWeights, loadWeights } from '../../src/model/weights';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { mulberry32 } from '../../src/ref/random';
import { keptProbs, speculativeCpu } from '../../src/techniques/speculative';
import { makeLlamaFixture } from '../fixtures/llama';
import { expectClose, getGpu, poison } from './harness';

const MAX_SEQ = 64;
const greedy = (maxNewTokens: number) => ({ ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens });

async function fixture(opts: Parameters<typeof makeLlamaFixture>[0]): Promise<{ cfg: ModelConfig; weights: HostWeights }> {
  const f = makeLlamaFixture(opts);
  const cfg = parseConfig(f.configJson);
  const src = bytesSource('model.safetensors', f.safetensors);
  return { cfg, weights: await loadWeights(cfg, await readSafetensors(src), src) };
}

/** Every weight times (1 + N(0, std²)): a draft that agrees with the target often, not always. */
function noisy(w: HostWeights, std: number, seed: number): HostWeights {
  const r = mulberry32(seed);
  const f = (a: Float32Array) => a.map((v) => v * (1 + std * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())));
  const layers = w.layers.map((l) => ({ ...l, q: f(l.q), k: f(l.k), v: f(l.v), o: f(l.o), gate: l.gate && f(l.gate), up: f(l.up), down: f(l.down) }));
  return { ...w, layers, lmHead: f(w.lmHead) };
}

async function readRows(gpu: Gpu, m: GpuModel, rows: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const L of m.layers) for (const t of [L.kCache, L.vCache]) out.push((await gpu.pool.readF32(t)).slice(0, rows * m.kvDim));
  return out;
}

/** Rounds whose every proposal was accepted (from the per-token kinds and γ' per round). */
function fullRounds(r: { drafted?: string[]; gammas?: number[] }): number {
  let i = 1;
  let full = 0;
  for (const g of r.gammas!) {
    let a = 0;
    while (r.drafted![i + a] === 'accepted') a++;
    if (a === g && g > 0) full++;
    i += a + 1;
  }
  return full;
}

const label = (d: Draft) => ('selfLayers' in d ? `self k=${d.selfLayers}` : d.cfg.hiddenSize === 40 ? 'unrelated draft' : 'noisy copy');

describe('speculative decoding on the GPU', () => {
  it('temperature 0: equals the target alone, token for token (drafts × γ 1/2/4 × 3 prompts, adaptive)', async () => {
    const gpu = await getGpu();
    const t = await fixture({ seed: 61, nLayers: 3 });
    const d = await fixture({ seed: 161, nLayers: 1, hiddenSize: 40, intermediateSize: 50 });
    const target = new GpuModel(gpu, t.cfg, t.weights, MAX_SEQ);
    const unrelated = new GpuModel(gpu, d.cfg, d.weights, MAX_SEQ);
    const copy = new GpuModel(gpu, t.cfg, noisy(t.weights, 0.05, 3), MAX_SEQ);
    const nNew = 16;
    const runs: [Draft, { gamma: number; adaptive?: boolean }][] = [];
    for (const draft of [copy, { selfLayers: 1 }]) for (const gamma of [1, 2, 4]) runs.push([draft, { gamma }]);
    try {
      for (const [pi, prompt] of [[1, 5, 9, 2, 17], [40, 3], [8, 8, 8, 1, 2, 3, 4, 5, 6]].entries()) {
        const want = refGreedy(t.cfg, t.weights, prompt, nNew);
        expect((await generateLoop(gpu, target, prompt, { sampling: greedy(nNew) })).ids).toEqual(want);
        const extra: typeof runs = [[[unrelated, copy, { selfLayers: 2 }][pi]!, { gamma: 3, adaptive: true }]];
        const stats: string[] = [];
        for (const [draft, s] of [...runs, ...extra]) {
          const r = await generateSpeculative(gpu, target, draft, prompt, { sampling: greedy(nNew), ...s });
          const what = `${label(draft)} ${JSON.stringify(s)}`;
          expect(r.ids, `${what} prompt ${prompt}`).toEqual(want);
          expect(r.drafted!.length).toBe(nNew);
          expect(r.drafted![0]).toBe('corrected');
          const rounds = r.gammas!.length;
          expect(r.syncs).toBe(1 + rounds); // one readback per round
          expect(r.tokensPerTargetForward).toBeCloseTo((nNew - 1) / rounds, 12);
          stats.push(`${what}: acc ${r.acceptanceRate!.toFixed(2)}, ${r.tokensPerTargetForward!.toFixed(2)} tok/fwd`);
        }
        console.log(`prompt ${prompt}:\n  ${stats.join('\n  ')}`);
      }
    } finally {
      for (const m of [target, unrelated, copy]) m.destroy();
    }
  });

  // γ 1 with the noisy copy accepts fully in about half the rounds: the separate draft then lacks the last
  // proposal's K/V and catches up (a 2-token draft pass) at the next round, which the draft-cache check covers
  for (const [kind, gamma] of [['noisy copy', 1], ['noisy copy', 4], ['self k=1', 4]] as const) {
    it(`rollback (${kind}, γ ${gamma}): KV rows equal a run that never drafted; rejected rows were rewritten`, async () => {
      const gpu = await getGpu();
      const t = await fixture({ seed: 62, nLayers: 3 });
      const target = new GpuModel(gpu, t.cfg, t.weights, MAX_SEQ);
      const draftW = noisy(t.weights, 0.05, 4);
      const draft: Draft = kind === 'self k=1' ? { selfLayers: 1 } : new GpuModel(gpu, t.cfg, draftW, MAX_SEQ);
      const prompt = [11, 22, 33, 44, 55];
      const nNew = 30;
      try {
        const base = await generateLoop(gpu, target, prompt, { sampling: greedy(nNew) });
        const rows = prompt.length + nNew - 1; // every emitted token but the last has been run by the target
        const want = await readRows(gpu, target, rows);
        for (const m of draft instanceof GpuModel ? [target, draft] : [target]) for (const L of m.layers) for (const c of [L.kCache, L.vCache]) poison(gpu, c);
        const r = await generateSpeculative(gpu, target, draft, prompt, { sampling: greedy(nNew), gamma });
        expect(r.ids).toEqual(base.ids);
        const full = fullRounds(r);
        console.log(`${kind} γ ${gamma}: acceptance ${r.acceptanceRate!.toFixed(2)}, ${full} of ${r.gammas!.length} rounds fully accepted`);
        if (draft instanceof GpuModel && gamma === 1) expect(full).toBeGreaterThan(2);
        expect(r.acceptanceRate!).toBeGreaterThan(0); // some proposals kept (their verify rows stay) …
        expect(r.acceptanceRate!).toBeLessThan(0.9); // … and some rejected: their rows were rolled back
        expect(r.validRows.target).toBe(rows);
        const got = await readRows(gpu, target, rows);
        got.forEach((g, i) => expectClose(g, want[i]!, 1e-5, `target layer ${i >> 1} ${i & 1 ? 'V' : 'K'}`));
        if (draft instanceof GpuModel) {
          // the draft's cache: rows 0 … validRows.draft−1 equal a fresh prefill of the committed tokens
          const dRows = r.validRows.draft!;
          expect(dRows).toBeGreaterThanOrEqual(rows - 1);
          const dGot = await readRows(gpu, draft, dRows);
          const fresh = new GpuModel(gpu, t.cfg, draftW, MAX_SEQ);
          const seq = [...prompt, ...r.ids].slice(0, dRows);
          const ids = gpu.pool.fromArray('ids', [dRows], new Uint32Array(seq), 'activations');
          const logits = gpu.pool.alloc('logits', [t.cfg.vocabSize], 'f32', 'activations');
          const rec = new Recorder(gpu);
          fresh.forward(rec, ids, dRows, 0, logits);
          rec.submit();
          const dWant = await readRows(gpu, fresh, dRows);
          dGot.forEach((g, i) => expectClose(g, dWant[i]!, 1e-5, `draft layer ${i >> 1} ${i & 1 ? 'V' : 'K'}`));
          gpu.pool.release(ids);
          gpu.pool.release(logits);
          fresh.destroy();
        }
      } finally {
        target.destroy();
        if (draft instanceof GpuModel) draft.destroy();
      }
    });
  }

  it('draft at another precision: an int4 self-draft of an int8 target equals the int8 target alone; bytes return after 20 toggles', async () => {
    const f = makeLlamaFixture({ seed: 64, nLayers: 3, hiddenSize: 64, intermediateSize: 96 });
    const engine = new LabEngine();
    await engine.load({ kind: 'files', files: [new File([JSON.stringify(f.configJson)], 'config.json'), new File([f.safetensors], 'model.safetensors')] });
    const int8: TechniqueSettings = { ...DEFAULT_TECHNIQUES, quant: { precision: 'int8', groupSize: 32, lmHead: null } };
    const spec = (s: Partial<TechniqueSettings['speculative']>): TechniqueSettings => ({
      ...int8,
      speculative: { ...int8.speculative, enabled: true, draft: 'self', selfLayers: 2, gamma: 3, ...s },
    });
    try {
      await engine.configure(int8);
      const gpu = engine.internals().gpu!;
      await gpu.sync();
      const before = gpu.memory();
      const stats: string[] = [];
      for (const prompt of [[1, 5, 9, 2, 17], [40, 3]]) {
        const req = { prompt, sampling: greedy(20) };
        await engine.configure(int8);
        const alone = (await engine.generate(req, () => {})).outputIds;
        for (const s of [{ draftPrecision: 'int4' as const }, { draftPrecision: 'int4' as const, adaptive: true, gamma: 2 }, { draftPrecision: 'int8' as const, gamma: 4 }]) {
          const on = spec(s);
          await engine.configure(on);
          const copy = gpu.memory();
          expect(copy.weights, 'the draft copy has its own packed weights').toBeGreaterThan(before.weights);
          expect(copy.kv, 'and its own KV cache for its k layers').toBeGreaterThan(before.kv);
          const r = await engine.generate(req, () => {});
          expect(r.outputIds, `${JSON.stringify(s)} prompt ${prompt}`).toEqual(alone);
          const m = r.metrics.speculative!;
          expect(m.gamma_mean).toBeGreaterThan(0);
          expect(m.gamma_mean).toBeLessThanOrEqual(s.adaptive ? 2 * on.speculative.gamma : on.speculative.gamma);
          stats.push(`${JSON.stringify(s)} prompt ${prompt}: acc ${m.acceptance_rate.toFixed(2)}, γ̄ ${m.gamma_mean.toFixed(2)}, bytes/token ${r.metrics.bytes_per_token}`);
        }
      }
      console.log(stats.join('\n'));
      for (let i = 0; i < 20; i++) await engine.configure(i % 2 ? int8 : spec({ draftPrecision: 'int4' }));
      await gpu.sync();
      expect(gpu.memory()).toEqual(before);
    } finally {
      await engine.reset();
    }
  });

  it('stops like the target alone: at a stop id inside a round (eos), and at the context limit', async () => {
    const gpu = await getGpu();
    const t = await fixture({ seed: 63, nLayers: 2 });
    const target = new GpuModel(gpu, t.cfg, t.weights, 16); // 16 positions: a 5-token prompt leaves 11
    const copy = new GpuModel(gpu, t.cfg, noisy(t.weights, 0.05, 5), 16);
    const prompt = [3, 30, 13, 31, 1];
    try {
      const all = await generateLoop(gpu, target, prompt, { sampling: greedy(40) });
      expect(all.stoppedBy).toBe('context');
      expect(all.ids.length).toBe(11);
      const stopIds = [all.ids[6]!];
      const cut = await generateLoop(gpu, target, prompt, { sampling: greedy(40), stopIds });
      for (const draft of [copy, { selfLayers: 1 }] as Draft[]) {
        for (const gamma of [2, 4]) {
          const r = await generateSpeculative(gpu, target, draft, prompt, { sampling: greedy(40), gamma });
          expect(r.ids).toEqual(all.ids);
          expect(r.stoppedBy).toBe('context');
          const e = await generateSpeculative(gpu, target, draft, prompt, { sampling: greedy(40), gamma, stopIds });
          expect(e.ids).toEqual(cut.ids);
          expect(e.stoppedBy).toBe('eos');
          expect(e.drafted!.length).toBe(e.ids.length);
        }
      }
    } finally {
      target.destroy();
      copy.destroy();
    }
  });

  it('sampling: the same ids as the CPU implementation for the same seeds; chi-square on the GPU runs', async () => {
    const gpu = await getGpu();
    const small = { vocabSize: 8, hiddenSize: 16, nHeads: 2, nKvHeads: 1, intermediateSize: 22 };
    const t = await fixture({ seed: 71, nLayers: 2, ...small });
    const d = await fixture({ seed: 72, nLayers: 1, ...small });
    const target = new GpuModel(gpu, t.cfg, t.weights, MAX_SEQ);
    const draft = new GpuModel(gpu, d.cfg, d.weights, MAX_SEQ);
    const refT = new RefModel(t.cfg, t.weights, MAX_SEQ);
    const refD = new RefModel(d.cfg, d.weights, MAX_SEQ);
    const prompt = [1, 6, 3, 0];
    const opts = { temperature: 1.5, topK: 0, topP: 1 };
    try {
      for (const [dk, s] of [['draft', { gamma: 2 }], [1, { gamma: 3 }], ['draft', { gamma: 1, adaptive: true }]] as const) {
        let same = 0;
        const N = dk === 'draft' && s.gamma === 2 ? 160 : 20;
        const counts = new Map<number, number>();
        for (let seed = 1; seed <= N; seed++) {
          const sampling = { ...opts, seed, maxNewTokens: dk === 'draft' && s.gamma === 2 ? 2 : 6 };
          const r = await generateSpeculative(gpu, target, dk === 'draft' ? draft : { selfLayers: dk }, prompt, { sampling, ...s });
          refT.reset();
          refD.reset();
          const c = speculativeCpu(refT, dk === 'draft' ? refD : { selfLayers: dk }, prompt, sampling, s);
          if (r.ids.join() === c.ids.join()) same++;
          else console.log(`seed ${seed}: GPU ${r.ids} vs CPU ${c.ids}`);
          counts.set(r.ids[1]!, (counts.get(r.ids[1]!) ?? 0) + 1);
        }
        console.log(`sampling ${dk === 'draft' ? 'draft' : `self k=${dk}`} ${JSON.stringify(s)}: ${same}/${N} runs identical to the CPU implementation`);
        expect(same).toBe(N);
        if (N < 100) continue;
        // the second generated token's marginal under the target: Σ_a p1(a) p2(· | a)
        refT.reset();
        const V = 8;
        const p1 = keptProbs(refT.forward(prompt, 0).subarray((prompt.length - 1) * V), opts);
        const p2 = new Float64Array(V);
        for (let a = 0; a < V; a++) keptProbs(refT.forward([a], prompt.length), opts).forEach((p, b) => (p2[b]! += p1[a]! * p));
        let chi = 0;
        let cells = 0;
        let poolE = 0;
        let poolO = 0;
        for (let b = 0; b < V; b++) {
          const e = p2[b]! * N;
          const o = counts.get(b) ?? 0;
          if (e < 5) {
            poolE += e;
            poolO += o;
          } else {
            chi += (o - e) ** 2 / e;
            cells++;
          }
        }
        if (poolE > 0) chi += (poolO - poolE) ** 2 / poolE;
        const df = cells + (poolE > 0 ? 1 : 0) - 1;
        // 0.001 critical values of chi-square for df 1 … 7
        const crit = [10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32][df - 1]!;
        console.log(`GPU second-token marginal: chi2 ${chi.toFixed(2)}, df ${df}, critical value at 0.001: ${crit}`);
        expect(chi).toBeLessThan(crit);
      }
    } finally {
      target.destroy();
      draft.destroy();
    }
  });
});
