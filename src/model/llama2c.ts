// llama2.c checkpoints (karpathy/llama2.c export.py) → LoadedModel. All integers and floats little-endian.
//
// version 0 ("legacy", run.c's original format): 7 × int32 header, then f32 arrays, each PyTorch (out, in) row-major:
//   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (NEGATIVE: an unshared classifier follows), seq_len
//   token_embedding (vocab, dim)  rms_att (L, dim)  wq (L, dim, dim)  wk (L, kvDim, dim)  wv (L, kvDim, dim)
//   wo (L, dim, dim)  rms_ffn (L, dim)  w1 (L, hidden, dim)  w2 (L, dim, hidden)  w3 (L, hidden, dim)
//   rms_final (dim)  freq_cis_real (seq, headSize/2)  freq_cis_imag (seq, headSize/2)  [wcls (vocab, dim)]
// version 1: uint32 magic 0x616b3432 ("ak42"), int32 version = 1, the same 7 int32 (vocab_size positive),
//   u8 shared_classifier, zero padding to 256 bytes; then f32: rms_att (L, dim), rms_ffn (L, dim), rms_final (dim),
//   token_embedding (vocab, dim), wq…, wk…, wv…, wo…, w1…, w2…, w3… (per layer, shapes as above), [wcls (vocab, dim)].
// version 2 (Q8_0, runq.c): as version 1, plus int32 group_size at byte 37; then f32 rms_att, rms_ffn, rms_final;
//   then per tensor, in the order token_embedding, wq…, wk…, wv…, wo…, w1…, w2…, w3…, [wcls]: its int8 values
//   (numel) directly followed by its f32 scales (numel/group_size); w[i] = q[i]·s[⌊i/group_size⌋] over the
//   flattened tensor. These are dequantized to f32 while loading (exactly runq.c's dequantize).
// kvDim = dim·n_kv_heads/n_heads, headSize = dim/n_heads. w1 = gate, w3 = up, w2 = down.
//
// RoPE: llama2.c rotates interleaved pairs (x[2i], x[2i+1]) of each head by pos·10000^(−2i/headSize); the lab's
// kernels (HF rotate_half) rotate (x[i], x[i+headSize/2]) by the same angle. Permuting the rows of wq and wk within
// every head (new row i = old row 2i, new row i+headSize/2 = old row 2i+1) turns one into the other exactly, and
// attention scores are invariant because q and k are permuted alike.
// Config: llama, rmsnorm eps 1e-5, rope theta 10000, maxSeq = seq_len, BOS 1, EOS 2, tied = shared classifier.
// tokenizer.bin (optional): int32 max_token_length, then vocab_size × (f32 score, int32 len, len bytes of UTF-8).
// Every failure is a Llama2cError (or TokenizerError) naming the file and the field, size or limit involved.

import { parseConfig } from './config';
import { Llama2cError, TokenizerError } from './errors';
import type { ByteSource } from './safetensors';
import type { LoadedModel } from './source';
import { SpmTokenizer } from './spm-tokenizer';
import type { HostWeights, LayerWeights } from './weights';

export const LLAMA2C_MAGIC = 0x616b3432;
const V1_HEADER_BYTES = 256;
const LEGACY_HEADER_BYTES = 28;
/** Sanity limits on header values (far above any llama2.c export; they only stop absurd allocations). */
const LIMITS = { dim: 65536, hidden_dim: 1 << 20, n_layers: 4096, n_heads: 4096, vocab_size: 1 << 22, seq_len: 1 << 22 };

export interface Llama2cHeader {
  version: 0 | 1 | 2;
  dim: number; // model width
  hiddenDim: number; // MLP hidden width (w1/w3 rows)
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number; // always positive here
  seqLen: number; // maximum context
  shared: boolean; // classifier shares the token embedding
  groupSize: number; // Q8_0 group size (version 2), else 0
  headerBytes: number; // where the first array starts
}

type Role = 'embed' | 'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3' | 'rmsFinal' | 'freqCis' | 'wcls';
interface Entry {
  role: Role;
  layer: number; // -1 for whole-model tensors
  shape: number[];
  offset: number; // absolute byte offset in the file
  q8: boolean; // int8 values then f32 scales (version 2), else f32
}

/** Reads and validates the header; `fileSize` is checked against the exact size the header implies. */
export function parseLlama2cHeader(head: Uint8Array, fileSize: number, file: string): { header: Llama2cHeader; entries: Entry[] } {
  const fail = (msg: string): never => {
    throw new Llama2cError(msg, file);
  };
  if (head.length < LEGACY_HEADER_BYTES) fail(`is ${fileSize} bytes: too short for a llama2.c header (${LEGACY_HEADER_BYTES} bytes at least)`);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let version: 0 | 1 | 2 = 0;
  let base = 0;
  if (dv.getUint32(0, true) === LLAMA2C_MAGIC) {
    if (head.length < V1_HEADER_BYTES) fail(`is ${fileSize} bytes: too short for a version-1/2 llama2.c header (${V1_HEADER_BYTES} bytes)`);
    const v = dv.getInt32(4, true);
    if (v !== 1 && v !== 2) fail(`has llama2.c magic "ak42" but version ${v}; supported: 0 (legacy), 1 (f32) and 2 (Q8_0)`);
    version = v as 1 | 2;
    base = 8;
  }
  const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
  const raw = names.map((_, i) => dv.getInt32(base + 4 * i, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = raw;
  let shared: boolean;
  if (version === 0) shared = rawVocab > 0;
  else {
    const flag = head[base + 28];
    if (flag !== 0 && flag !== 1) fail(`header field shared_classifier is ${flag}, expected 0 or 1`);
    shared = flag === 1;
    if (rawVocab <= 0) fail(`header field vocab_size is ${rawVocab}, must be positive in a version-${version} file`);
  }
  const vocabSize = Math.abs(rawVocab);
  const value = { dim, hidden_dim: hiddenDim, n_layers: nLayers, n_heads: nHeads, n_kv_heads: nKvHeads, vocab_size: vocabSize, seq_len: seqLen };
  for (const n of names) {
    const v = value[n];
    const limit = n === 'n_kv_heads' ? LIMITS.n_heads : LIMITS[n];
    if (!(v >= 1 && v <= limit))
      fail(`header field ${n} is ${n === 'vocab_size' ? rawVocab : v}, expected 1..${limit}${version === 0 ? ' (is this a llama2.c checkpoint?)' : ''}`);
  }
  if (dim % nHeads !== 0) fail(`header: dim ${dim} is not a multiple of n_heads ${nHeads}`);
  const headSize = dim / nHeads;
  if (headSize % 2 !== 0) fail(`header: head size dim/n_heads = ${headSize} is odd (RoPE rotates pairs)`);
  if (nKvHeads > nHeads || nHeads % nKvHeads !== 0) fail(`header: n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  const kvDim = (dim * nKvHeads) / nHeads;

  let groupSize = 0;
  if (version === 2) {
    groupSize = dv.getInt32(37, true);
    if (!(groupSize >= 1 && groupSize <= 65536)) fail(`header field group_size is ${groupSize}, expected 1..65536`);
  }
  const headerBytes = version === 0 ? LEGACY_HEADER_BYTES : V1_HEADER_BYTES;
  const header: Llama2cHeader = { version, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, shared, groupSize, headerBytes };
  const entries: Entry[] = [];
  let offset = headerBytes;
  const add = (role: Role, layer: number, shape: number[]) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const q8 = version === 2 && shape.length === 2;
    if (q8 && n % groupSize !== 0)
      fail(`${role}${layer >= 0 ? `[${layer}]` : ''} has ${n} values, not a multiple of group_size ${groupSize}`);
    entries.push({ role, layer, shape, offset, q8 });
    offset += q8 ? n + (4 * n) / groupSize : 4 * n;
  };
  const perLayer = (role: Role, shape: number[]) => {
    for (let l = 0; l < nLayers; l++) add(role, l, shape);
  };
  const [D, H, V] = [dim, hiddenDim, vocabSize];
  if (version === 0) {
    add('embed', -1, [V, D]);
    perLayer('rmsAtt', [D]);
    perLayer('wq', [D, D]);
    perLayer('wk', [kvDim, D]);
    perLayer('wv', [kvDim, D]);
    perLayer('wo', [D, D]);
    perLayer('rmsFfn', [D]);
    perLayer('w1', [H, D]);
    perLayer('w2', [D, H]);
    perLayer('w3', [H, D]);
    add('rmsFinal', -1, [D]);
    add('freqCis', -1, [2, seqLen, headSize / 2]); // real then imag: recomputed by the lab, skipped
  } else {
    // versions 1 and 2 (2 stores the matrices as int8 + scales)
    perLayer('rmsAtt', [D]);
    perLayer('rmsFfn', [D]);
    add('rmsFinal', -1, [D]);
    add('embed', -1, [V, D]);
    perLayer('wq', [D, D]);
    perLayer('wk', [kvDim, D]);
    perLayer('wv', [kvDim, D]);
    perLayer('wo', [D, D]);
    perLayer('w1', [H, D]);
    perLayer('w2', [D, H]);
    perLayer('w3', [H, D]);
  }
  if (!shared) add('wcls', -1, [V, D]);
  if (offset !== fileSize) {
    const what = `${version === 2 ? `group_size ${groupSize}, ` : ''}dim ${D}, hidden_dim ${H}, n_layers ${nLayers}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}, vocab_size ${rawVocab}, seq_len ${seqLen}, ${shared ? 'shared' : 'unshared'} classifier`;
    fail(`is ${fileSize} bytes but a version-${version} checkpoint with ${what} is exactly ${offset} bytes` + (fileSize < offset ? ' (truncated?)' : ''));
  }
  return { header, entries };
}

/** The HF-style config.json the header implies (also LoadedModel.rawConfig). */
export function llama2cConfigJson(h: Llama2cHeader): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    head_dim: h.dim / h.nHeads,
    max_position_embeddings: h.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    rope_scaling: null,
    vocab_size: h.vocabSize,
    tie_word_embeddings: h.shared,
    bos_token_id: h.vocabSize > 1 ? 1 : null,
    eos_token_id: h.vocabSize > 2 ? 2 : null,
    hidden_act: 'silu',
    attention_bias: false,
    torch_dtype: 'float32',
    llama2c_version: h.version,
  };
}

/** Rows of `w` ((rows, cols), rows = nHeads·headSize) from llama2.c's interleaved RoPE pairs to rotate_half order:
 *  within each head, new row i = old row 2i and new row i + headSize/2 = old row 2i+1. */
export function interleavedToHalf(w: Float32Array, rows: number, cols: number, headSize: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headSize / 2;
  for (let h0 = 0; h0 < rows; h0 += headSize)
    for (let i = 0; i < half; i++) {
      out.set(w.subarray((h0 + 2 * i) * cols, (h0 + 2 * i + 1) * cols), (h0 + i) * cols);
      out.set(w.subarray((h0 + 2 * i + 1) * cols, (h0 + 2 * i + 2) * cols), (h0 + half + i) * cols);
    }
  return out;
}

/** Parses tokenizer.bin for a model of `vocabSize` tokens into an SpmTokenizer (space ' ', dummy prefix, BOS 1, EOS 2). */
export function parseTokenizerBin(bytes: Uint8Array, vocabSize: number, file = 'tokenizer.bin'): SpmTokenizer {
  const fail = (msg: string): never => {
    throw new TokenizerError(msg, file);
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) fail(`is ${bytes.length} bytes: too short for max_token_length (int32)`);
  const maxLen = dv.getInt32(0, true);
  if (!(maxLen >= 1 && maxLen <= 65536)) fail(`max_token_length is ${maxLen}, expected 1..65536`);
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  const pieces: string[] = new Array<string>(vocabSize);
  const scores = new Float32Array(vocabSize);
  let o = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (o + 8 > bytes.length) fail(`ends at byte ${bytes.length} inside token ${i}'s score/length; the checkpoint has vocab_size ${vocabSize} (truncated, or a tokenizer.bin for another model?)`);
    scores[i] = dv.getFloat32(o, true);
    const len = dv.getInt32(o + 4, true);
    if (!(len >= 0 && len <= maxLen)) fail(`token ${i} has length ${len}, outside 0..max_token_length ${maxLen}`);
    o += 8;
    if (o + len > bytes.length) fail(`ends at byte ${bytes.length} inside token ${i}'s ${len} bytes (truncated?)`);
    pieces[i] = utf8.decode(bytes.subarray(o, o + len));
    o += len;
  }
  if (o !== bytes.length)
    fail(`has ${bytes.length - o} bytes after its ${vocabSize} tokens; the checkpoint's vocab_size is ${vocabSize} (a tokenizer.bin for another model?)`);
  return new SpmTokenizer({
    pieces, scores, bosId: vocabSize > 1 ? 1 : null, eosId: vocabSize > 2 ? 2 : null, spaceSymbol: ' ', addDummyPrefix: true, file,
  });
}

/** Loads a llama2.c checkpoint, reading one tensor at a time from `bin`; `tokenizerBin` null → no tokenizer.
 *  timings.fetch is 0 and fetchFrom 'local': the caller, which fetched the bytes, fills in its own. */
export async function loadLlama2c(bin: ByteSource, tokenizerBin: Uint8Array | null, name: string): Promise<LoadedModel> {
  const t0 = performance.now();
  const file = bin.name;
  const head = await bin.read(0, Math.min(bin.size, V1_HEADER_BYTES));
  const { header: h, entries } = parseLlama2cHeader(head, bin.size, file);
  const rawConfig = llama2cConfigJson(h);
  const config = parseConfig(rawConfig, file);
  const tokenizer = tokenizerBin ? parseTokenizerBin(tokenizerBin, h.vocabSize) : null;

  const headSize = h.dim / h.nHeads;
  const read = async (e: Entry): Promise<Float32Array> => {
    const n = e.shape.reduce((a, d) => a * d, 1);
    const gs = h.groupSize;
    const len = e.q8 ? n + (4 * n) / gs : 4 * n;
    const bytes = await bin.read(e.offset, len);
    if (bytes.length !== len) throw new Llama2cError(`read ${bytes.length} bytes of ${e.role} at ${e.offset}, expected ${len}`, file);
    const out = new Float32Array(n);
    if (!e.q8) {
      new Uint8Array(out.buffer).set(bytes); // every WebGPU host is little-endian, like the file
      return out;
    }
    const q = new Int8Array(bytes.buffer, bytes.byteOffset, n);
    const scales = new Float32Array(n / gs);
    new Uint8Array(scales.buffer).set(bytes.subarray(n)); // copied: the scales need not be 4-byte aligned
    for (let g = 0; g < scales.length; g++) {
      const sc = scales[g];
      if (!Number.isFinite(sc)) throw new Llama2cError(`${e.role}${e.layer >= 0 ? `[${e.layer}]` : ''}: group ${g} has scale ${sc}`, file);
      for (let i = g * gs; i < (g + 1) * gs; i++) out[i] = q[i] * sc; // exact product, rounded once to f32 as in C
    }
    return out;
  };
  const got = new Map<string, Float32Array>();
  const key = (role: Role, layer: number) => `${role}:${layer}`;
  for (const e of entries) {
    if (e.role === 'freqCis') continue;
    let w = await read(e);
    if (e.role === 'wq' || e.role === 'wk') w = interleavedToHalf(w, e.shape[0], e.shape[1], headSize);
    got.set(key(e.role, e.layer), w);
  }
  const take = (role: Role, layer = -1) => got.get(key(role, layer))!;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < h.nLayers; l++) {
    layers.push({
      inputNorm: take('rmsAtt', l), // (dim)
      inputNormBias: null,
      q: take('wq', l), // (dim, dim), rows in rotate_half order
      k: take('wk', l), // (kvDim, dim), rows in rotate_half order
      v: take('wv', l), // (kvDim, dim)
      o: take('wo', l), // (dim, dim)
      qBias: null,
      kBias: null,
      vBias: null,
      oBias: null,
      postNorm: take('rmsFfn', l), // (dim)
      postNormBias: null,
      gate: take('w1', l), // (hidden, dim)
      up: take('w3', l), // (hidden, dim)
      down: take('w2', l), // (dim, hidden)
      upBias: null,
      downBias: null,
    });
  }
  const embed = take('embed');
  const weights: HostWeights = {
    embed, // (vocab, dim)
    posEmbed: null,
    layers,
    finalNorm: take('rmsFinal'), // (dim)
    finalNormBias: null,
    lmHead: h.shared ? embed : take('wcls'), // (vocab, dim)
  };
  return { name, config, rawConfig, weights, tokenizer, weightFileBytes: bin.size, timings: { fetch: 0, parse: performance.now() - t0, fetchFrom: 'local' } };
}
