// f16 weight storage, host side: the packing spec (src/ref/f16.ts) bit for bit, its range errors, the f16 plan
// of src/techniques/quant-formats.ts, and the WGSL of both storage variants as src/kernels/gemv-f16.ts assembles
// them. The native (shader-f16) modules cannot be compiled on this machine's adapter: their source text is checked
// here, and tests/gpu/gemv-f16.test.ts runs them where an adapter has the feature.
import { describe, expect, it } from 'vitest';
import { assembleF16, f16Kernels, type F16Storage } from '../../src/kernels/gemv-f16';
import { F16_MAX, F16_MIN_NORMAL, F16RangeError, f16At, f16Bits, f16Value, packF16, roundTripF16, unpackF16 } from '../../src/ref/f16';
import { randn } from '../../src/ref/random';
import { defaultPlan, dequantizedHostWeights, precisionUnavailable, specFor, TIED_HEAD } from '../../src/techniques/quant-formats';
import { loadFixture } from '../fixtures/llama';
import { f32ToF16Bits } from '../fixtures/safetensors-writer';

describe('f16Bits / f16Value (round to nearest even, subnormals flushed)', () => {
  it('known values', () => {
    expect(f16Bits(1)).toBe(0x3c00);
    expect(f16Bits(-2)).toBe(0xc000);
    expect(f16Bits(0.1)).toBe(0x2e66);
    expect(f16Bits(F16_MAX)).toBe(0x7bff);
    expect(f16Bits(65519)).toBe(0x7bff); // below the tie at 65520
    expect(f16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa 0
    expect(f16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even mantissa 2
    expect(f16Bits(2 - 2 ** -12)).toBe(0x4000); // rounds up into the next binade
    expect(f16Bits(0)).toBe(0);
    expect(f16Bits(-0)).toBe(0x8000);
    expect(f16Bits(F16_MIN_NORMAL)).toBe(0x0400);
    expect(f16Bits(-F16_MIN_NORMAL * (1 - 2 ** -12))).toBe(0x8400); // rounds up to the smallest normal: kept
    expect(f16Bits(F16_MIN_NORMAL * (1 - 2 ** -11))).toBe(0x0400); // the tie 1023.5·2⁻²⁴ → even 1024·2⁻²⁴: kept
    expect(f16Bits(Math.fround(F16_MIN_NORMAL * (1 - 2 ** -11) * (1 - 2 ** -23)))).toBe(0); // just below: flushed
    expect(f16Bits(2 ** -15)).toBe(0); // f16-subnormal: flushed
    expect(f16Bits(-3e-7)).toBe(0x8000);
    for (const bad of [65520, -70000, Infinity, -Infinity, NaN]) expect(f16Bits(bad), String(bad)).toBe(-1);
  });

  it('agrees with the fixture writer (an independent bit-level f32 → f16) wherever the result is a normal f16', () => {
    const xs = [...randn(20000, 5, 3), ...randn(5000, 6, 2000), ...randn(5000, 7, 1e-3)];
    const bad: string[] = [];
    for (const v of xs) {
      const ref = f32ToF16Bits(v);
      const normal = (ref & 0x7c00) !== 0 && (ref & 0x7c00) !== 0x7c00;
      const want = normal ? ref : (ref & 0x7c00) === 0 ? ref & 0x8000 : -1; // subnormal → signed zero; Inf → refused
      if (f16Bits(v) !== want) bad.push(`${v}: ${f16Bits(v)} ≠ ${want}`);
    }
    expect(bad).toEqual([]);
  });

  it('every finite normal f16 and ±0 round-trips bit-exactly; subnormal patterns flush to signed zero', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const e = (h >> 10) & 0x1f;
      if (e !== 31 && f16Bits(f16Value(h)) !== (e === 0 ? h & 0x8000 : h)) bad.push(h);
    }
    expect(bad).toEqual([]);
  });
});

describe('packF16 / unpackF16', () => {
  it('layout: element 2j in the low half of word j, rows on a word, zero padding', () => {
    const W = new Float32Array([1, -2, 0.5, /* row 1 */ 3, 0.25, -1]);
    const p = packF16(W, 2, 3);
    expect(p.wordsPerRow).toBe(2);
    expect([...p.words]).toEqual([(0xc000 << 16 | 0x3c00) >>> 0, 0x3800, (0x3400 << 16 | 0x4200) >>> 0, 0xbc00]);
    expect(f16At(p, 1, 1)).toBe(0x3400);
    expect([...unpackF16(p)]).toEqual([...W]);
  });

  it('round-trip error ≤ 2⁻¹¹·|w| (half an ulp) for normal values, < 2⁻¹⁴ for tiny ones; never NaN/Inf', () => {
    const rows = 37;
    const cols = 45;
    const W = randn(rows * cols, 9, 0.5);
    for (let i = 0; i < W.length; i += 7) W[i] = W[i]! * 1e-4; // some in the subnormal range
    W[3] = F16_MAX;
    W[4] = -65519;
    const R = roundTripF16(W, rows, cols);
    for (let i = 0; i < W.length; i++) {
      const w = W[i]!;
      const bound = Math.abs(w) >= F16_MIN_NORMAL ? Math.abs(w) * 2 ** -11 : F16_MIN_NORMAL;
      expect(Number.isFinite(R[i]!)).toBe(true);
      expect(Math.abs(w - R[i]!), `element ${i}: ${w} → ${R[i]}`).toBeLessThanOrEqual(bound);
      if (Math.abs(R[i]!) > 0) expect(Math.abs(R[i]!)).toBeGreaterThanOrEqual(F16_MIN_NORMAL);
    }
  });

  it('a weight f16 cannot store is a typed error naming the tensor, the element and the limit', () => {
    const W = new Float32Array([0, 1, 2, 3, 70000, 5]);
    expect(() => packF16(W, 2, 3, 'model.layers.0.mlp.up_proj.weight')).toThrow(F16RangeError);
    expect(() => packF16(W, 2, 3, 'model.layers.0.mlp.up_proj.weight')).toThrow(/model\.layers\.0\.mlp\.up_proj\.weight: weight 70000 at \(1, 1\).*65520/);
    expect(() => packF16(new Float32Array([NaN]), 1, 1)).toThrow(F16RangeError);
    expect(() => packF16(new Float32Array(5), 2, 3)).toThrow(/5 values for \(2, 3\)/);
  });
});

describe('f16 precision plan', () => {
  it('is available on every adapter; the default plan keeps every linear f16 (no separate head spec)', () => {
    expect(precisionUnavailable('f16', { hasF16: false })).toBeNull();
    expect(precisionUnavailable('f16', { hasF16: true })).toBeNull();
    const plan = defaultPlan('f16');
    expect(plan.lmHead).toBeUndefined();
    expect(specFor(TIED_HEAD, plan).precision).toBe('f16');
  });

  it('dequantizedHostWeights: linears and the embedding table f16-rounded, norms untouched, a tied head is the table', async () => {
    const { weights: w } = await loadFixture({ seed: 6, tie: true });
    const H = w.finalNorm.length;
    const d = dequantizedHostWeights(w, defaultPlan('f16'));
    expect(d.finalNorm).toBe(w.finalNorm);
    expect(d.lmHead).toBe(d.embed);
    expect([...d.embed]).toEqual([...roundTripF16(w.embed, w.embed.length / H, H)]);
    expect([...d.layers[1]!.q]).toEqual([...roundTripF16(w.layers[1]!.q, w.layers[1]!.q.length / H, H)]);
    expect(d.layers[1]!.q).not.toEqual(w.layers[1]!.q);
  });
});

describe('WGSL of the f16 kernels, as assembled per storage variant', () => {
  const STORAGES: readonly F16Storage[] = ['unpack', 'native'];
  const ENTRIES = { gemv: ['rows4', 'wg'], matmul: ['reg4x4', 'tile16'] } as const;
  const code = (src: string) => src.replace(/\/\/.*$/gm, ''); // comments removed
  for (const storage of STORAGES) {
    for (const fam of ['gemv', 'matmul'] as const) {
      it(`${fam} ${storage}`, () => {
        const spec = f16Kernels(storage)[fam];
        const src = spec.source;
        const body = code(src);
        expect(spec.name).toBe(`${fam}_f16${storage === 'native' ? '_native' : ''}`);
        for (const e of ENTRIES[fam]) expect(body, `entry ${e}`).toMatch(new RegExp(`@compute[^{]*\\bfn ${e}\\(`));
        expect(body.match(/\bfn w2\(/g) ?? []).toHaveLength(1);
        expect(body.match(/var<storage, read> W:/g) ?? []).toHaveLength(1);
        if (storage === 'native') {
          expect(src.startsWith('enable f16;\n')).toBe(true);
          expect(body.match(/\benable\b/g) ?? []).toHaveLength(1);
          expect(body).toMatch(/var<storage, read> W: array<vec2<f16>>;/);
          expect(body).not.toMatch(/unpack2x16float/);
        } else {
          expect(body).not.toMatch(/\benable\b/);
          expect(body).not.toMatch(/\bf16\b/);
          expect(body).toMatch(/var<storage, read> W: array<u32>;/);
          expect(body).toMatch(/unpack2x16float\(W\[i\]\)/);
        }
      });
    }
  }

  it('assembleF16 refuses a file whose section markers are missing or out of order', () => {
    expect(() => assembleF16('fn main() {}', 'unpack', 'x.wgsl')).toThrow(/x\.wgsl: .*markers/);
    const swapped = '// ---- storage: native\n// ---- storage: unpack\n// ---- entry points\n';
    expect(() => assembleF16(swapped, 'native', 'y.wgsl')).toThrow(/y\.wgsl/);
  });
});
