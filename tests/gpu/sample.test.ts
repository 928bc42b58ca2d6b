import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import type { GpuTensor } from '../../src/gpu/tensor';
import { argmax, sample, sampleUniforms, sampleWorkgroupSize, type SampleSettings } from '../../src/kernels/sample';
import { argmax as argmaxRef, sampleDetail } from '../../src/ref/sample';
import { mulberry32, randn } from '../../src/ref/random';
import { getGpu } from './harness';

const f32 = Math.fround;
const POISON = 0xdeadbeef;

interface Case {
  logits: Float32Array;
  s: SampleSettings;
  u: number;
  /** Workgroup size; default: the adapter's (32 on SwiftShader). */
  wg?: number;
}

describe('argmax and sample (GPU token selection) vs src/ref/sample.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  /** Runs every case in one command encoder (each result copied to its own slot) and reads the ids back. */
  async function runSamples(cases: Case[]): Promise<Uint32Array> {
    const tensors = new Map<Float32Array, GpuTensor>();
    const out = gpu.pool.fromArray('out', [1], new Uint32Array([POISON]), 'activations');
    const res = gpu.pool.fromArray('res', [cases.length], new Uint32Array(cases.length).fill(POISON), 'staging');
    const rec = new Recorder(gpu);
    cases.forEach((c, i) => {
      let t = tensors.get(c.logits);
      if (!t) tensors.set(c.logits, (t = gpu.pool.fromArray('logits', [c.logits.length], c.logits, 'activations')));
      const n = c.logits.length;
      rec.run(sample, { n, wg: c.wg }, { logits: t, out }, sampleUniforms(n, c.s, c.u));
      rec.copy(out, res, 4, 0, 4 * i);
    });
    rec.submit();
    const got = await gpu.pool.readU32(res);
    for (const t of [...tensors.values(), out, res]) gpu.pool.release(t);
    return got;
  }

  it('argmax: first index of the max, any size (to 151,936), ties and negatives', async () => {
    const xs: Float32Array[] = [];
    for (const n of [1, 3, 37, 128, 257, 1000, 32003, 151936]) xs.push(randn(n, n));
    const tied = randn(999, 3).map((v) => Math.round(v)); // many ties at the max
    xs.push(tied, randn(300, 4).map((v) => -Math.abs(v) - 5)); // all negative
    const late = randn(5000, 6);
    late[4999] = 100; // the max in the last slot
    xs.push(late);
    for (const [i, x] of xs.entries()) {
      const wg = [16, 32, 128, 256][i % 4]!;
      const tx = gpu.pool.fromArray('x', [x.length], x, 'activations');
      const to = gpu.pool.fromArray('out', [1], new Uint32Array([POISON]), 'activations');
      const rec = new Recorder(gpu);
      rec.run(argmax, { n: x.length, wg }, { x: tx, out: to }, { n: x.length });
      rec.submit();
      expect((await gpu.pool.readU32(to))[0], `argmax n=${x.length} wg=${wg}`).toBe(argmaxRef(x));
      gpu.pool.release(tx);
      gpu.pool.release(to);
    }
  });

  it('sample: the same id as the reference over random logits, settings and u (boundary cases skipped)', async () => {
    const r = mulberry32(2024);
    const pickOf = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
    const cases: Case[] = [];
    for (const n of [1, 2, 5, 37, 130, 1000, 4097, 32003, 151936]) {
      const base = randn(n, n + 1, 1 + 3 * r());
      const sets = n > 40000 ? [base] : [base, base.map((v) => Math.round(v * 4) / 4)]; // the second has ties
      for (const logits of sets) {
        for (let j = 0; j < (n > 40000 ? 3 : 14); j++) {
          const s = {
            temperature: pickOf([0, 0.05, 0.25, 0.7, 1, 1, 1.3]),
            topK: pickOf([0, 0, 1, 2, 5, 50, n - 1, n, n + 3]),
            topP: pickOf([1, 1, 0.95, 0.6, 0.2, 0]),
          };
          cases.push({ logits, s, u: Math.min(r(), f32(1 - 2 ** -24)), wg: [16, 32, 128][cases.length % 3] });
        }
      }
    }
    const got = await runSamples(cases);
    let skipped = 0;
    let skippedAgree = 0;
    let sampled = 0;
    cases.forEach((c, i) => {
      const d = sampleDetail(c.logits, { temperature: f32(c.s.temperature), topK: c.s.topK, topP: f32(c.s.topP) }, f32(c.u));
      if (d.marginP < 1e-5 || d.marginU < 1e-5) {
        skipped++;
        if (got[i] === d.id) skippedAgree++;
        return;
      }
      if (d.probs) sampled++;
      const what = `case ${i}: n=${c.logits.length} wg=${c.wg} ${JSON.stringify(c.s)} u=${c.u}`;
      expect(got[i], what).toBe(d.id);
    });
    console.log(`sample: ${cases.length} cases, ${sampled} sampled (T > 0), ${skipped} skipped within 1e-5 of a boundary (${skippedAgree} of them agreed anyway)`);
    expect(skipped).toBeLessThan(cases.length * 0.05);
    expect(sampled).toBeGreaterThan(cases.length * 0.6);
  });

  it('picks the workgroup size by adapter (or autotune), and checks u', () => {
    const t = { isFallback: true, hasSubgroups: false, hasF16: false, maxWorkgroupSize: 256, tuned: {} };
    expect(sampleWorkgroupSize({ n: 9 }, t)).toBe(32);
    expect(sampleWorkgroupSize({ n: 9 }, { ...t, isFallback: false })).toBe(128);
    expect(sampleWorkgroupSize({ n: 9 }, { ...t, tuned: { sample: '64' } })).toBe(64);
    expect(() => sample.variant({ n: 9, wg: 256 }, t)).toThrow(/workgroup size/);
    expect(argmax.variant({ n: 9, wg: 256 }, t).constants).toEqual({ WG: 256 });
    expect(() => sampleUniforms(9, { temperature: 1, topK: 0, topP: 1 }, 1)).toThrow(/\[0, 1\)/);
  });

  // Hand-built distributions: logits ln(w) so that exp(logit − max) = w / max(w).
  const w = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 0.5];
  const logits = Float32Array.from(w, Math.log);
  const expected: [string, SampleSettings, number[]][] = [
    // top-k 6 keeps w 10, 9, 8, 7, 6, 5 (mass 45); top-p 0.7: 10, 19, 27, 34 (≥ 31.5) → keeps 10, 9, 8, 7.
    ['T=1 topK=6 topP=0.7', { temperature: 1, topK: 6, topP: 0.7 }, w.map((v) => (v >= 7 ? v / 34 : 0))],
    // T = 0.5 squares the weights; no truncation.
    ['T=0.5', { temperature: 0.5, topK: 0, topP: 1 }, w.map((v) => (v * v) / w.reduce((a, b) => a + b * b, 0))],
  ];
  for (const [name, s, p] of expected) {
    it(`sample: frequencies follow the kept, renormalised distribution (${name}, chi-square)`, async () => {
      const N = 1000;
      const r = mulberry32(99);
      const cases: Case[] = Array.from({ length: N }, () => ({ logits, s, u: Math.min(r(), f32(1 - 2 ** -24)) }));
      const got = await runSamples(cases);
      const counts = new Array<number>(w.length).fill(0);
      for (const id of got) {
        expect(id).toBeLessThan(w.length);
        counts[id]!++;
      }
      let chi2 = 0;
      let df = -1;
      counts.forEach((c, i) => {
        if (p[i] === 0) expect(c, `token ${i} is not kept`).toBe(0);
        else {
          chi2 += (c - N * p[i]!) ** 2 / (N * p[i]!);
          df++;
        }
      });
      // p = 0.001 critical values of chi-square by degrees of freedom
      const crit: Record<number, number> = { 3: 16.27, 10: 29.59 };
      console.log(`sample ${name}: chi2 = ${chi2.toFixed(2)} (df ${df}, 0.1% critical ${crit[df]}) counts ${counts.join(' ')}`);
      expect(chi2).toBeLessThan(crit[df]!);
    });
  }
});
