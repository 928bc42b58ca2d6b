// Early exit on WebGPU (generateEarlyExit, src/engine/dynamic.ts) vs its float64 reference EarlyExitRef
// (src/techniques/early-exit.ts), on a 4-layer random-weight fixture:
//   - a threshold that never triggers equals the full model exactly (ids; greedy and sampled, same seeds);
//   - a low threshold exits at recorded layers that equal the reference's, with the same ids, for both
//     criteria; the decisions are checked to be far from the threshold (margins >= 1e-3), so f32 vs f64 cannot
//     flip them, and the greedy picks' top-2 logit gaps likewise;
//   - after the run, every layer's KV rows 0 … pos equal the reference's, including the rows of skipped
//     layers written by CALM propagation (norm-relative 1e-4: K/V after several f32 layers, the golden test's
//     logit tolerance);
//   - teacher forcing (forced ids) predicts what the full model predicts for each forced prefix;
//   - quality under forced decoding with exits (evaluateEarlyExit, src/engine/quality.ts), in windows: a threshold
//     that never triggers gives evaluateForced's figures (perplexity to 1e-5 relative, top-1 agreement 1 and
//     KL < 1e-6 against the full model's own distribution); a low threshold gives the exit layers and the
//     perplexity / top-1 agreement / KL of a float64 forced loop built from EarlyExitRef's steps (decisions
//     checked to be >= 1e-3 from the threshold; figures to 1e-4 relative, KL to 1e-4 absolute).
import { describe, expect, it } from 'vitest';
import { generateEarlyExit } from '../../src/engine/dynamic';
import { generateLoop } from '../../src/engine/generate';
import { evaluateEarlyExit, evaluateForced } from '../../src/engine/quality';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { parseConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { GpuModel } from '../../src/model/transformer';
import { loadWeights } from '../../src/model/weights';
import { confidence } from '../../src/ref/confidence';
import { RefModel, refEmbed, refGreedy } from '../../src/ref/forward';
import { mulberry32 } from '../../src/ref/random';
import { argmax } from '../../src/ref/sample';
import { checkpoints, EarlyExitRef, type EarlyExitRule, shouldExit } from '../../src/techniques/early-exit';
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

  it('quality under forced decoding with exits: never-exiting equals evaluateForced; a low threshold equals a float64 forced loop', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await fixture(45);
    const model = new GpuModel(gpu, cfg, weights, MAX_SEQ);
    const L = cfg.nLayers;
    const V = cfg.vocabSize;
    const r = mulberry32(9);
    const ids = Array.from({ length: 37 }, () => Math.floor(r() * V));
    const W = 15; // windows of 15, 15 and 7 tokens: 14 + 14 + 6 predictions
    try {
      const full = await evaluateForced(gpu, model, ids, W, { keep: true, key: 't' });
      expect(full.figures.tokens).toBe(34);
      const never = await evaluateEarlyExit(gpu, model, ids, W, { minLayer: 1, threshold: 1.01, criterion: 'maxprob' }, full.dist);
      expect(never.figures.tokens).toBe(34);
      expect(Math.abs(never.figures.perplexity / full.figures.perplexity - 1)).toBeLessThan(1e-5);
      expect(never.figures.top1_agreement).toBe(1);
      expect(never.figures.kl!).toBeLessThan(1e-6);
      expect(never.exit.avg_layers).toBe(L);

      // float64: each window's first token runs every layer; later positions exit by the rule, skipped layers' K/V
      // propagated from the exit state (EarlyExitRef's steps), teacher-forced inputs
      const rule: EarlyExitRule = { minLayer: 1, threshold: 0.6, criterion: 'maxprob' };
      const cps = [...checkpoints(L, rule), L];
      const margins: number[] = [];
      const layers: number[] = [];
      let nll = 0;
      let agree = 0;
      let kl = 0;
      let p = 0;
      const logSoftmax = (z: Float64Array) => {
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
        return z.map((v) => v - lse);
      };
      for (let s = 0; s < ids.length; s += W) {
        const win = ids.slice(s, s + W);
        if (win.length < 2) break;
        const ref = new EarlyExitRef(cfg, weights, MAX_SEQ);
        for (let i = 0; i + 1 < win.length; i++) {
          let x = refEmbed(cfg, weights, [win[i]!], i);
          let c = 0;
          let z: Float64Array = new Float64Array(0);
          for (const cp of cps) {
            while (c < cp) x = ref.block(c++, x, 1, i);
            z = ref.head(x, 1);
            if (cp === L || i === 0) continue; // the first position runs at full depth (the prefill)
            const conf = confidence(z).maxProb;
            margins.push(Math.abs(conf - rule.threshold));
            if (shouldExit(conf, rule)) break;
          }
          for (let l = c; l < L; l++) ref.propagate(l, x, i);
          if (i > 0) layers.push(c);
          const lp = logSoftmax(z);
          nll -= lp[win[i + 1]!]!;
          const ro = p * V;
          let arg = 0;
          for (let j = 0; j < V; j++) if (lp[j]! > lp[arg]!) arg = j;
          if (arg === full.dist!.top1[p]) agree++;
          for (let j = 0; j < V; j++) kl += Math.exp(full.dist!.logp[ro + j]!) * (full.dist!.logp[ro + j]! - lp[j]!);
          p++;
        }
      }
      expect(Math.min(...margins), 'reference decisions are far from the threshold').toBeGreaterThan(1e-3);
      const got = await evaluateEarlyExit(gpu, model, ids, W, rule, full.dist);
      const avg = layers.reduce((a, b) => a + b, 0) / layers.length;
      console.log(`forced early exit: avg layers ${got.exit.avg_layers.toFixed(2)} (ref ${avg.toFixed(2)}), ppl ${got.figures.perplexity.toFixed(3)} vs full ${full.figures.perplexity.toFixed(3)}, top-1 ${got.figures.top1_agreement}, KL ${got.figures.kl}`);
      expect(avg, 'the rule exits early somewhere').toBeLessThan(L);
      expect(got.exit.avg_layers).toBeCloseTo(avg, 12);
      expect(got.exit.histogram.reduce((a, b) => a + b, 0)).toBe(layers.length);
      expect(Math.abs(got.figures.perplexity / Math.exp(nll / p) - 1)).toBeLessThan(1e-4);
      expect(got.figures.top1_agreement).toBeCloseTo(agree / p, 12);
      expect(Math.abs(got.figures.kl! - kl / p)).toBeLessThan(1e-4);
    } finally {
      model.destroy();
    }
  });
});
