// Speculative decoding's rules (src/techniques/speculative.ts) and its CPU implementation speculativeCpu:
//   - temperature 0 is lossless: the output equals the target's greedy output token for token (separate
//     draft and self-draft, γ ∈ {1, 2, 4}, adaptive γ);
//   - sampling is lossless in distribution: one verify step emits exactly p (checked on hand-built p, q), and
//     over N = 3000 seeded runs on a vocabulary-8 fixture the first 3 generated tokens follow the target's own
//     joint distribution (chi-square, significance 0.001: the test fails when p-value <= 0.001), while the
//     draft's own samples are rejected by the same test (so it has the power to see a wrong rule).
//   - the A/B against the target alone (src/ui/techniques/ab-summary.ts): alternating schedule, medians, ratio,
//     agreement and exactness on hand-built runs.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { loadWeights } from '../../src/model/weights';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { mulberry32 } from '../../src/ref/random';
import type { SampleOptions } from '../../src/ref/sample';
import {
  gammaLimit,
  keptProbs,
  nextGamma,
  roundGamma,
  speculativeCpu,
  verifyGreedy,
  verifySampled,
  walk,
} from '../../src/techniques/speculative';
import { abSchedule, idAgreement, summarizeAb } from '../../src/ui/techniques/ab-summary';
import { makeLlamaFixture } from '../fixtures/llama';

async function model(opts: Parameters<typeof makeLlamaFixture>[0], maxSeq = 64): Promise<RefModel> {
  const f = makeLlamaFixture(opts);
  const cfg = parseConfig(f.configJson);
  const src = bytesSource('model.safetensors', f.safetensors);
  return new RefModel(cfg, await loadWeights(cfg, await readSafetensors(src), src), maxSeq);
}

/** The same model with every weight multiplied by (1 + N(0, std²)): a draft that agrees often, not always. */
function noisyCopy(m: RefModel, std: number, seed: number): RefModel {
  const r = mulberry32(seed);
  const noisy = (a: Float32Array) => a.map((v) => v * (1 + std * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())));
  const w = m.w;
  const layers = w.layers.map((l) => ({ ...l, q: noisy(l.q), k: noisy(l.k), v: noisy(l.v), o: noisy(l.o), gate: l.gate && noisy(l.gate), up: noisy(l.up), down: noisy(l.down) }));
  return new RefModel(m.cfg, { ...w, layers, lmHead: noisy(w.lmHead) }, m.maxSeq);
}

/** ln Γ(x) (Lanczos, g = 7). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Upper regularised incomplete gamma Q(a, x) (Numerical Recipes: series below a+1, continued fraction above). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = Math.exp(-x + a * Math.log(x) - lnGamma(a));
  if (x < a + 1) {
    let sum = 1 / a;
    let del = sum;
    for (let n = 1; n < 1000 && Math.abs(del) > Math.abs(sum) * 1e-15; n++) sum += del *= x / (a + n);
    return 1 - sum * lead;
  }
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = 1 / (an * d + b);
    c = b + an / c;
    const del = c * d;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h * lead;
}

/** Pearson chi-square of counts against probabilities (cells with expected count < 5 pooled); the p-value. */
export function chiSquare(counts: Map<string, number>, probs: Map<string, number>, N: number): { stat: number; df: number; p: number } {
  let stat = 0;
  let cells = 0;
  let poolE = 0;
  let poolO = 0;
  for (const [k, pr] of probs) {
    const e = pr * N;
    const o = counts.get(k) ?? 0;
    if (e < 5) {
      poolE += e;
      poolO += o;
      continue;
    }
    stat += (o - e) ** 2 / e;
    cells++;
  }
  for (const k of counts.keys()) if (!probs.has(k)) poolO += counts.get(k)!; // impossible outcomes
  if (poolE > 0) {
    stat += (poolO - poolE) ** 2 / poolE;
    cells++;
  } else if (poolO > 0) stat = Infinity;
  const df = cells - 1;
  return { stat, df, p: Number.isFinite(stat) ? gammaQ(df / 2, stat / 2) : 0 };
}

describe('speculative: the rules', () => {
  it('chi-square helper: Q(1, x) = e^-x; known 5% point of df 10 (18.307)', () => {
    expect(gammaQ(1, 2.5)).toBeCloseTo(Math.exp(-2.5), 12);
    expect(gammaQ(5, 18.307 / 2)).toBeCloseTo(0.05, 4);
  });

  it('gamma per round, adaptive γ, limits', () => {
    expect(roundGamma(4, 10, 20, 64)).toBe(4);
    expect(roundGamma(4, 3, 20, 64)).toBe(2); // never more tokens than wanted
    expect(roundGamma(4, 10, 61, 64)).toBe(2); // positions p … p+γ' < maxSeq
    expect(roundGamma(4, 1, 20, 64)).toBe(0);
    const s = { gamma: 3, adaptive: true };
    expect(gammaLimit(s)).toBe(6);
    expect(nextGamma(3, 3, 3, s)).toBe(4);
    expect(nextGamma(6, 6, 6, s)).toBe(6);
    expect(nextGamma(3, 1, 3, s)).toBe(2);
    expect(nextGamma(1, 0, 1, s)).toBe(1);
    expect(nextGamma(3, 2, 3, s)).toBe(3);
    expect(nextGamma(3, 0, 3, { gamma: 3 })).toBe(3);
    expect(() => gammaLimit({ gamma: 0 })).toThrow(/gamma/);
  });

  it('verifyGreedy: keep while the target argmax agrees, then the target token', () => {
    const V = 3;
    const rows = Float64Array.from([0, 5, 1, /* */ 2, 0, 1, /* */ 0, 0, 9]); // argmax 1, 0, 2
    expect(verifyGreedy([1, 0], rows, V)).toEqual({ accepted: 2, token: 2 });
    expect(verifyGreedy([1, 2], rows, V)).toEqual({ accepted: 1, token: 0 });
    expect(verifyGreedy([0, 0], rows, V)).toEqual({ accepted: 0, token: 1 });
    expect(verifyGreedy([], rows, V)).toEqual({ accepted: 0, token: 1 });
  });

  it('walk: first id whose cumulative weight reaches u·total, zero weights never chosen', () => {
    const w = [0, 1, 0, 3];
    expect(walk(w, 0)).toBe(1);
    expect(walk(w, 0.25)).toBe(1);
    expect(walk(w, 0.2501)).toBe(3);
    expect(walk(w, 0.999999)).toBe(3);
  });

  // One verify step with γ = 1: the emitted first token must be distributed exactly as p (Leviathan et al.'s theorem).
  const opts: SampleOptions = { temperature: 1, topK: 0, topP: 1 };
  const cases: [string, number[], number[]][] = [
    ['p and q overlap', [1, 0.2, -1, 0.5, 2], [0.1, 1.5, -0.5, 0.5, 0]],
    ['disjoint-ish (q sharp elsewhere)', [3, 2.5, -4, -4, -4], [-4, -4, 5, 4.5, -4]],
    ['p == q', [0.3, 0.1, 0.2, 0.9, -1], [0.3, 0.1, 0.2, 0.9, -1]],
  ];
  for (const [name, pl, ql] of cases) {
    it(`verifySampled emits p for the first token (${name}; chi-square, N = 20000, p-value > 0.001)`, () => {
      const V = pl.length;
      const p = keptProbs(pl, opts);
      const q = keptProbs(ql, opts);
      const rand = mulberry32(name.length * 7919);
      const counts = new Map<string, number>();
      const N = 20000;
      let rejected = 0;
      for (let i = 0; i < N; i++) {
        const x = walk(q, rand()); // the draft's proposal, drawn from q
        const v = verifySampled([x], Float64Array.from([...pl, ...pl]), Float64Array.from(ql), V, opts, rand);
        const first = v.accepted ? x : v.token;
        if (!v.accepted) rejected++;
        counts.set(String(first), (counts.get(String(first)) ?? 0) + 1);
      }
      const r = chiSquare(counts, new Map(Array.from(p, (v, i) => [String(i), v])), N);
      console.log(`${name}: rejected ${rejected}/${N}, chi2 ${r.stat.toFixed(2)} df ${r.df} p-value ${r.p.toFixed(3)}`);
      expect(r.p).toBeGreaterThan(0.001);
      if (name === 'p == q') expect(rejected).toBe(0);
      else expect(rejected).toBeGreaterThan(N * 0.05);
    });
  }
});

describe('speculative: speculativeCpu', () => {
  // drafts: an unrelated random model (rejects nearly everything), a noisy copy of the target (accepts about half),
  // the target's first 1 or 2 layers (self-draft)
  it('temperature 0 equals the target greedy output (separate drafts, self-draft k 1/2, γ 1/2/4, adaptive)', async () => {
    const prompts: Record<number, number[]> = { 61: [1, 5, 9, 2, 17], 62: [40, 3, 8, 8, 1, 2, 3] };
    let accepted = 0;
    let proposed = 0;
    for (const seed of [61, 62]) {
      const target = await model({ seed, nLayers: 3 });
      const draft = await model({ seed: seed + 100, nLayers: 1, hiddenSize: 40, intermediateSize: 50 });
      const close = noisyCopy(target, 0.05, seed);
      for (const prompt of [prompts[seed]!]) {
        const want = refGreedy(target.cfg, target.w, prompt, 20);
        for (const d of [draft, close, { selfLayers: 1 }, { selfLayers: 2 }]) {
          for (const s of [{ gamma: 1 }, { gamma: 2 }, { gamma: 4 }, { gamma: 2, adaptive: true }]) {
            target.reset();
            if (d instanceof RefModel) d.reset();
            const r = speculativeCpu(target, d, prompt, { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 20 }, s);
            expect(r.ids, `seed ${seed} prompt ${prompt} ${JSON.stringify(s)} ${'selfLayers' in d ? `self ${d.selfLayers}` : 'draft'}`).toEqual(want);
            expect(r.drafted.length).toBe(20);
            expect(r.drafted.filter((k) => k === 'accepted').length).toBe(r.stats.accepted);
            accepted += r.stats.accepted;
            proposed += r.stats.proposed;
          }
        }
      }
    }
    console.log(`greedy: ${accepted} of ${proposed} proposals accepted`);
    expect(accepted).toBeGreaterThan(proposed * 0.1); // both paths (accept, reject + rollback) are exercised
    expect(accepted).toBeLessThan(proposed * 0.9);
  });
});

// The sampling theorem end to end: vocabulary 8, small fixtures, the first 3 generated tokens of N seeded runs.
describe('speculative: sampling is exact in distribution (CPU, N = 3000 per case)', () => {
  const V = 8;
  const prompt = [1, 6, 3, 0];
  const small = { vocabSize: V, hiddenSize: 16, nHeads: 2, nKvHeads: 1, intermediateSize: 22 };

  /** P(t1, t2, t3) under the target's own sampling rule (kept, renormalised distributions), exactly. */
  function targetJoint(target: RefModel, opts: SampleOptions): Map<string, number> {
    const out = new Map<string, number>();
    const n = prompt.length;
    target.reset();
    const p1 = keptProbs(target.forward(prompt, 0).subarray((n - 1) * V), opts);
    for (let a = 0; a < V; a++) {
      if (!p1[a]) continue;
      const p2 = keptProbs(target.forward([a], n), opts);
      for (let b = 0; b < V; b++) {
        if (!p2[b]) continue;
        const p3 = keptProbs(target.forward([b], n + 1), opts);
        for (let c = 0; c < V; c++) if (p3[c]) out.set(`${a},${b},${c}`, p1[a]! * p2[b]! * p3[c]!);
      }
    }
    return out;
  }

  const settings: [string, SampleOptions, 'draft' | number, { gamma: number; adaptive?: boolean }][] = [
    ['separate draft, γ 2, T 1.5', { temperature: 1.5, topK: 0, topP: 1 }, 'draft', { gamma: 2 }],
    ['separate draft, γ 1, T 2, top-k 5, top-p 0.95', { temperature: 2, topK: 5, topP: 0.95 }, 'draft', { gamma: 1 }],
    ['self-draft k 1, γ 3, T 2', { temperature: 2, topK: 0, topP: 1 }, 1, { gamma: 3 }],
    ['self-draft k 1, adaptive γ from 1, T 2.5, top-p 0.9', { temperature: 2.5, topK: 0, topP: 0.9 }, 1, { gamma: 1, adaptive: true }],
  ];
  for (const [name, opts, kind, s] of settings) {
    it(name, async () => {
      const target = await model({ seed: 71, nLayers: 2, ...small });
      const draft = await model({ seed: 72, nLayers: 1, ...small });
      const probs = targetJoint(target, opts);
      const N = 3000;
      const counts = new Map<string, number>();
      let accepted = 0;
      let proposed = 0;
      for (let seed = 1; seed <= N; seed++) {
        target.reset();
        draft.reset();
        const r = speculativeCpu(target, kind === 'draft' ? draft : { selfLayers: kind }, prompt, { ...opts, seed, maxNewTokens: 3 }, s);
        const key = r.ids.join(',');
        counts.set(key, (counts.get(key) ?? 0) + 1);
        accepted += r.stats.accepted;
        proposed += r.stats.proposed;
      }
      const got = chiSquare(counts, probs, N);
      // power: the draft's own samples (what accepting every proposal would give) under the same test
      const dm = kind === 'draft' ? draft : null;
      const dcounts = new Map<string, number>();
      for (let seed = 1; seed <= N; seed++) {
        const rand = mulberry32(seed);
        const ids = [...prompt];
        let m = dm ?? target;
        m.reset();
        const exitLayer = dm ? undefined : (kind as number);
        let z = m.forward(ids, 0, { exitLayer }).subarray((ids.length - 1) * V);
        for (let t = 0; t < 3; t++) {
          ids.push(walk(keptProbs(z, opts), rand()));
          if (t < 2) z = m.forward([ids.at(-1)!], ids.length - 1, { exitLayer });
        }
        const key = ids.slice(prompt.length).join(',');
        dcounts.set(key, (dcounts.get(key) ?? 0) + 1);
        m = target;
      }
      const power = chiSquare(dcounts, probs, N);
      console.log(
        `${name}: acceptance ${(accepted / proposed).toFixed(2)}; speculative chi2 ${got.stat.toFixed(1)} df ${got.df} p-value ${got.p.toFixed(3)}; ` +
          `draft-only chi2 ${power.stat.toFixed(1)} p-value ${power.p.toExponential(1)}`,
      );
      expect(got.p).toBeGreaterThan(0.001);
      expect(power.p).toBeLessThan(0.001);
      expect(accepted).toBeGreaterThan(proposed * 0.05);
      expect(accepted).toBeLessThan(proposed * 0.95);
    });
  }
});

describe('A/B vs target alone (summary)', () => {
  it('alternates the sides, flipping the order every round', () => {
    expect(abSchedule(3)).toEqual(['target', 'technique', 'technique', 'target', 'target', 'technique']);
    expect(() => abSchedule(0)).toThrow(/repeats/);
  });

  it('medians, the speed-up ratio and output agreement', () => {
    const ids = [5, 6, 7, 8];
    const runs = [
      { side: 'target' as const, decodeTokS: 10, msP50: 100, ids },
      { side: 'technique' as const, decodeTokS: 30, msP50: 40, ids },
      { side: 'technique' as const, decodeTokS: 12, msP50: 50, ids: [5, 6, 9, 8] },
      { side: 'target' as const, decodeTokS: 8, msP50: 120, ids },
      { side: 'target' as const, decodeTokS: 11, msP50: 90, ids },
      { side: 'technique' as const, decodeTokS: 20, msP50: 45, ids },
    ];
    const s = summarizeAb(runs);
    expect(s.target).toEqual({ decodeTokS: 10, msP50: 100 });
    expect(s.technique).toEqual({ decodeTokS: 20, msP50: 45 });
    expect(s.speedup).toBeCloseTo(2, 12);
    expect(s.p50Speedup).toBeCloseTo(100 / 45, 12);
    expect(s.agreement).toBeCloseTo((1 + 0.75 + 1) / 3, 12);
    expect(s.identical).toBe(false);
    expect(summarizeAb(runs.filter((r) => r.ids === ids)).identical).toBe(true);
    expect(() => summarizeAb(runs.filter((r) => r.side === 'target'))).toThrow(/both sides/);
  });

  it('agreement counts a shorter output as disagreeing at the missing indices', () => {
    expect(idAgreement([1, 2], [1, 2, 3, 4])).toBe(0.5);
    expect(idAgreement([], [])).toBe(1);
  });
});
