// Early exit's rule (src/techniques/early-exit.ts): checkpoints, the exit test, statistics, and the float64
// reference EarlyExitRef — which the GPU loop (src/engine/dynamic.ts) is compared against in
// tests/gpu/early-exit.test.ts. Here: a threshold that never triggers gives the full model's greedy output;
// a low threshold exits early, and every skipped layer's K/V row equals the CALM propagation rule computed by
// hand from the exit hidden state.
import { describe, expect, it } from 'vitest';
import { refGreedy } from '../../src/ref/forward';
import { linear } from '../../src/ref/linear';
import { rmsnorm } from '../../src/ref/norm';
import { rope, ropeInvFreq } from '../../src/ref/rope';
import { checkpoints, EarlyExitRef, exitStats, shouldExit } from '../../src/techniques/early-exit';
import { loadFixture } from '../fixtures/llama';

const fixture = loadFixture;

describe('early exit: the rule', () => {
  it('checkpoints: minLayer, every k, never the last layer; bad settings throw', () => {
    expect(checkpoints(6, { minLayer: 2, threshold: 0.9, criterion: 'maxprob' })).toEqual([2, 3, 4, 5]);
    expect(checkpoints(6, { minLayer: 1, every: 2, threshold: 0.9, criterion: 'maxprob' })).toEqual([1, 3, 5]);
    expect(checkpoints(6, { minLayer: 2, every: 4, threshold: 0.9, criterion: 'maxprob' })).toEqual([2]);
    expect(checkpoints(6, { minLayer: 6, threshold: 0.9, criterion: 'maxprob' })).toEqual([]);
    expect(() => checkpoints(6, { minLayer: 0, threshold: 0.9, criterion: 'maxprob' })).toThrow(/minLayer/);
    expect(() => checkpoints(6, { minLayer: 1, every: 0, threshold: 0.9, criterion: 'maxprob' })).toThrow(/every/);
    expect(() => checkpoints(6, { minLayer: 1, threshold: Number.NaN, criterion: 'maxprob' })).toThrow(/threshold/);
  });

  it('shouldExit: maxprob >= threshold, entropy < threshold', () => {
    const mp = { minLayer: 1, threshold: 0.7, criterion: 'maxprob' as const };
    expect([0.69, 0.7, 0.71].map((c) => shouldExit(c, mp))).toEqual([false, true, true]);
    expect(shouldExit(1, { ...mp, threshold: 1.01 })).toBe(false);
    const en = { minLayer: 1, threshold: 0.5, criterion: 'entropy' as const };
    expect([0.4, 0.5, 0.6].map((c) => shouldExit(c, en))).toEqual([true, false, false]);
  });

  it('exitStats: mean over decoded tokens (the prefill token excluded), histogram by layers run', () => {
    const s = exitStats([4, 2, 4, 3, 2], 4);
    expect(s.avgLayers).toBeCloseTo((2 + 4 + 3 + 2) / 4, 15);
    expect(s.histogram).toEqual([0, 0, 2, 1, 1]);
    expect(exitStats([4], 4).avgLayers).toBe(4);
  });
});

describe('early exit: EarlyExitRef (float64)', () => {
  it('a threshold that never triggers (maxprob 1.01, entropy 0) equals the full model, token for token', async () => {
    for (const seed of [41, 42]) {
      const { cfg, weights } = await fixture({ seed, nLayers: 4 });
      const prompt = [3, 14, 15, 9, 26];
      const want = refGreedy(cfg, weights, prompt, 24);
      for (const rule of [
        { minLayer: 1, threshold: 1.01, criterion: 'maxprob' as const },
        { minLayer: 1, threshold: 0, criterion: 'entropy' as const },
      ]) {
        const r = new EarlyExitRef(cfg, weights, 64).generate(prompt, 24, rule);
        expect(r.ids).toEqual(want);
        expect(r.exitLayers.every((c) => c === 4)).toBe(true);
      }
    }
  });

  it('a low threshold exits early; skipped layers get K/V from the exit hidden state (CALM propagation)', async () => {
    const { cfg, weights } = await fixture({ seed: 43, nLayers: 4 });
    const ref = new EarlyExitRef(cfg, weights, 64);
    const prompt = [7, 1, 8, 2, 8];
    const r = ref.generate(prompt, 30, { minLayer: 1, threshold: 0.6, criterion: 'maxprob' });
    console.log(`exit layers: ${r.exitLayers.join(' ')}`);
    const early = r.exitLayers.map((c, i) => [c, i] as const).filter(([c]) => c < cfg.nLayers);
    expect(early.length).toBeGreaterThan(3);
    expect(new Set(r.exitLayers).size).toBeGreaterThan(2);
    const { hiddenSize: H, nKvHeads, headDim, normEps: eps } = cfg;
    const kvDim = nKvHeads * headDim;
    const inv = ropeInvFreq(headDim, cfg.ropeTheta);
    for (const [c, i] of early) {
      if (i === r.ids.length - 1) continue;
      const pos = prompt.length + i - 1; // token i was picked by the step at this position
      for (let l = c; l < cfg.nLayers; l++) {
        const lw = weights.layers[l]!;
        const a = rmsnorm(r.exitHidden[i]!, lw.inputNorm, 1, H, eps);
        const k = rope(linear(lw.k, a, kvDim, H), 1, nKvHeads, headDim, pos, inv);
        const v = linear(lw.v, a, kvDim, H);
        expect(Array.from(ref.k[l]!.subarray(pos * kvDim, (pos + 1) * kvDim))).toEqual(Array.from(k));
        expect(Array.from(ref.v[l]!.subarray(pos * kvDim, (pos + 1) * kvDim))).toEqual(Array.from(v));
      }
    }
  });
});
