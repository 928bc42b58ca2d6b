// Q4_1 / Q5_0 / Q5_1 / Q4_K / Q5_K / Q6_K / Q8_K: the loader's dequantization (src/model/gguf-kquants.ts) equals,
// bit for bit, the test's independent per-element dequantizer (tests/fixtures/gguf-quants.ts) on random blocks
// and on the test quantizers' blocks; a few hand-built blocks pin the bit layout; ragged rows and non-finite
// scales are GgufErrors naming the tensor; a Q4_K_M-like llama GGUF loads with those tensors as f32 masters.
import { describe, expect, it } from 'vitest';
import { GgufError } from '../../src/model/errors';
import { readGguf } from '../../src/model/gguf';
import { dequantizeGgml } from '../../src/model/gguf-kquants';
import { loadGguf } from '../../src/model/gguf-model';
import { bytesSource } from '../../src/model/safetensors';
import { randn } from '../../src/ref/random';
import { loadFixture } from '../fixtures/llama';
import { blockOf, quantizeBlocks, QUANT_TYPES, type QuantType, randomBlocks, refDequant } from '../fixtures/gguf-quants';
import { modelGguf, writeGguf } from '../fixtures/gguf-writer';
import { f32ToF16Bits } from '../fixtures/safetensors-writer';

const TYPES = Object.keys(QUANT_TYPES) as QuantType[];

describe('ggml block types dequantized exactly', () => {
  for (const type of TYPES) {
    it(`${type}: random blocks and quantized data equal the per-element reference`, () => {
      const { block } = blockOf(type);
      const rows = 3;
      const cols = 2 * block;
      const raw = randomBlocks(type, rows * 2, 100 + blockOf(type).code);
      const got = dequantizeGgml(type, raw, rows, cols);
      const want = refDequant(type, raw);
      expect(got).toEqual(want);
      expect(new Set(got).size, 'random codes give many distinct values').toBeGreaterThan(cols / 4);

      const x = randn(rows * cols, 7, 0.3);
      x.fill(0, block, block + 32); // a zero sub-block
      const q = quantizeBlocks(type, x);
      const y = dequantizeGgml(type, q, rows, cols);
      expect(y).toEqual(refDequant(type, q));
      // the test quantizer is sane: within a step of each value (bits ≥ 4, |x| ≤ ~4.5σ)
      const err = Math.max(...x.map((v, i) => Math.abs(v - y[i]!)));
      expect(err).toBeLessThan(0.3 * 9 / 15 + 0.02);
      expect(err).toBeGreaterThan(0);
    });
  }

  it('hand-built blocks pin the layouts', () => {
    const h = (v: number) => f32ToF16Bits(v);
    // Q5_0: d = 0.5; element 3: low nibble 7 of qs[3], qh bit 3 set → 23 − 16 = 7 → 3.5; element 19: high nibble 1 of qs[3], qh bit 19 clear → −15·0.5
    const q50 = new Uint8Array(22);
    new DataView(q50.buffer).setUint16(0, h(0.5), true);
    new DataView(q50.buffer).setUint32(2, 1 << 3, true);
    q50[6 + 3] = 0x17;
    const y50 = dequantizeGgml('Q5_0', q50, 1, 32);
    expect([y50[3], y50[19], y50[0]]).toEqual([3.5, -7.5, -8]);
    // Q4_K: d = 1, dmin = 0.25; sub-block 5 (chunk 2, high nibbles): sc = (scales[9] & 15) | (scales[1] >> 6) << 4
    // = 3 | 2 << 4 = 35; mn = (scales[9] >> 4) | (scales[5] >> 6) << 4 = 1 | 1 << 4 = 17; element 64·2 + 32 + 4 = 164 has code qs[68] >> 4 = 9
    const q4k = new Uint8Array(144);
    const dv = new DataView(q4k.buffer);
    dv.setUint16(0, h(1), true);
    dv.setUint16(2, h(0.25), true);
    q4k[4 + 9] = 0x13;
    q4k[4 + 1] = 0x80;
    q4k[4 + 5] = 0x40;
    q4k[16 + 68] = 0x90;
    expect(dequantizeGgml('Q4_K', q4k, 1, 256)[164]).toBe(35 * 9 - 0.25 * 17);
    // Q6_K: d = 2; element 128 + 64 + 20 (half 1, k = 2, l = 20): low = ql[64 + 20] >> 4 = 5, high = (qh[32 + 20] >> 4) & 3 = 2
    // → q = 37 − 32 = 5; scale = scales[8 + 1 + 4] = −3 → 2·(−3)·5
    const q6k = new Uint8Array(210);
    const d6 = new DataView(q6k.buffer);
    d6.setUint16(208, h(2), true);
    q6k[64 + 20] = 0x50;
    q6k[128 + 32 + 20] = 0x20;
    d6.setInt8(192 + 13, -3);
    expect(dequantizeGgml('Q6_K', q6k, 1, 256)[212]).toBe(-30);
  });

  it('ragged rows, wrong byte counts and non-finite scales are GgufErrors naming the tensor', async () => {
    const bad = writeGguf({}, [{ name: 'blk.0.ffn_up.weight', dims: [128, 2], type: QUANT_TYPES.Q4_K[0], data: new Uint8Array(144) }]);
    await expect(readGguf(bytesSource('m.gguf', bad))).rejects.toThrow(/m\.gguf: blk\.0\.ffn_up\.weight: ne\[0\] = 128 is not a multiple of Q4_K's block of 256/);
    await expect(readGguf(bytesSource('m.gguf', writeGguf({}, [{ name: 'w', dims: [48], type: QUANT_TYPES.Q5_1[0], data: new Uint8Array(48) }])))).rejects.toThrow(
      /w: ne\[0\] = 48 is not a multiple of Q5_1's block of 32/,
    );
    expect(() => dequantizeGgml('Q6_K', new Uint8Array(210), 1, 128, 'm.gguf', 'output.weight')).toThrow(GgufError);
    expect(() => dequantizeGgml('Q6_K', new Uint8Array(209), 1, 256, 'm.gguf', 'output.weight')).toThrow(/output\.weight: 209 bytes, \(1, 256\) as Q6_K needs 210/);
    for (const type of TYPES) {
      const raw = randomBlocks(type, 4, 3);
      const { bytes } = blockOf(type);
      if (type === 'Q8_K') new DataView(raw.buffer).setFloat32(3 * bytes, NaN, true);
      else new DataView(raw.buffer).setUint16(3 * bytes + (type === 'Q6_K' ? 208 : 0), 0x7c00, true);
      expect(() => dequantizeGgml(type, raw, 2, 2 * blockOf(type).block, 'm.gguf', 't.weight'), type).toThrow(/t\.weight: block 1 of row 1 has scale (Infinity|NaN) \(must be finite\)/);
    }
  });

  it('a Q4_K_M-like llama GGUF: K-quant and Q5_0/Q4_1 tensors load as f32 masters, listed in rawConfig', async () => {
    const { weights } = await loadFixture({ seed: 31, hiddenSize: 256, intermediateSize: 256, nHeads: 4, nKvHeads: 2, vocabSize: 40, nLayers: 2 });
    const types = { token_embd: 'Q6_K', attn_q: 'Q4_K', attn_k: 'Q4_K', attn_v: 'Q5_K', attn_output: 'Q4_1', ffn_gate: 'Q4_K', ffn_up: 'Q5_0', ffn_down: 'Q5_1', output: 'Q6_K' } as const;
    const { bytes, expected } = modelGguf(weights, { arch: 'llama', nHeads: 4, nKvHeads: 2, maxSeq: 64, types });
    const m = await loadGguf(bytesSource('k.gguf', bytes), 'k');
    expect(m.prepacked).toBeUndefined();
    expect(m.weights.embed).toEqual(expected.embed);
    expect(m.weights.lmHead).toEqual(expected.lmHead);
    for (let l = 0; l < 2; l++) for (const k of ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const) expect(m.weights.layers[l]![k], `${l} ${k}`).toEqual(expected.layers[l]![k]);
    expect(m.weights.layers[0]!.q).not.toEqual(weights.layers[0]!.q); // really quantized…
    const err = Math.max(...m.weights.layers[0]!.q.map((v, i) => Math.abs(v - weights.layers[0]!.q[i]!)));
    expect(err).toBeLessThan(0.05); // …and un-permuted back to HF rows
    const dq = m.rawConfig['gguf_dequantized'] as Record<string, string[]>;
    expect(dq['Q6_K']).toEqual(['token_embd.weight', 'output.weight']);
    expect(dq['Q4_K']).toEqual(['blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.0.ffn_gate.weight', 'blk.1.attn_q.weight', 'blk.1.attn_k.weight', 'blk.1.ffn_gate.weight']);
    expect(Object.keys(dq).sort()).toEqual(['Q4_1', 'Q4_K', 'Q5_0', 'Q5_1', 'Q5_K', 'Q6_K']);
  });
});
