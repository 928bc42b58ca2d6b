// Pruning masks (src/techniques/prune.ts): exact kept counts per tensor and globally, deterministic ties, the 2:4
// invariant in every group of 4, and structured pruning (whole FFN neurons, whole KV groups for GQA) keeping the
// block's function when the pruned units are zeroed (maskLayer) or removed (shrinkLayer).
import { describe, expect, it } from 'vitest';
import { parseConfig, type ModelConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { loadWeights, type HostWeights } from '../../src/model/weights';
import { swiglu } from '../../src/ref/activation';
import { attention } from '../../src/ref/attention';
import { linear } from '../../src/ref/linear';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { rope, ropeInvFreq } from '../../src/ref/rope';
import {
  globalMagnitudeMasks, keepTop, keptCount, LINEAR_KEYS, type LayerLinears, magnitudeMask, nmMask, type PruneSpec, pruneHost,
  pruneLayers, structuredPlan, unitScores,
} from '../../src/techniques/prune';
import { makeLlamaFixture, type LlamaFixtureOptions } from '../fixtures/llama';

async function fixture(opts: LlamaFixtureOptions): Promise<{ cfg: ModelConfig; w: HostWeights }> {
  const f = makeLlamaFixture(opts);
  const cfg = parseConfig(f.configJson);
  const src = bytesSource('model.safetensors', f.safetensors);
  return { cfg, w: await loadWeights(cfg, await readSafetensors(src), src) };
}
const sum = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);
const spec = (kind: PruneSpec['kind'], sparsity: number, scope: PruneSpec['scope'] = 'layer', attention = true, ffn = true): PruneSpec => ({
  kind, sparsity, scope, targets: { attention, ffn },
});

/** Every kept |w| >= every pruned |w|. */
function expectTopByMagnitude(w: ArrayLike<number>, m: Uint8Array): void {
  let minKept = Infinity;
  let maxPruned = -Infinity;
  for (let i = 0; i < w.length; i++) {
    if (m[i]) minKept = Math.min(minKept, Math.abs(w[i]!));
    else maxPruned = Math.max(maxPruned, Math.abs(w[i]!));
  }
  expect(minKept).toBeGreaterThanOrEqual(maxPruned);
}

describe('unstructured magnitude masks', () => {
  it('keptCount rounds half up: K = total − round(s·total)', () => {
    expect(keptCount(10, 0.25)).toBe(7); // 2.5 → 3 pruned
    expect(keptCount(7, 0.5)).toBe(3); // 3.5 → 4 pruned
    expect(keptCount(101, 0)).toBe(101);
    expect(keptCount(101, 1)).toBe(0);
    expect(() => keptCount(10, 1.5)).toThrow(/sparsity/);
    expect(() => keptCount(10, Number.NaN)).toThrow(/sparsity/);
  });

  it('ties keep the lower index (hand-checked)', () => {
    expect([...magnitudeMask([1, -1, 1, 0.5, 1], 0.4)]).toEqual([1, 1, 1, 0, 0]);
    expect([...magnitudeMask([0.5, -2, 2, 0.5, 0.5, 1], 0.5)]).toEqual([0, 1, 1, 0, 0, 1]);
    expect([...keepTop(new Float64Array([3, 1, 3, 3]), 2)]).toEqual([1, 0, 1, 0]);
  });

  const u = mulberry32(5);
  for (let trial = 0; trial < 6; trial++) {
    const n = randint(u, 1, 3000);
    const s = [0, 0.05, 0.3, 0.5, 0.77, 0.95][trial]!;
    it(`keeps exactly K of ${n} at sparsity ${s}, the largest`, () => {
      const w = randn(n, 100 + trial);
      for (let i = 0; i < n; i += 7) w[i] = 0.25; // many exact ties
      const m = magnitudeMask(w, s);
      expect(sum(m)).toBe(keptCount(n, s));
      expectTopByMagnitude(w, m);
      expect([...magnitudeMask(w, s)]).toEqual([...m]); // deterministic
    });
  }

  it('global scope ranks across tensors: exact total, larger tensors-by-scale keep more', () => {
    const a = randn(999, 1, 10); // 10× the scale
    const b = randn(1501, 2, 1);
    const [ma, mb] = globalMagnitudeMasks([a, b], 0.6);
    expect(sum(ma!) + sum(mb!)).toBe(keptCount(2500, 0.6));
    expect(sum(ma!) / 999).toBeGreaterThan(sum(mb!) / 1501);
    const joined = new Float32Array([...a, ...b]);
    expectTopByMagnitude(joined, new Uint8Array([...ma!, ...mb!]));
  });
});

describe('N:M (2:4) masks', () => {
  it('hand-checked row with a short last group; ties keep the lower index', () => {
    const w = [0.1, -3, 2, 0.5, 7, 0, 0, 7, 1, /* row 2 */ 1, 1, 1, 1, 0, 0, 0, 0, -2];
    expect([...nmMask(w, 2, 9)]).toEqual([0, 1, 1, 0, 1, 0, 0, 1, 1, /**/ 1, 1, 0, 0, 1, 1, 0, 0, 1]);
  });

  for (const [rows, cols] of [[3, 4], [7, 13], [5, 30], [16, 64], [2, 3]] as const) {
    it(`every group of 4 keeps its 2 largest (${rows}×${cols})`, () => {
      const w = randn(rows * cols, rows + cols);
      const m = nmMask(w, rows, cols);
      for (let r = 0; r < rows; r++) {
        for (let c0 = 0; c0 < cols; c0 += 4) {
          const len = Math.min(4, cols - c0);
          const g = Array.from({ length: len }, (_, j) => r * cols + c0 + j);
          expect(g.filter((i) => m[i]).length).toBe(Math.min(2, len));
          expectTopByMagnitude(g.map((i) => w[i]!), new Uint8Array(g.map((i) => m[i]!)));
        }
      }
    });
  }
});

/** One block (attention + FFN, n tokens from position 0) with dims read from the weights, like the GPU forward. */
function block(lw: LayerLinears, cfg: ModelConfig, x: Float64Array, n: number): Float64Array {
  const { hiddenSize: H, headDim: hd } = cfg;
  const heads = lw.q.length / H / hd;
  const kv = lw.k.length / H / hd;
  const inter = lw.gate!.length / H;
  const inv = ropeInvFreq(hd, cfg.ropeTheta);
  const q = rope(linear(lw.q, x, heads * hd, H, n, lw.qBias), n, heads, hd, 0, inv);
  const k = rope(linear(lw.k, x, kv * hd, H, n, lw.kBias), n, kv, hd, 0, inv);
  const v = linear(lw.v, x, kv * hd, H, n, lw.vBias);
  const h = linear(lw.o, attention(q, k, v, n, 0, heads, kv, hd), H, heads * hd, n, null, x);
  return linear(lw.down, swiglu(linear(lw.gate!, h, inter, H, n), linear(lw.up, h, inter, H, n)), H, inter, n, null, h);
}

describe('structured pruning', () => {
  const cases = [
    { opts: { seed: 3, nHeads: 6, nKvHeads: 3, hiddenSize: 36, intermediateSize: 53, nLayers: 3 }, s: spec('structured', 0.5) },
    { opts: { seed: 4, qwen2: true }, s: spec('structured', 0.3, 'global') },
    { opts: { seed: 5, nKvHeads: 4 }, s: spec('structured', 0.6, 'layer', false, true) },
    { opts: { seed: 6, nHeads: 8, nKvHeads: 2, hiddenSize: 64 }, s: spec('structured', 0.5, 'layer', true, false) },
  ];
  for (const { opts, s } of cases) {
    it(`keeps shapes consistent and the block's function (${JSON.stringify(opts)}, ${s.scope} ${s.sparsity})`, async () => {
      const { cfg, w } = await fixture(opts);
      const { nHeads, nKvHeads, intermediateSize: I, hiddenSize: H, headDim: hd } = cfg;
      const per = nHeads / nKvHeads;
      const r = pruneLayers(w.layers, cfg, s);
      const plan = r.plan!;
      const nL = cfg.nLayers;
      const kvTotal = plan.reduce((a, p) => a + p.kvHeads.length, 0);
      const nTotal = plan.reduce((a, p) => a + p.neurons.length, 0);
      if (s.targets.attention) {
        const want = s.scope === 'layer' ? nL * Math.max(1, keptCount(nKvHeads, s.sparsity)) : Math.max(nL, keptCount(nKvHeads * nL, s.sparsity));
        expect(kvTotal).toBe(want);
      } else expect(kvTotal).toBe(nL * nKvHeads);
      if (s.targets.ffn) {
        const want = s.scope === 'layer' ? nL * keptCount(I, s.sparsity) : Math.max(nL, keptCount(I * nL, s.sparsity));
        expect(nTotal).toBe(want);
      } else expect(nTotal).toBe(nL * I);
      for (let l = 0; l < nL; l++) {
        const p = plan[l]!;
        const sh = r.shrunk![l]!;
        expect(p.kvHeads.length).toBeGreaterThan(0);
        expect(p.heads).toEqual(p.kvHeads.flatMap((g) => Array.from({ length: per }, (_, j) => g * per + j))); // whole KV groups
        expect(sh.q.length).toBe(p.heads.length * hd * H);
        expect(sh.k.length).toBe(p.kvHeads.length * hd * H);
        expect(sh.v.length).toBe(sh.k.length);
        expect(sh.o.length).toBe(H * p.heads.length * hd);
        expect(sh.gate!.length).toBe(p.neurons.length * H);
        expect(sh.down.length).toBe(H * p.neurons.length);
        if (cfg.attentionBias) expect(sh.qBias!.length).toBe(p.heads.length * hd);
        const rep = r.report.tensors.filter((t) => t.name.startsWith(`model.layers.${l}.`));
        rep.forEach((t, j) => expect(t.rows * t.cols).toBe(sh[LINEAR_KEYS[j]!]!.length));
        // the kept units are the top-scored ones (layer scope)
        if (s.scope === 'layer') {
          const sc = unitScores(w.layers[l]!, cfg);
          const minKept = Math.min(...p.neurons.map((i) => sc.neurons[i]!));
          const maxPruned = Math.max(-1, ...[...sc.neurons.keys()].filter((i) => !p.neurons.includes(i)).map((i) => sc.neurons[i]!));
          expect(minKept).toBeGreaterThanOrEqual(maxPruned);
        }
        // zeroed (full size) and removed (smaller) units give the same block output
        const n = 5;
        const x = Float64Array.from(randn(n * H, 77 + l));
        const full = block(r.masked[l]!, cfg, x, n);
        const small = block(sh, cfg, x, n);
        let err = 0;
        let scale = 0;
        full.forEach((v, i) => ((err = Math.max(err, Math.abs(v - small[i]!))), (scale = Math.max(scale, Math.abs(v)))));
        expect(err / scale).toBeLessThan(1e-12);
        // and pruning changed something
        expect(block(w.layers[l]!, cfg, x, n).some((v, i) => Math.abs(v - full[i]!) > 1e-9)).toBe(true);
      }
    });
  }

  it('is deterministic and never modifies its input', async () => {
    const { cfg, w } = await fixture({ seed: 8 });
    const before = w.layers.map((lw) => LINEAR_KEYS.map((k) => lw[k]!.slice()));
    const a = structuredPlan(w.layers, cfg, spec('structured', 0.5, 'global'));
    const b = structuredPlan(w.layers, cfg, spec('structured', 0.5, 'global'));
    expect(a).toEqual(b);
    w.layers.forEach((lw, l) => LINEAR_KEYS.forEach((k, j) => expect(lw[k]).toEqual(before[l]![j])));
  });
});

describe('pruneHost', () => {
  it('reports exact kept counts per tensor; embeddings, norms and lm_head untouched', async () => {
    const { cfg, w } = await fixture({ seed: 9 });
    for (const s of [spec('unstructured', 0.5), spec('unstructured', 0.7, 'global'), spec('2:4', 0), spec('unstructured', 0.4, 'layer', false, true)]) {
      const { weights, report } = pruneHost(w, cfg, s);
      expect(weights.embed).toBe(w.embed);
      expect(weights.lmHead).toBe(w.lmHead);
      weights.layers.forEach((lw, l) => {
        expect(lw.inputNorm).toBe(w.layers[l]!.inputNorm);
        LINEAR_KEYS.forEach((k, j) => {
          const t = report.tensors[l * 7 + j]!;
          const nz = lw[k]!.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
          expect(t.kept).toBe(nz); // random normal weights have no exact zeros
          if (!t.pruned) expect(lw[k]).toBe(w.layers[l]![k]);
          else if (s.kind === '2:4') expect(t.kept).toBe(t.rows * (2 * Math.floor(t.cols / 4) + Math.min(2, t.cols % 4)));
          else if (s.scope === 'layer') expect(t.kept).toBe(keptCount(t.total, s.sparsity));
        });
      });
      const targeted = report.tensors.filter((t) => t.pruned);
      expect(report.kept).toBe(targeted.reduce((a, t) => a + t.kept, 0));
      if (s.scope === 'global') expect(report.kept).toBe(keptCount(report.total, s.sparsity));
    }
  });

  it("'none' changes nothing", async () => {
    const { cfg, w } = await fixture({ seed: 10 });
    const { weights, report } = pruneHost(w, cfg, spec('none', 0.5));
    weights.layers.forEach((lw, l) => LINEAR_KEYS.forEach((k) => expect(lw[k]).toBe(w.layers[l]![k])));
    expect(report.sparsity).toBe(0);
  });
});

describe('keepTop (quickselect threshold)', () => {
  it('equals a sort-based reference on random, tied and constant inputs', () => {
    const u = mulberry32(99);
    for (let trial = 0; trial < 60; trial++) {
      const n = randint(u, 1, 400);
      const levels = randint(u, 1, 6); // few distinct values: many ties
      const s = new Float64Array(n).map(() => (trial % 2 ? Math.floor(u() * levels) : u()));
      const k = randint(u, 0, n);
      const order = [...s.keys()].sort((a, b) => s[b]! - s[a]! || a - b);
      const want = new Uint8Array(n);
      for (const i of order.slice(0, k)) want[i] = 1;
      expect([...keepTop(s, k)]).toEqual([...want]);
    }
  });
  it('rejects NaN and infinities', () => {
    expect(() => keepTop(new Float32Array([1, Number.NaN, 2]), 1)).toThrow(/non-finite/);
    expect(() => magnitudeMask([1, Infinity, 2], 0.5)).toThrow(/non-finite/);
  });
});
