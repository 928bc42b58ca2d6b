// Measurement, not a test of speed (no timing assertions): speculative decoding on the embedded target
// (models/lab-target) at temperature 0, self-draft k ∈ {1, 2} (the target's first k layers + its shared head)
// and the embedded draft models/lab-draft when its model.safetensors exists, γ ∈ {2, 4, 6} and adaptive γ.
// Runs only with VITE_LAB_BENCH=1 (minutes on SwiftShader):
//   VITE_LAB_BENCH=1 npx vitest run --project gpu tests/gpu/speculative-bench.test.ts
// Each configuration runs right after the target alone (generateLoop) on the same prompt, so the speed-up is a
// ratio taken under the same machine load; the median over the prompts is printed, with the acceptance rate,
// tokens per target forward, and whether the output equalled the target's (it must: temperature 0 is lossless).
// A second case times one draft step (k = 2 layers + head) for the shared self-draft (f32) and for the packed
// int8 / int4 self-draft copies (src/engine/draft.ts), relative to one full target step:
//   VITE_LAB_BENCH=1 npx vitest run --project gpu tests/gpu/speculative-bench.test.ts -t 'draft step'
import { describe, expect, it } from 'vitest';
import { type Draft, generateSpeculative } from '../../src/engine/dynamic';
import { buildSelfDraft } from '../../src/engine/draft';
import { LabEngine } from '../../src/engine/engine';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { Recorder } from '../../src/gpu/recorder';
import { loadModel } from '../../src/model/source';
import { GpuModel } from '../../src/model/transformer';

import { BASE, median, msPerToken, NEW, present, prompts, RUN_BENCH as RUN } from './bench-common';

describe.skipIf(!RUN)('speculative decoding on lab-target (measurement; VITE_LAB_BENCH=1)', () => {
  it('speed-up and acceptance, temperature 0', async () => {
    if (!(await present(`${BASE}/model.safetensors`))) return console.log('skipped: models/lab-target/model.safetensors is missing');
    const engine = new LabEngine();
    await engine.load({ kind: 'url', baseUrl: BASE });
    const { gpu, model } = engine.internals();
    if (!gpu || !model) throw new Error('no model');
    const ps = await prompts();
    const sampling = { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: NEW };
    let labDraft: GpuModel | null = null;
    if (await present('/models/lab-draft/model.safetensors')) {
      const d = await loadModel({ kind: 'url', baseUrl: '/models/lab-draft' });
      labDraft = new GpuModel(gpu, d.config, d.weights, model.maxSeq);
    }
    const out = [`adapter: ${gpu.probe.description || gpu.probe.vendor} (fallback ${gpu.probe.isFallback}); ${NEW} new tokens × ${ps.length} prompts; medians over prompts`];
    if (!labDraft) out.push('lab-draft: skipped (models/lab-draft/model.safetensors is missing: the draft may still be training)');
    // What a round costs: one target forward of n tokens (the verify pass: GEMVs at n = 1, matmuls above) and one
    // draft step (k layers + head), each encode + submit + wait; the minimum of 12 after 3 warm-ups (the machine is
    // shared: the minimum is the least disturbed run).
    const ids = gpu.pool.fromArray('bench_ids', [8], new Uint32Array([5, 6, 7, 8, 9, 10, 11, 12]), 'activations');
    const logits = gpu.pool.alloc('bench_logits', [8, model.cfg.vocabSize], 'f32', 'activations');
    const timeFwd = async (n: number, layers: number) => {
      const ts: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        const rec = new Recorder(gpu);
        model.forward(rec, ids, n, 20, logits, n > 1, layers);
        rec.submit();
        await gpu.sync();
        if (i >= 3) ts.push(performance.now() - t0);
      }
      return Math.min(...ts);
    };
    const L = model.layers.length;
    const one = await timeFwd(1, L);
    const costs = [`forward of n tokens ÷ forward of 1 (${one.toFixed(2)} ms):`];
    for (const n of [3, 5, 7]) costs.push(`n=${n} ×${((await timeFwd(n, L)) / one).toFixed(2)}`);
    for (const k of [1, 2]) costs.push(`draft step k=${k} ×${((await timeFwd(1, k)) / one).toFixed(2)}`);
    out.push(costs.join('  '));
    gpu.pool.release(ids);
    gpu.pool.release(logits);
    model.releasePrefillActs();
    const configs: [string, Draft, { gamma: number; adaptive?: boolean }][] = [];
    for (const k of [1, 2]) for (const gamma of [2, 4, 6]) configs.push([`self k=${k}`, { selfLayers: k }, { gamma }]);
    configs.push(['self k=2', { selfLayers: 2 }, { gamma: 2, adaptive: true }]);
    if (labDraft) for (const gamma of [2, 4, 6]) configs.push(['lab-draft', labDraft, { gamma }]);
    if (labDraft) configs.push(['lab-draft', labDraft, { gamma: 2, adaptive: true }]);
    let baseMs: number[] = [];
    for (const [name, draft, s] of configs) {
      const ratios: number[] = [];
      const ms: number[] = [];
      let acc = 0;
      let tpf = 0;
      let lossless = 0;
      baseMs = [];
      for (const p of ps) {
        const base = await generateLoop(gpu, model, p, { sampling });
        const r = await generateSpeculative(gpu, model, draft, p, { sampling, ...s });
        baseMs.push(msPerToken(base));
        ms.push(msPerToken(r));
        ratios.push(msPerToken(base) / msPerToken(r));
        acc += r.acceptanceRate! / ps.length;
        tpf += r.tokensPerTargetForward! / ps.length;
        if (r.ids.join() === base.ids.join()) lossless++;
      }
      const label = `${name}, γ ${s.gamma}${s.adaptive ? ' adaptive' : ''}`;
      out.push(
        `${label.padEnd(26)} ${median(ms).toFixed(2).padStart(7)} ms/tok (target alone ${median(baseMs).toFixed(2)})  speed-up ×${median(ratios).toFixed(2)}  ` +
          `acceptance ${(100 * acc).toFixed(1)}%  tokens/target forward ${tpf.toFixed(2)}  output = target's: ${lossless}/${ps.length}`,
      );
    }
    console.log(out.join('\n'));
    expect(configs.length).toBeGreaterThan(0);
    labDraft?.destroy();
    await engine.reset();
  }, 900_000);

  it('draft step cost by precision (self-draft k = 2: shared f32 layers, int8 and int4 copies)', async () => {
    if (!(await present(`${BASE}/model.safetensors`))) return console.log('skipped: models/lab-target/model.safetensors is missing');
    const engine = new LabEngine();
    await engine.load({ kind: 'url', baseUrl: BASE });
    const { gpu, model } = engine.internals();
    if (!gpu || !model) throw new Error('no model');
    const host = await loadModel({ kind: 'url', baseUrl: BASE });
    const ids = gpu.pool.fromArray('bench_ids', [1], new Uint32Array([5]), 'activations');
    const logits = gpu.pool.alloc('bench_logits', [1, model.cfg.vocabSize], 'f32', 'activations');
    // encode + submit + wait of one single-token forward; the minimum of 12 after 3 warm-ups
    const time = async (m: GpuModel, layers: number) => {
      const ts: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        const rec = new Recorder(gpu);
        m.forward(rec, ids, 1, 20, logits, false, layers);
        rec.submit();
        await gpu.sync();
        if (i >= 3) ts.push(performance.now() - t0);
      }
      return Math.min(...ts);
    };
    const one = await time(model, model.layers.length);
    const out = [`adapter: ${gpu.probe.description || gpu.probe.vendor}; one target step ${one.toFixed(2)} ms; draft step (k = 2) ÷ target step:`];
    out.push(`shared f32 ×${((await time(model, 2)) / one).toFixed(2)}`);
    const copies = new Map<string, GpuModel>();
    for (const precision of ['int8', 'int4'] as const) {
      const copy = buildSelfDraft(gpu, host.config, host.weights, 2, { precision, groupSize: 32 }, model.maxSeq);
      out.push(`${precision} copy ×${((await time(copy, 2)) / one).toFixed(2)}`);
      copies.set(precision, copy);
    }
    // whole generations, γ 4, alternating shared / int4 copy (the copy runs as a separate draft: its own prefill,
    // KV cache and catch-up passes), median ms per decoded token of 3 each after one warm-up
    const sampling = { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: NEW };
    const p = (await prompts())[0]!;
    const drafts: [string, Draft][] = [['shared f32', { selfLayers: 2 }], ['int4 copy', copies.get('int4')!]];
    const ms = new Map<string, number[]>(drafts.map(([n]) => [n, []]));
    for (let i = 0; i < 4; i++)
      for (const [name, d] of drafts) {
        const r = await generateSpeculative(gpu, model, d, p, { sampling, gamma: 4 });
        if (i > 0) ms.get(name)!.push(msPerToken(r));
      }
    out.push(`\nγ4 generation ms/token: ${[...ms].map(([n, v]) => `${n} ${median(v).toFixed(2)}`).join(', ')}`);
    for (const c of copies.values()) c.destroy();
    console.log(out.join('  '));
    gpu.pool.release(ids);
    gpu.pool.release(logits);
    expect(one).toBeGreaterThan(0);
    await engine.reset();
  }, 300_000);
});
