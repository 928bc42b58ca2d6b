// Early exit on WebGPU (generateEarlyExit, src/engine/dynamic.ts) vs its float64 reference EarlyExitRef
// (src/techniques/early-exit.ts), on a 4-layer random-weight fixture:
//   - a threshold that never triggers equals the full model exactly (ids; greedy and sampled, same seeds);
//   - a low threshold exits at recorded layers that equal the reference's, with the same ids, for both
//     criteria; the decisions are checked to be far from the threshold (margins >= 1e-3), so f32 vs f64 cannot
//     flip them, and the greedy picks' top-2 logit gaps likewise;
//   - after the run, every layer's KV rows 0 … pos equal the reference's, including the rows of skipped
//     layers written by CALM propagation (norm-relative 1e-4: K/V after several f32 layers, the golden test's
//     logit tolerance);
//   - teacher forcing (forced ids) predicts what the full model predicts for each forced prefix.
import { describe, expect, it } from 'vitest';
import { generateEarlyExit } from '../../src/engine/dynamic';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { parseConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { GpuModel } from '../../src/model/transformer';
import { loadWeights } from '../../src/model/weights';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { argmax } from '../../src/ref/sample';
import { EarlyExitRef, type EarlyExitRule } from '../../src/techniques/early-exit';
import { makeLlamaFixture } from '../fixtures/llama';
import { expectClose, getGpu } from './harness';

const MAX_SEQ = 64;
const greedy = (maxNewTokens: number) => ({ ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens });

async function fixture(seed: number) {
  const f = makeLlamaFixture({ seed, nLayers: 4 });
  const cfg = parseConfig(f.configJson);
  const src = bytesSource('model.safetensors', f.safetensors);
  return { cfg, weights: await loadWeights(cfg, await readSafetensors(src), src) };
}

describe('early exit on the GPU', () => {
  it('a threshold that never triggers equals the full model (greedy and sampled, both criteria)', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture(43);
    const model = new GpuModel(gpu, cfg, weights, MAX_SEQ);
    const prompt = [7, 1, 8, 2, 8];
    try {
      // entropy: threshold −1, not 0 — the f32 entropy of a near one-hot row may round to a tiny negative value
      const never: EarlyExitRule[] = [
        { minLayer: 1, threshold: 1.01, criterion: 'maxprob' },
        { minLayer: 2, every: 1, threshold: -1, criterion: 'entropy' },
      ];
      const want = refGreedy(cfg, weights, prompt, 24);
      for (const rule of never) {
        const r = await generateEarlyExit(gpu, model, prompt, { sampling: greedy(24), ...rule });
        expect(r.ids).toEqual(want);
        expect(r.exitLayers!.every((c) => c === 4)).toBe(true);
        expect(r.avgLayers).toBe(4);
        expect(r.syncs).toBe(1 + 23 * (4 - rule.minLayer + 1)); // prefill + per token: one per checkpoint + the full-depth pick
      }
      const sampling = { temperature: 0.9, topK: 20, topP: 0.95, seed: 5, maxNewTokens: 24 };
      const base = await generateLoop(gpu, model, prompt, { sampling });
      const r = await generateEarlyExit(gpu, model, prompt, { sampling, ...never[0]! });
      expect(r.ids).toEqual(base.ids); // the same u per token
    } finally {
      model.destroy();
    }
  });

  const cases: [string, EarlyExitRule][] = [
    ['maxprob 0.6 from layer 1', { minLayer: 1, threshold: 0.6, criterion: 'maxprob' }],
    ['entropy < 1.0 nats, layers 1 and 3', { minLayer: 1, every: 2, threshold: 1.0, criterion: 'entropy' }],
  ];
  for (const [name, rule] of cases) {
    it(`low threshold (${name}): exit layers, ids and every KV row equal the reference`, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await fixture(43);
      const model = new GpuModel(gpu, cfg, weights, MAX_SEQ);
      try {
        for (const prompt of [[7, 1, 8, 2, 8], [50, 3, 96, 12]]) {
          const nNew = 30;
          const ref = new EarlyExitRef(cfg, weights, MAX_SEQ);
          const want = ref.generate(prompt, nNew, rule);
          expect(Math.min(...want.decisionMargins), 'reference decisions are far from the threshold').toBeGreaterThan(1e-3);
          expect(Math.min(...want.top2Margins), 'reference picks are not near-ties').toBeGreaterThan(1e-3);
          const r = await generateEarlyExit(gpu, model, prompt, { sampling: greedy(nNew), ...rule });
          console.log(`${name}, prompt ${prompt}: exit layers ${r.exitLayers!.join('')}, avg ${r.avgLayers!.toFixed(2)}, histogram ${r.exitHistogram!.join(',')}`);
          expect(r.ids).toEqual(want.ids);
          expect(r.exitLayers).toEqual(want.exitLayers);
          expect(new Set(r.exitLayers).size, 'exits at several depths').toBeGreaterThan(1);
          expect(r.exitHistogram!.reduce((a, b) => a + b, 0)).toBe(nNew - 1);
          // KV cache: rows 0 … validRows−1 of every layer (propagated rows of skipped layers included)
          const rows = r.validRows.target;
          expect(rows).toBe(prompt.length + nNew - 1);
          const kvDim = model.kvDim;
          for (let l = 0; l < cfg.nLayers; l++) {
            const k = (await gpu.pool.readF32(model.layers[l]!.kCache)).subarray(0, rows * kvDim);
            const v = (await gpu.pool.readF32(model.layers[l]!.vCache)).subarray(0, rows * kvDim);
            expectClose(k, ref.k[l]!.subarray(0, rows * kvDim), 1e-4, `layer ${l} K`);
            expectClose(v, ref.v[l]!.subarray(0, rows * kvDim), 1e-4, `layer ${l} V`);
          }
        }
      } finally {
        model.destroy();
      }
    });
  }

  it('stops like the reference: at the context limit and at a stop id', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture(43);
    const model = new GpuModel(gpu, cfg, weights, 16); // a 5-token prompt leaves 11 positions
    const prompt = [9, 19, 29, 39, 49];
    const rule: EarlyExitRule = { minLayer: 1, threshold: 0.6, criterion: 'maxprob' };
    try {
      const want = new EarlyExitRef(cfg, weights, 16).generate(prompt, 11, rule);
      const r = await generateEarlyExit(gpu, model, prompt, { sampling: greedy(40), ...rule });
      expect(r.stoppedBy).toBe('context');
      expect(r.ids).toEqual(want.ids);
      expect(r.exitLayers).toEqual(want.exitLayers);
      const stop = want.ids[5]!;
      const e = await generateEarlyExit(gpu, model, prompt, { sampling: greedy(40), ...rule, stopIds: [stop] });
      expect(e.stoppedBy).toBe('eos');
      expect(e.ids).toEqual(want.ids.slice(0, want.ids.indexOf(stop) + 1));
    } finally {
      model.destroy();
    }
  });

  it('teacher forcing: each prediction is the full model’s for the forced prefix (threshold never triggers)', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture(44);
    const model = new GpuModel(gpu, cfg, weights, MAX_SEQ);
    try {
      const prompt = [4, 9, 16];
      const forced = [25, 36, 49, 64, 81, 2, 3, 5, 7, 11];
      const r = await generateEarlyExit(gpu, model, prompt, { sampling: greedy(forced.length), minLayer: 2, threshold: 1.01, criterion: 'maxprob', forced });
      const logits = new RefModel(cfg, weights, MAX_SEQ).forward([...prompt, ...forced], 0);
      const V = cfg.vocabSize;
      const want = forced.map((_, i) => argmax(logits.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V)));
      expect(r.ids).toEqual(want);
    } finally {
      model.destroy();
    }
  });
});
