// Measurement, not a test of speed (no timing assertions): early exit on the embedded target (models/lab-target,
// trained with LayerSkip-style exit losses). Runs only with VITE_LAB_BENCH=1 (it takes minutes on SwiftShader):
//   VITE_LAB_BENCH=1 npx vitest run --project gpu tests/gpu/early-exit-bench.test.ts
// Prints: the cost of one sync (empty submit + 8-byte readback); then, each configuration right after the full
// model (generateLoop) on the same prompt so that speed-ups are ratios under the same machine load: early exit
// without checkpoints (the loop's own overhead), with checkpoints at every layer that never exit (the pure cost
// of the checks), thresholds {0.5, 0.7, 0.9} (maxprob) and two entropy thresholds: ms/token, speed-up (median
// over prompts), average layers, exit histogram, syncs per token, and top-1 agreement with the full model under
// teacher forcing (the full model's own greedy continuation forced), and how long the free-running output
// stays identical to the full model's.
import { describe, expect, it } from 'vitest';
import { generateEarlyExit } from '../../src/engine/dynamic';
import { LabEngine } from '../../src/engine/engine';
import { generateLoop, type LoopResult } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { Recorder } from '../../src/gpu/recorder';
import type { EarlyExitRule } from '../../src/techniques/early-exit';

import { BASE, median, msPerToken, NEW, present, prompts, RUN_BENCH as RUN } from './bench-common';

describe.skipIf(!RUN)('early exit on lab-target (measurement; VITE_LAB_BENCH=1)', () => {
  it('sync cost, check cost, thresholds', async () => {
    if (!(await present(`${BASE}/model.safetensors`))) return console.log('skipped: models/lab-target/model.safetensors is missing');
    const engine = new LabEngine();
    await engine.load({ kind: 'url', baseUrl: BASE });
    const { gpu, model } = engine.internals();
    if (!gpu || !model) throw new Error('no model');
    const L = model.layers.length;
    const ps = await prompts();
    const sampling = { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: NEW };
    const out: string[] = [`adapter: ${gpu.probe.description || gpu.probe.vendor} (fallback ${gpu.probe.isFallback}); ${L} layers; ${NEW} new tokens × ${ps.length} prompts; medians over prompts`];

    const t = gpu.pool.alloc('sync', [2], 'u32', 'activations');
    const syncMs: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      new Recorder(gpu).submit();
      await gpu.pool.read(t, 8);
      syncMs.push(performance.now() - t0);
    }
    gpu.pool.release(t);
    out.push(`one sync (empty submit + 8-byte readback): median ${median(syncMs.slice(5)).toFixed(2)} ms`);

    const full: LoopResult[] = [];
    for (const p of ps) full.push(await generateLoop(gpu, model, p, { sampling }));
    // each configuration runs right after the full model on the same prompt: speed-ups are ratios under the same load
    const row = async (name: string, rule: EarlyExitRule) => {
      const ratios: number[] = [];
      const ms: number[] = [];
      const base: number[] = [];
      let agree = 0;
      let forcedN = 0;
      let same = 0;
      let avg = 0;
      let syncs = 0;
      const hist = new Array<number>(L + 1).fill(0);
      for (const [i, p] of ps.entries()) {
        const b = await generateLoop(gpu, model, p, { sampling });
        const r = await generateEarlyExit(gpu, model, p, { sampling, ...rule });
        base.push(msPerToken(b));
        ms.push(msPerToken(r));
        ratios.push(msPerToken(b) / msPerToken(r));
        const div = r.ids.findIndex((id, j) => id !== full[i]!.ids[j]);
        same += div < 0 ? r.ids.length : div;
        avg += r.avgLayers! / ps.length;
        syncs += (r.syncs - 1) / (r.ids.length - 1) / ps.length;
        r.exitHistogram!.forEach((v, c) => (hist[c]! += v));
        const f = await generateEarlyExit(gpu, model, p, { sampling, ...rule, forced: full[i]!.ids });
        for (let j = 1; j < f.ids.length; j++, forcedN++) if (f.ids[j] === full[i]!.ids[j]) agree++;
      }
      out.push(
        `${name.padEnd(36)} ${median(ms).toFixed(2).padStart(7)} ms/tok (full ${median(base).toFixed(2)})  ×${median(ratios).toFixed(2)}  layers ${avg.toFixed(2)}  ` +
          `hist[1..${L}] ${hist.slice(1).join(',')}  syncs/tok ${syncs.toFixed(2)}  top-1 agreement (forced) ${((100 * agree) / forcedN).toFixed(1)}%  ` +
          `same prefix ${same}/${ps.length * NEW}`,
      );
      return median(ratios);
    };
    const noOverlap = await row('full depth, no checkpoint', { minLayer: L, threshold: 1.01, criterion: 'maxprob' });
    const never = await row('checks after layers 1..5, never exit', { minLayer: 1, threshold: 1.01, criterion: 'maxprob' });
    out.push(`  → ${L - 1} checkpoints (head + confidence + sync each) cost ×${(noOverlap / never).toFixed(2)} of the time of a full-depth token`);
    for (const th of [0.5, 0.7, 0.9]) {
      await row(`maxprob ≥ ${th}, from layer 2`, { minLayer: 2, threshold: th, criterion: 'maxprob' });
      await row(`maxprob ≥ ${th}, from layer 1`, { minLayer: 1, threshold: th, criterion: 'maxprob' });
    }
    await row('maxprob ≥ 0.7, layers 2 and 4', { minLayer: 2, every: 2, threshold: 0.7, criterion: 'maxprob' });
    for (const th of [1.0, 2.0]) await row(`entropy < ${th} nats, from layer 2`, { minLayer: 2, threshold: th, criterion: 'entropy' });
    console.log(out.join('\n'));
    expect(full.length).toBe(ps.length);
    await engine.reset();
  }, 900_000);
});
