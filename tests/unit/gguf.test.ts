// GGUF reader: every metadata value type, alignment, bounds/overlap/huge-count errors, unsupported types refused by
// name; Q8_0/Q4_0 → Packed exactness against ggml's reference (de)quantizers written in the test-side writer; the
// model mapping (config, shapes, llama q/k un-permutation, prepacked codes) and the GGUF vocabularies.
import { describe, expect, it } from 'vitest';
import { GgufError, MissingTensorError, ModelLoadError, ShapeMismatchError } from '../../src/model/errors';
import { readGguf } from '../../src/model/gguf';
import { GgufMeta } from '../../src/model/gguf-meta';
import { loadGguf } from '../../src/model/gguf-model';
import { q4_0ToPacked, q8_0ToPacked } from '../../src/model/gguf-tensors';
import { bytesSource, f16ToF32 } from '../../src/model/safetensors';
import { randn } from '../../src/ref/random';
import { dequantize, quantAt } from '../../src/techniques/quantize';
import { loadFixture } from '../fixtures/llama';
import { dequantizeBlocks, type MetaValue, modelGguf, quantizeQ4_0, quantizeQ8_0, writeGguf, type WriterTensor } from '../fixtures/gguf-writer';

const src = (b: Uint8Array) => bytesSource('t.gguf', b);
const parse = (b: Uint8Array) => readGguf(src(b));
const f32t = (name: string, dims: number[], seed = 1): WriterTensor => ({ name, dims, type: 'F32', data: randn(dims.reduce((a, d) => a * d, 1), seed) });
const rejects = async (b: Uint8Array, pattern: RegExp) => {
  const err = await parse(b).then(() => null, (e: unknown) => e);
  expect(err, 'expected a GgufError').toBeInstanceOf(GgufError);
  expect((err as Error).message).toMatch(pattern);
  expect((err as Error).message.startsWith('t.gguf: ')).toBe(true);
};

describe('GGUF header and metadata', () => {
  it('reads every value type, nested arrays, and u64 beyond 2^53 as bigint', async () => {
    const meta: Record<string, MetaValue> = {
      a_u8: { type: 'u8', value: 250 }, a_i8: { type: 'i8', value: -7 }, a_u16: { type: 'u16', value: 65000 },
      a_i16: { type: 'i16', value: -30000 }, a_u32: { type: 'u32', value: 4000000000 }, a_i32: { type: 'i32', value: -2000000000 },
      a_f32: { type: 'f32', value: 0.1 }, a_bool: { type: 'bool', value: true }, a_str: { type: 'string', value: 'héllo ▁' },
      a_u64: { type: 'u64', value: 2n ** 60n + 1n }, a_i64: { type: 'i64', value: -5n }, a_f64: { type: 'f64', value: Math.PI },
      a_arr: { type: 'array', itemType: 'string', items: ['x', '', 'yz'] },
      a_nest: { type: 'array', itemType: 'array', items: [{ type: 'array', itemType: 'i32', items: [1, -2] }, { type: 'array', itemType: 'bool', items: [false] }] },
    };
    const g = await parse(writeGguf(meta, [f32t('w', [32, 3])], { version: 2 }));
    expect(g.version).toBe(2);
    const v = (k: string) => g.metadata.get(k)!.value;
    expect([v('a_u8'), v('a_i8'), v('a_u16'), v('a_i16'), v('a_u32'), v('a_i32')]).toEqual([250, -7, 65000, -30000, 4000000000, -2000000000]);
    expect(v('a_f32')).toBe(Math.fround(0.1));
    expect([v('a_bool'), v('a_str'), v('a_u64'), v('a_i64'), v('a_f64')]).toEqual([true, 'héllo ▁', 2n ** 60n + 1n, -5, Math.PI]);
    expect(v('a_arr')).toEqual({ itemType: 'string', items: ['x', '', 'yz'] });
    expect(v('a_nest')).toEqual({ itemType: 'array', items: [{ itemType: 'i32', items: [1, -2] }, { itemType: 'bool', items: [false] }] });
    expect(g.metadata.get('a_u64')!.type).toBe('u64');
    const m = new GgufMeta(g);
    expect(m.strings('a_arr')).toEqual(['x', '', 'yz']);
    expect(() => m.int('a_str')).toThrow(/a_str: must be a non-negative integer, got string "héllo ▁"/);
    expect(() => m.int('nope')).toThrow(/nope: is missing/);
  });

  it('aligns the data section and tensors to general.alignment, and reads tensors at their offsets', async () => {
    for (const alignment of [32, 64, 8]) {
      const t = [f32t('a', [3]), f32t('b', [32, 2], 2)];
      const g = await parse(writeGguf({ k: { type: 'string', value: 'abc' } }, t, { alignment, writeAlignment: true }));
      expect(g.alignment).toBe(alignment);
      expect(g.dataStart % alignment).toBe(0);
      for (const info of g.tensors.values()) expect((info.begin - g.dataStart) % alignment).toBe(0);
      const b = g.tensors.get('b')!;
      expect(b.dims).toEqual([32, 2]);
      expect(b.end - b.begin).toBe(256);
    }
    await rejects(writeGguf({}, [f32t('a', [3])], { alignment: 24, writeAlignment: true }), /general\.alignment: must be a u32 power of two/);
  });

  it('refuses bad magic, versions, big-endian files and truncation', async () => {
    const good = writeGguf({ k: { type: 'u32', value: 1 } }, [f32t('a', [32, 4])]);
    await rejects(writeGguf({}, [], { magic: 'GGML' }), /not a GGUF file \(magic "GGML"/);
    await rejects(writeGguf({}, [], { version: 1 }), /GGUF version 1 is not supported \(2 or 3\)/);
    await rejects(writeGguf({}, [], { version: 0x03000000 }), /big-endian GGUF \(version 3\) is not supported/);
    await rejects(good.subarray(0, 20), /too short/);
    await rejects(good.subarray(0, 40), /truncated/);
    await rejects(good.subarray(0, good.length - 1), /a: bytes 0\.\.512 of the data section run past its end/);
  });

  it('checks lengths and counts against the file size BEFORE allocating', async () => {
    const ok = writeGguf({ key: { type: 'string', value: 'x' } }, []);
    // key length (u64 at byte 24) set huge
    const hugeKey = ok.slice();
    new DataView(hugeKey.buffer).setBigUint64(24, 2n ** 40n, true);
    await rejects(hugeKey, /metadata key #0 is 1099511627776 bytes, above the 65536-byte limit/);
    const hugeStr = writeGguf({ key: { type: 'string', value: 'x' } }, []);
    new DataView(hugeStr.buffer).setBigUint64(24 + 8 + 3 + 4, 2n ** 62n, true);
    await rejects(hugeStr, /key: string value length is 4611686018427387904, above 2\^53 - 1/);
    const hugeArr = writeGguf({ arr: { type: 'array', itemType: 'u32', items: [1, 2] } }, []);
    new DataView(hugeArr.buffer).setBigUint64(24 + 8 + 3 + 4 + 4, 1000000n, true);
    await rejects(hugeArr, /arr: array of 1000000 u32 items needs at least 4000000 bytes; the file has \d+ left/);
    await rejects(writeGguf({}, [], { tensorCount: 2n ** 50n }), /tensor_count 1125899906842624 exceeds the limit/);
    await rejects(writeGguf({}, [], { kvCount: 5000n }), /metadata_kv_count 5000 needs at least 65000 bytes but the file has \d+ left \(truncated\?\)/);
    const deep: MetaValue = [...Array(10)].reduce<MetaValue>((inner) => ({ type: 'array', itemType: 'array', items: [inner] }), { type: 'array', itemType: 'u8', items: [1] });
    await rejects(writeGguf({ deep }, []), /deep: arrays nest deeper than 8 levels/);
  });

  it('refuses overlapping, misaligned, out-of-range and malformed tensors, naming them', async () => {
    await rejects(writeGguf({}, [f32t('a', [32, 2]), { ...f32t('b', [32, 2]), offset: 128 }]), /b: overlaps tensor "a"/);
    await rejects(writeGguf({}, [{ ...f32t('a', [8]), offset: 4 }]), /a: offset 4 is not a multiple of the alignment 32/);
    await rejects(writeGguf({}, [{ ...f32t('a', [8]), offset: 2 ** 20 }]), /a: bytes 1048576\.\.1048608 of the data section run past its end/);
    await rejects(writeGguf({}, [f32t('a', [1, 1, 1, 1, 2])]), /a: n_dims 5 is outside 1\.\.4/);
    await rejects(writeGguf({}, [f32t('a', [2, 0])]), /a: ne\[1\] is 0/);
    await rejects(writeGguf({}, [f32t('x', [2]), f32t('x', [2])]), /x: duplicate tensor name/);
    await rejects(writeGguf({}, [{ name: 'q', dims: [16, 2], type: 'Q8_0', data: new Uint8Array(0) }]), /q: ne\[0\] = 16 is not a multiple of Q8_0's block of 32/);
  });

  it('refuses every other ggml type by name', async () => {
    const cases: [number, string][] = [[9, 'Q8_1'], [10, 'Q2_K'], [11, 'Q3_K'], [16, 'IQ2_XXS'], [23, 'IQ4_XS'], [24, 'I8'], [28, 'F64'], [39, 'MXFP4']];
    for (const [code, name] of cases)
      await rejects(
        writeGguf({}, [{ name: 'output.weight', dims: [32], type: code, data: new Uint8Array(64) }]),
        new RegExp(`output\\.weight: ggml type ${name} is not supported \\(supported: F32, F16, Q4_0, Q8_0, BF16, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K\\)`),
      );
    await rejects(writeGguf({}, [{ name: 'w', dims: [32], type: 99, data: new Uint8Array(64) }]), /w: unknown ggml type 99 is not supported/);
  });
});

describe('Q8_0 / Q4_0 → Packed: the file codes, exactly', () => {
  const rows = 5;
  const cols = 96;
  const x = randn(rows * cols, 7, 0.3);
  x[3] = 0; // and a block of zeros
  for (let j = 32; j < 64; j++) x[cols + j] = 0;

  it('Q8_0: codes identical, scale = f32(d), dequantized = ggml dequantize_row_q8_0', () => {
    const bytes = quantizeQ8_0(x);
    const p = q8_0ToPacked(bytes, rows, cols);
    expect([p.format, p.groupSize, p.wordsPerRow]).toEqual(['q8', 32, 24]);
    const dv = new DataView(bytes.buffer);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const blk = r * 3 + Math.floor(c / 32);
        expect(quantAt(p, r, c)).toBe(dv.getInt8(blk * 34 + 2 + (c % 32)));
        expect(p.scales[blk]).toBe(f16ToF32(dv.getUint16(blk * 34, true)));
      }
    expect(dequantize(p)).toEqual(dequantizeBlocks('Q8_0', bytes));
  });

  it('Q4_0: element j low nibble / j+16 high nibble reordered; ŵ = (nibble − 8)·d, negative d included', () => {
    const bytes = quantizeQ4_0(x);
    const p = q4_0ToPacked(bytes, rows, cols);
    expect([p.format, p.groupSize, p.wordsPerRow]).toEqual(['q4', 32, 12]);
    let negative = 0;
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const blk = r * 3 + Math.floor(c / 32);
        const j = c % 32;
        const byte = bytes[blk * 18 + 2 + (j % 16)]!;
        expect(quantAt(p, r, c)).toBe(((j < 16 ? byte : byte >> 4) & 15) - 8);
        if (p.scales[blk]! < 0) negative++;
      }
    expect(negative).toBeGreaterThan(0); // d = max / −8 is negative whenever the largest |x| is positive
    expect(dequantize(p)).toEqual(dequantizeBlocks('Q4_0', bytes));
    const err = Math.max(...x.map((v, i) => Math.abs(v - dequantize(p)[i]!)));
    expect(err).toBeLessThan(0.3 * 4 / 8); // a sanity bound: |x| < ~4σ, step |d| ≤ max/8
  });

  it('refuses a non-finite scale, naming tensor, row and block', () => {
    const bytes = quantizeQ8_0(x);
    new DataView(bytes.buffer).setUint16(34 * 4, 0x7c00, true); // +Inf at row 1, block 1
    expect(() => q8_0ToPacked(bytes, rows, cols, 'm.gguf', 'blk.0.attn_q.weight')).toThrow(/blk\.0\.attn_q\.weight: block 1 of row 1 has scale Infinity/);
  });
});

describe('GGUF model mapping', () => {
  const shape = { hiddenSize: 64, intermediateSize: 96, nHeads: 4, nKvHeads: 2, vocabSize: 67, nLayers: 2 };
  const opts = (arch: 'llama' | 'qwen2', extra: Partial<Parameters<typeof modelGguf>[1]> = {}) => ({ arch, nHeads: 4, nKvHeads: 2, maxSeq: 128, ...extra });

  it('config from metadata; f32 masters equal the stored values; Q8_0/Q4_0 linears prepacked under their HF names', async () => {
    const { cfg, weights } = await loadFixture({ seed: 3, ...shape });
    const types = { token_embd: 'Q8_0', attn_q: 'Q4_0', attn_k: 'Q8_0', attn_v: 'F16', attn_output: 'BF16', ffn_gate: 'Q4_0', ffn_up: 'Q8_0', ffn_down: 'Q4_0', output: 'Q4_0' } as const;
    const { bytes, expected } = modelGguf(weights, opts('llama', { types }));
    const m = await loadGguf(src(bytes), 'tiny');
    const c = m.config;
    expect([c.architecture, c.hiddenSize, c.intermediateSize, c.nLayers, c.nHeads, c.nKvHeads, c.headDim, c.vocabSize, c.maxSeq]).toEqual(['llama', 64, 96, 2, 4, 2, 16, 67, 128]);
    expect(c.tieWordEmbeddings).toBe(false);
    expect(c.ropeTheta).toBe(cfg.ropeTheta);
    const w = m.weights;
    expect(w.embed).toEqual(expected.embed);
    expect(w.lmHead).toEqual(expected.lmHead);
    expect(w.finalNorm).toEqual(expected.finalNorm);
    for (let l = 0; l < 2; l++)
      for (const k of ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'inputNorm', 'postNorm'] as const) expect(w.layers[l]![k], `layer ${l} ${k}`).toEqual(expected.layers[l]![k]);
    const names = [...m.prepacked!.keys()].sort();
    expect(names).toEqual(['lm_head.weight', ...[0, 1].flatMap((l) => ['mlp.down_proj', 'mlp.gate_proj', 'mlp.up_proj', 'self_attn.k_proj', 'self_attn.q_proj'].map((n) => `model.layers.${l}.${n}.weight`))].sort());
    const q = m.prepacked!.get('model.layers.1.self_attn.q_proj.weight')!;
    expect(q.format).toBe('q4');
    expect(dequantize(q)).toEqual(w.layers[1]!.q); // masters = exactly the packed codes' values, rows un-permuted alike
    expect(m.prepacked!.get('model.layers.0.mlp.up_proj.weight')!.format).toBe('q8');
  });

  it('un-permutes llama q/k rows (and a file written without the permutation does not load the same)', async () => {
    const { weights } = await loadFixture({ seed: 4, ...shape });
    const m = await loadGguf(src(modelGguf(weights, opts('llama')).bytes), 'p');
    expect(m.weights.layers[0]!.q).toEqual(weights.layers[0]!.q);
    expect(m.weights.layers[1]!.k).toEqual(weights.layers[1]!.k);
    const raw = await loadGguf(src(modelGguf(weights, opts('llama', { noPermute: true })).bytes), 'np');
    expect(raw.weights.layers[0]!.q).not.toEqual(weights.layers[0]!.q);
    expect(raw.weights.layers[0]!.v).toEqual(weights.layers[0]!.v);
  });

  it('qwen2: biases, no permutation, tied head (prepacked from a quantized token_embd)', async () => {
    const { weights } = await loadFixture({ seed: 5, ...shape, qwen2: true, tie: true });
    const { bytes, expected } = modelGguf(weights, opts('qwen2', { types: { token_embd: 'Q4_0' } }));
    const m = await loadGguf(src(bytes), 'qw');
    expect(m.config.architecture).toBe('qwen2');
    expect(m.config.tieWordEmbeddings).toBe(true);
    expect(m.weights.lmHead).toBe(m.weights.embed);
    expect(m.weights.layers[0]!.q).toEqual(weights.layers[0]!.q);
    expect(m.weights.layers[1]!.kBias).toEqual(weights.layers[1]!.kBias);
    expect(m.weights.embed).toEqual(expected.embed);
    expect([...m.prepacked!.keys()]).toEqual(['lm_head (tied)']);
  });

  it('names what is wrong: architecture, missing or misshapen tensors, stray tensors, rope features', async () => {
    const { weights } = await loadFixture({ seed: 6, ...shape });
    const base = modelGguf(weights, opts('llama')).bytes;
    const g = await parse(base);
    const meta: Record<string, MetaValue> = {};
    // rebuild the file with edits (metadata from the parsed file; tensors as F32 from their bytes)
    const rebuild = async (edit: (m: Record<string, MetaValue>, t: WriterTensor[]) => void) => {
      for (const [k, kv] of g.metadata) meta[k] = kv.type === 'array' ? { type: 'array', itemType: 'u8', items: [] } : ({ type: kv.type, value: kv.value } as MetaValue);
      const ts: WriterTensor[] = [...g.tensors.values()].map((t) => ({ name: t.name, dims: t.dims, type: 'F32', data: new Float32Array(base.slice(t.begin, t.end).buffer) }));
      const m2 = { ...meta };
      edit(m2, ts);
      return loadGguf(src(writeGguf(m2, ts)), 'x').then(() => null, (e: unknown) => e as Error);
    };
    expect((await rebuild((m) => (m['general.architecture'] = { type: 'string', value: 'mamba' })))?.message).toMatch(/general\.architecture: "mamba" is not supported \(supported: "llama", "qwen2", "gpt2"\)/);
    expect((await rebuild((m) => (m['general.architecture'] = { type: 'string', value: 'gpt2' })))?.message).toMatch(/gpt2\.attention\.head_count: is missing/);
    const missing = await rebuild((_, t) => t.splice(t.findIndex((x) => x.name === 'blk.1.ffn_up.weight'), 1));
    expect(missing).toBeInstanceOf(MissingTensorError);
    expect(missing?.message).toMatch(/missing tensor "blk\.1\.ffn_up\.weight"/);
    const bad = await rebuild((_, t) => {
      const i = t.findIndex((x) => x.name === 'blk.0.attn_v.weight');
      t[i] = { ...t[i]!, dims: [32, 64] };
    });
    expect(bad).toBeInstanceOf(ShapeMismatchError);
    expect(bad?.message).toMatch(/tensor "blk\.0\.attn_v\.weight" has shape \[32, 64\] but the config implies \[64, 32\]/);
    expect((await rebuild((_, t) => t.push(f32t('blk.0.attn_q.bias', [64]))))?.message).toMatch(/blk\.0\.attn_q\.bias: llama has no attention biases/);
    expect((await rebuild((_, t) => t.push(f32t('blk.0.mystery.weight', [64]))))?.message).toMatch(/blk\.0\.mystery\.weight: is not a tensor of a llama model/);
    expect((await rebuild((_, t) => t.push(f32t('rope_freqs.weight', [8]))))?.message).toMatch(/rope_freqs\.weight: rope frequency factors/);
    expect((await rebuild((m) => (m['llama.rope.scaling.type'] = { type: 'string', value: 'yarn' })))?.message).toMatch(/llama\.rope\.scaling\.type: "yarn" is not supported/);
    expect((await rebuild((m) => delete m['llama.block_count']))?.message).toMatch(/llama\.block_count: is missing/);
    expect((await rebuild((m) => (m['llama.rope.dimension_count'] = { type: 'u32', value: 8 })))?.message).toMatch(/partial rotary/);
  });
});

describe('GGUF vocabularies', () => {
  const bytesToUnicode = (): string[] => {
    // GPT-2's byte → printable character table
    const bs: number[] = [];
    for (let b = 33; b <= 126; b++) bs.push(b);
    for (let b = 161; b <= 172; b++) bs.push(b);
    for (let b = 174; b <= 255; b++) bs.push(b);
    const map: string[] = new Array(256);
    let n = 0;
    for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(bs.includes(b) ? b : 256 + n++);
    return map;
  };
  const modelWith = async (tok: Record<string, MetaValue>) => {
    const { weights } = await loadFixture({ seed: 8, hiddenSize: 32, intermediateSize: 32, nHeads: 2, nKvHeads: 1, vocabSize: 300, nLayers: 1 });
    return loadGguf(src(modelGguf(weights, { arch: 'llama', nHeads: 2, nKvHeads: 1, maxSeq: 64, tokenizer: tok }).bytes), 'v');
  };

  it('gpt2 (byte-level BPE): merges applied, control token special, eos id from the metadata', async () => {
    const u = bytesToUnicode();
    const G = u[32]!; // 'Ġ', the space byte
    const tokens = [...u, 'he', 'll', 'hell', 'hello', `${G}w`, `${G}wo`, '<|endoftext|>']; // ids 0..255: the bytes
    const merges = ['h e', 'l l', 'he ll', 'hell o', `${G} w`, `${G}w o`];
    const types = tokens.map((t) => (t === '<|endoftext|>' ? 3 : 1));
    const m = await modelWith({
      'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
      'tokenizer.ggml.pre': { type: 'string', value: 'gpt2' },
      'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: tokens },
      'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', items: types },
      'tokenizer.ggml.merges': { type: 'array', itemType: 'string', items: merges },
      'tokenizer.ggml.eos_token_id': { type: 'u32', value: tokens.indexOf('<|endoftext|>') },
    });
    const t = m.tokenizer!;
    const id = (s: string) => tokens.indexOf(s);
    expect(t.encode('hello world<|endoftext|>')).toEqual([id('hello'), id(`${G}wo`), id('r'), id('l'), id('d'), id('<|endoftext|>')]);
    expect(t.decode(t.encode('hello world, ü!'))).toBe('hello world, ü!');
    expect(t.eosTokenIds).toEqual([id('<|endoftext|>')]);
    expect(m.config.eosTokenIds).toEqual([id('<|endoftext|>')]);
  });

  it('llama (SentencePiece): SpmTokenizer with ▁ spaces, scores, byte fallback', async () => {
    const pieces = ['<unk>', '<s>', '</s>', ...[...Array(256)].map((_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), '▁', 'h', 'e', 'l', 'o', '▁h', 'll', '▁he', '▁hell', '▁hello'];
    const scores = pieces.map((p, i) => (i < 259 ? 0 : p.length * 1.0 - i * 0.001));
    const types = pieces.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
    const m = await modelWith({
      'tokenizer.ggml.model': { type: 'string', value: 'llama' },
      'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: pieces },
      'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', items: scores },
      'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', items: types },
      'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
      'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
    });
    const t = m.tokenizer!;
    const ids = t.encode('hello h!');
    expect(ids.slice(0, 2)).toEqual([pieces.indexOf('▁hello'), pieces.indexOf('▁h')]);
    expect(ids[2]).toBe(pieces.indexOf('<0x21>')); // '!' is not a piece: byte fallback
    expect(t.decode(ids)).toBe('hello h!');
    expect(t.eosTokenIds).toEqual([2]);
    expect(m.config.bosTokenId).toBe(1);
  });

  it('refuses unknown tokenizer models and pre-tokenizers by name; "none" loads without a tokenizer', async () => {
    const err = (tok: Record<string, MetaValue>) => modelWith(tok).then(() => null, (e: Error) => e.message);
    expect(await err({ 'tokenizer.ggml.model': { type: 'string', value: 'bert' }, 'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: ['a'] } }))
      .toMatch(/tokenizer\.ggml\.model: "bert" is not supported/);
    expect(await err({
      'tokenizer.ggml.model': { type: 'string', value: 'gpt2' }, 'tokenizer.ggml.pre': { type: 'string', value: 'deepseek-coder' },
      'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: ['a'] }, 'tokenizer.ggml.merges': { type: 'array', itemType: 'string', items: [] },
    })).toMatch(/tokenizer\.ggml\.pre: "deepseek-coder" is not supported/);
    expect((await modelWith({ 'tokenizer.ggml.model': { type: 'string', value: 'none' } })).tokenizer).toBeNull();
  });
});

describe('GGUF fuzz (issue 10): mutated files end in a typed error or a correct load', () => {
  it('400 mutations of a small quantized llama GGUF with a gpt2 vocabulary', async () => {
    const { weights } = await loadFixture({ seed: 9, hiddenSize: 32, intermediateSize: 32, nHeads: 2, nKvHeads: 1, vocabSize: 270, nLayers: 1 });
    const u = [...Array(256)].map((_, b) => String.fromCodePoint(b < 33 ? 256 + b : b)); // distinct printable-ish tokens
    const tok: Record<string, MetaValue> = {
      'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
      'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: [...u, 'ab', '<eos>'] },
      'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', items: [...u.map(() => 1), 1, 3] },
      'tokenizer.ggml.merges': { type: 'array', itemType: 'string', items: ['a b'] },
      'tokenizer.ggml.eos_token_id': { type: 'u32', value: 257 },
    };
    const types = { token_embd: 'Q8_0', attn_q: 'Q4_0', attn_k: 'Q8_0', attn_v: 'F16', ffn_down: 'Q4_0', attn_output: 'Q5_0', ffn_gate: 'Q4_1', ffn_up: 'Q5_1' } as const;
    const good = modelGguf(weights, { arch: 'llama', nHeads: 2, nKvHeads: 1, maxSeq: 64, types, tokenizer: tok }).bytes;
    const header = (await parse(good)).dataStart;
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const int = (n: number) => Math.floor(rand() * n);
    const counts = { rejected: 0, loaded: 0 };
    const crashes: string[] = [];
    for (let i = 0; i < 400; i++) {
      const b = new Uint8Array(good);
      let how: string;
      let bytes: Uint8Array = b;
      const kind = i % 4;
      if (kind === 0) bytes = b.slice(0, int(good.length)), how = `truncate to ${bytes.length}`;
      else if (kind === 1) {
        const k = 1 + int(8);
        for (let j = 0; j < k; j++) b[int(header)]! ^= 1 << int(8); // flips inside metadata / tensor infos
        how = `${k} header bit flips`;
      } else if (kind === 2) {
        const at = int(header - 8);
        const v = [0n, 1n, 2n ** 31n, 2n ** 32n + 7n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n][int(7)]!;
        new DataView(b.buffer).setBigUint64(at, v, true);
        how = `u64 ${v} at ${at}`;
      } else {
        const at = int(good.length);
        b.fill([0, 0xff, 0x7c][int(3)]!, at, at + 1 + int(64)); // data (scales → Inf/NaN) or header
        how = `fill at ${at}`;
      }
      let read = 0;
      const s0 = bytesSource('f.gguf', bytes);
      const counted = { ...s0, read: (o: number, n: number) => ((read += n), s0.read(o, n)) };
      try {
        const m = await loadGguf(counted, 'f');
        m.tokenizer?.decode(m.tokenizer.encode('ab c'));
        counts.loaded++;
      } catch (e) {
        if (e instanceof ModelLoadError) counts.rejected++;
        else crashes.push(`${how}: ${(e as Error).name}: ${(e as Error).message}`.slice(0, 200));
      }
      if (read > 4 * bytes.length + (1 << 20)) crashes.push(`${how}: read ${read} bytes of ${bytes.length}`);
    }
    expect(crashes).toEqual([]);
    expect(counts.rejected).toBeGreaterThan(200);
    expect(counts.loaded).toBeGreaterThan(0);
  });
});
