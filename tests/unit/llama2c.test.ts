// llama2.c checkpoints: the loader reads version 0 and 1 files written by tests/fixtures/llama2c-writer.ts, and the
// lab's reference forward (rotate_half RoPE) on the loaded weights gives the logits of llama2.c's own math
// (run.c's forward with INTERLEAVED RoPE, transcribed below in float64) on the file's weights. Header, size,
// truncation and tokenizer.bin errors are typed and name the file and the field.
import { describe, expect, it } from 'vitest';
import { Llama2cError, TokenizerError } from '../../src/model/errors';
import { interleavedToHalf, loadLlama2c, parseTokenizerBin } from '../../src/model/llama2c';
import { bytesSource } from '../../src/model/safetensors';
import { RefModel } from '../../src/ref/forward';
import { randn } from '../../src/ref/random';
import { loadFixture } from '../fixtures/llama';
import { dequantQ80, halfToInterleaved, llama2cFromHf, makeLlama2cVocab, writeLlama2c, writeTokenizerBin, type Llama2cModel } from '../fixtures/llama2c-writer';

/** run.c's forward for one token sequence, float64: returns logits (n, vocab). */
function llama2cForward(m: Llama2cModel, tokens: number[]): Float64Array {
  const { dim: D, hiddenDim: H, nHeads, vocabSize: V } = m;
  const hs = D / nHeads;
  const kvDim = (D * m.nKvHeads) / nHeads;
  const kvMul = nHeads / m.nKvHeads;
  const matmul = (w: Float32Array, x: Float64Array, rows: number, cols: number) => {
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[c]!;
      y[r] = s;
    }
    return y;
  };
  const rmsnorm = (x: Float64Array, w: Float32Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const inv = 1 / Math.sqrt(ss / x.length + 1e-5);
    return x.map((v, i) => v * inv * w[i]!);
  };
  const keys: Float64Array[][] = m.wq.map(() => []);
  const vals: Float64Array[][] = m.wq.map(() => []);
  const out = new Float64Array(tokens.length * V);
  tokens.forEach((tok, pos) => {
    let x = Float64Array.from(m.embed.subarray(tok * D, (tok + 1) * D));
    for (let l = 0; l < m.nLayers; l++) {
      const xb = rmsnorm(x, m.rmsAtt[l]!);
      const q = matmul(m.wq[l]!, xb, D, D);
      const k = matmul(m.wk[l]!, xb, kvDim, D);
      const v = matmul(m.wv[l]!, xb, kvDim, D);
      for (let i = 0; i < D; i += 2) {
        const freq = 1 / 10000 ** ((i % hs) / hs);
        const [c, s] = [Math.cos(pos * freq), Math.sin(pos * freq)];
        for (const vec of i < kvDim ? [q, k] : [q]) {
          const [v0, v1] = [vec[i]!, vec[i + 1]!];
          vec[i] = v0 * c - v1 * s;
          vec[i + 1] = v0 * s + v1 * c;
        }
      }
      keys[l]!.push(k);
      vals[l]!.push(v);
      const att = new Float64Array(D);
      for (let h = 0; h < nHeads; h++) {
        const kvOff = Math.floor(h / kvMul) * hs;
        const sc = keys[l]!.map((kt) => {
          let s = 0;
          for (let i = 0; i < hs; i++) s += q[h * hs + i]! * kt[kvOff + i]!;
          return s / Math.sqrt(hs);
        });
        const mx = Math.max(...sc);
        const e = sc.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        e.forEach((p, t) => {
          for (let i = 0; i < hs; i++) att[h * hs + i] += (p / z) * vals[l]![t]![kvOff + i]!;
        });
      }
      x = x.map((xi, i) => xi + matmul(m.wo[l]!, att, D, D)[i]!);
      const xb2 = rmsnorm(x, m.rmsFfn[l]!);
      const h1 = matmul(m.w1[l]!, xb2, H, D);
      const h3 = matmul(m.w3[l]!, xb2, H, D);
      const hb = h1.map((g, i) => (g / (1 + Math.exp(-g))) * h3[i]!);
      const down = matmul(m.w2[l]!, hb, D, H);
      x = x.map((xi, i) => xi + down[i]!);
    }
    out.set(matmul(m.wcls ?? m.embed, rmsnorm(x, m.rmsFinal), V, D), pos * V);
  });
  return out;
}

const maxRelErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
};

async function fixtureModel(opts: { seed: number; tie?: boolean; nKvHeads?: number }) {
  const { cfg, weights } = await loadFixture({ ...opts, hiddenSize: 36, nHeads: 3, nKvHeads: opts.nKvHeads ?? 3, intermediateSize: 50, vocabSize: 41, maxSeq: 16 });
  return { cfg, weights, m: llama2cFromHf(cfg, weights) };
}

describe('loadLlama2c', () => {
  for (const version of [0, 1] as const)
    for (const tie of [false, true])
      it(`version ${version}, ${tie ? 'shared' : 'unshared'} classifier: config and weights round-trip`, async () => {
        const { weights, m } = await fixtureModel({ seed: 3 + version, tie });
        const bin = writeLlama2c(m, version);
        const lm = await loadLlama2c(bytesSource('model.bin', bin), null, 'tiny');
        expect(lm.name).toBe('tiny');
        expect(lm.tokenizer).toBeNull();
        expect(lm.weightFileBytes).toBe(bin.length);
        const c = lm.config;
        expect([c.architecture, c.hiddenSize, c.intermediateSize, c.nLayers, c.nHeads, c.nKvHeads, c.headDim, c.vocabSize, c.maxSeq])
          .toEqual(['llama', 36, 50, 2, 3, 3, 12, 41, 16]);
        expect([c.normEps, c.ropeTheta, c.tieWordEmbeddings, c.bosTokenId, c.eosTokenIds, c.attentionBias]).toEqual([1e-5, 10000, tie, 1, [2], false]);
        // wq/wk come back in rotate_half order, i.e. exactly the HF fixture's arrays
        expect(lm.weights.embed).toEqual(weights.embed);
        expect(lm.weights.finalNorm).toEqual(weights.finalNorm);
        expect(lm.weights.lmHead).toEqual(weights.lmHead);
        if (tie) expect(lm.weights.lmHead).toBe(lm.weights.embed);
        lm.weights.layers.forEach((l, i) => {
          const w = weights.layers[i]!;
          for (const k of ['inputNorm', 'q', 'k', 'v', 'o', 'postNorm', 'gate', 'up', 'down'] as const) expect(l[k], `layer ${i} ${k}`).toEqual(w[k]);
        });
      });

  it('version 2 (Q8_0): weights are runq.c\'s dequantized int8 values, wq/wk permuted after dequantizing', async () => {
    for (const tie of [false, true]) {
      const { m } = await fixtureModel({ seed: 7, tie });
      const gs = 12;
      const bin = writeLlama2c(m, 2, gs);
      const lm = await loadLlama2c(bytesSource('model-q80.bin', bin), null, 'q');
      expect(lm.rawConfig.llama2c_version).toBe(2);
      expect(lm.config.tieWordEmbeddings).toBe(tie);
      const dq = (w: Float32Array) => dequantQ80(w, gs);
      expect(lm.weights.embed).toEqual(dq(m.embed));
      expect(lm.weights.lmHead).toEqual(dq(m.wcls ?? m.embed));
      expect(lm.weights.finalNorm).toEqual(m.rmsFinal); // norms stay f32
      lm.weights.layers.forEach((l, i) => {
        expect(l.inputNorm).toEqual(m.rmsAtt[i]);
        expect(l.q).toEqual(interleavedToHalf(dq(m.wq[i]!), 36, 36, 12));
        expect(l.k).toEqual(interleavedToHalf(dq(m.wk[i]!), 36, 36, 12));
        expect(l.v).toEqual(dq(m.wv[i]!));
        expect(l.gate).toEqual(dq(m.w1[i]!));
        expect(l.down).toEqual(dq(m.w2[i]!));
        expect(l.up).toEqual(dq(m.w3[i]!));
      });
      // quantization really happened (and is close)
      expect(lm.weights.embed).not.toEqual(m.embed);
      expect(maxRelErr(lm.weights.embed, m.embed)).toBeLessThan(0.01);
    }
  });

  it("matches llama2.c's own math (interleaved RoPE) on the file's weights, with GQA", async () => {
    // weights drawn directly in llama2.c's layout, so nothing here depends on the writer's permutation
    const [D, H, L, nH, nKv, V, S] = [24, 40, 2, 4, 2, 37, 12];
    const kv = (D * nKv) / nH;
    let seed = 100;
    const r = (n: number, std: number, mean = 0) => randn(n, seed++, std).map((x) => x + mean);
    const m: Llama2cModel = {
      dim: D, hiddenDim: H, nLayers: L, nHeads: nH, nKvHeads: nKv, vocabSize: V, seqLen: S,
      embed: r(V * D, 0.5), rmsAtt: [r(D, 0.1, 1), r(D, 0.1, 1)], wq: [r(D * D, 0.6), r(D * D, 0.6)], wk: [r(kv * D, 0.6), r(kv * D, 0.6)],
      wv: [r(kv * D, 0.2), r(kv * D, 0.2)], wo: [r(D * D, 0.2), r(D * D, 0.2)], rmsFfn: [r(D, 0.1, 1), r(D, 0.1, 1)],
      w1: [r(H * D, 0.2), r(H * D, 0.2)], w2: [r(D * H, 0.16), r(D * H, 0.16)], w3: [r(H * D, 0.2), r(H * D, 0.2)],
      rmsFinal: r(D, 0.1, 1), wcls: r(V * D, 0.6),
    };
    const tokens = [1, 7, 30, 2, 11, 36, 5, 5, 19, 0, 8];
    const want = llama2cForward(m, tokens);
    for (const version of [0, 1] as const) {
      const lm = await loadLlama2c(bytesSource('model.bin', writeLlama2c(m, version)), null, 'x');
      const got = new RefModel(lm.config, lm.weights, S).forward(tokens, 0);
      expect(maxRelErr(got, want), `version ${version}`).toBeLessThan(1e-9);
    }
    // version 2: llama2.c's math on the dequantized matrices (runq.c also quantizes activations: not modelled)
    const dq = (ws: Float32Array[]) => ws.map((w) => dequantQ80(w, 8));
    const m2: Llama2cModel = {
      ...m, embed: dequantQ80(m.embed, 8), wq: dq(m.wq), wk: dq(m.wk), wv: dq(m.wv), wo: dq(m.wo), w1: dq(m.w1), w2: dq(m.w2), w3: dq(m.w3),
      wcls: dequantQ80(m.wcls!, 8),
    };
    const lm2 = await loadLlama2c(bytesSource('model.bin', writeLlama2c(m, 2, 8)), null, 'x');
    expect(maxRelErr(new RefModel(lm2.config, lm2.weights, S).forward(tokens, 0), llama2cForward(m2, tokens))).toBeLessThan(1e-9);
    // and without the permutation the logits would be wrong (the check above is not vacuous)
    const lm = await loadLlama2c(bytesSource('model.bin', writeLlama2c(m, 1)), null, 'x');
    lm.weights.layers.forEach((l, i) => {
      l.q = m.wq[i]!;
      l.k = m.wk[i]!;
    });
    expect(maxRelErr(new RefModel(lm.config, lm.weights, S).forward(tokens, 0), want)).toBeGreaterThan(1e-3);
  });

  it('interleavedToHalf inverts the writer permutation and moves whole rows', () => {
    const w = Float32Array.from({ length: 8 * 3 }, (_, i) => i);
    const half = interleavedToHalf(w, 8, 3, 4);
    expect(Array.from(half.subarray(0, 12))).toEqual([0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11]); // rows 0,2,1,3 of head 0
    expect(halfToInterleaved(half, 8, 3, 4)).toEqual(w);
  });

  it('reads tokenizer.bin into an SpmTokenizer that round-trips text', async () => {
    const { m } = await fixtureModel({ seed: 9 });
    const vocab = makeLlama2cVocab(330);
    const big: Llama2cModel = { ...m, vocabSize: 330, embed: randn(330 * m.dim, 1, 0.5), wcls: randn(330 * m.dim, 2, 0.5) };
    const lm = await loadLlama2c(bytesSource('stories.bin', writeLlama2c(big, 1)), writeTokenizerBin(vocab.pieces, vocab.scores), 'stories');
    const tok = lm.tokenizer!;
    expect(tok.vocabSize).toBe(330);
    expect(tok.eosTokenIds).toEqual([2]);
    const ids = tok.encode('Once upon a time, the girl was happy.\n😀');
    expect(ids).toContain(vocab.pieces.indexOf(' the'));
    expect(ids).toContain(vocab.pieces.indexOf('<0x0A>'));
    expect(tok.decode(ids)).toBe('Once upon a time, the girl was happy.\n😀');
    expect(tok.decode([1, ...tok.encode('the')])).toBe('\n<s>\nthe');
  });
});

describe('llama2.c errors', () => {
  const base = async () => (await fixtureModel({ seed: 5 })).m;
  const load = (bytes: Uint8Array, tok: Uint8Array | null = null) => loadLlama2c(bytesSource('model.bin', bytes), tok, 'x');

  it('a truncated or padded file names expected and actual bytes', async () => {
    for (const version of [0, 1, 2] as const) {
      const bin = writeLlama2c(await base(), version, 12);
      await expect(load(bin.subarray(0, bin.length - 4))).rejects.toThrow(Llama2cError);
      await expect(load(bin.subarray(0, bin.length - 4))).rejects.toThrow(new RegExp(`model\\.bin: is ${bin.length - 4} bytes but .* is exactly ${bin.length} bytes \\(truncated\\?\\)`));
      const padded = new Uint8Array(bin.length + 8);
      padded.set(bin);
      await expect(load(padded)).rejects.toThrow(`is ${bin.length + 8} bytes but a version-${version} checkpoint`);
    }
    await expect(load(new Uint8Array(10))).rejects.toThrow(/model\.bin: is 10 bytes: too short/);
    await expect(load(writeLlama2c(await base(), 1).subarray(0, 100))).rejects.toThrow(/too short for a version-1/);
  });

  it('insane header values are refused by field before anything is allocated', async () => {
    const edit = (version: 0 | 1, field: number, value: number) => {
      const bin = writeLlama2c(m, version);
      new DataView(bin.buffer).setInt32((version ? 8 : 0) + 4 * field, value, true);
      return bin;
    };
    const m = await base();
    await expect(load(edit(0, 0, -5))).rejects.toThrow(/header field dim is -5, expected 1\.\.65536/);
    await expect(load(edit(0, 2, 0))).rejects.toThrow(/n_layers is 0/);
    await expect(load(edit(1, 6, 2 ** 30))).rejects.toThrow(/seq_len is 1073741824/);
    await expect(load(edit(0, 3, 5))).rejects.toThrow(/dim 36 is not a multiple of n_heads 5/);
    await expect(load(edit(0, 4, 2))).rejects.toThrow(/n_heads 3 is not a multiple of n_kv_heads 2/);
    await expect(load(edit(0, 3, 4))).rejects.toThrow(/head size dim\/n_heads = 9 is odd/);
    await expect(load(edit(0, 3, 36))).rejects.toThrow(/n_heads 36 is not a multiple|head size .* 1 is odd/);
    await expect(load(edit(1, 5, -41))).rejects.toThrow(/vocab_size is -41, must be positive/);
    await expect(load(edit(1, 0, 1 << 20))).rejects.toThrow(Llama2cError);
  });

  it('refuses unknown versions by name, a bad shared flag, and bad Q8_0 group sizes', async () => {
    const bin = writeLlama2c(await base(), 1);
    const dv = new DataView(bin.buffer);
    dv.setInt32(4, 2, true);
    await expect(load(bin)).rejects.toThrow(/group_size is 0, expected 1\.\.65536/); // a v1 file relabelled as v2
    dv.setInt32(4, 7, true);
    await expect(load(bin)).rejects.toThrow(/version 7; supported: 0 \(legacy\), 1 \(f32\) and 2 \(Q8_0\)/);
    dv.setInt32(4, 1, true);
    bin[36] = 3;
    await expect(load(bin)).rejects.toThrow(/shared_classifier is 3/);
    const q = writeLlama2c(await base(), 2, 12);
    new DataView(q.buffer).setInt32(37, 7, true);
    await expect(load(q)).rejects.toThrow(/model\.bin: embed has 1476 values, not a multiple of group_size 7/);
    new DataView(q.buffer).setInt32(37, 36, true); // divides everything but changes the size
    await expect(load(q)).rejects.toThrow(/is \d+ bytes but a version-2 checkpoint with group_size 36/);
    const q2 = writeLlama2c(await base(), 2, 12);
    new DataView(q2.buffer).setFloat32(256 + 4 * (2 * 2 * 36 + 36) + 1476, NaN, true); // the embedding's first scale
    await expect(load(q2)).rejects.toThrow(/embed: group 0 has scale NaN/);
  });

  it('tokenizer.bin errors are TokenizerErrors naming tokenizer.bin', () => {
    const v = makeLlama2cVocab(300);
    const tb = writeTokenizerBin(v.pieces, v.scores);
    expect(parseTokenizerBin(tb, 300).vocabSize).toBe(300);
    expect(() => parseTokenizerBin(tb.subarray(0, tb.length - 3), 300)).toThrow(TokenizerError);
    expect(() => parseTokenizerBin(tb.subarray(0, tb.length - 3), 300)).toThrow(/tokenizer\.bin: ends at byte .* inside token 299/);
    expect(() => parseTokenizerBin(tb, 299)).toThrow(/bytes after its 299 tokens/);
    expect(() => parseTokenizerBin(tb, 301)).toThrow(/inside token 300/);
    expect(() => parseTokenizerBin(writeTokenizerBin(v.pieces, v.scores, 0), 300)).toThrow(/max_token_length is 0/);
    expect(() => parseTokenizerBin(writeTokenizerBin(v.pieces, v.scores, 4), 300)).toThrow(/token 0 has length 5, outside 0\.\.max_token_length 4/);
    expect(() => parseTokenizerBin(new Uint8Array(2), 300)).toThrow(/too short/);
  });

  it('a tokenizer.bin for another vocabulary size fails the load', async () => {
    const v = makeLlama2cVocab(300);
    await expect(load(writeLlama2c(await base(), 0), writeTokenizerBin(v.pieces, v.scores))).rejects.toThrow(/tokenizer\.bin: .*after its 41 tokens/);
  });
});
