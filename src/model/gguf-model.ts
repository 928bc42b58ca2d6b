// A GGUF file → LoadedModel: config from the metadata, f32 host masters from the tensors, the file's Q8_0/Q4_0
// codes kept as exact Packed tensors (LoadedModel.prepacked), and the file's own tokenizer (gguf-tokenizer.ts).
// Architectures: general.architecture "llama" and "qwen2" (q/k/v biases) here, "gpt2" in gguf-gpt2.ts. Config
// keys, for arch = llama or qwen2:
//   {arch}.embedding_length → hidden · .block_count → layers · .feed_forward_length → inter
//   .attention.head_count → heads · .attention.head_count_kv → kv heads (default: heads)
//   .attention.key_length → head dim (default hidden / heads; .attention.value_length must agree)
//   .attention.layer_norm_rms_epsilon → rms eps · .rope.freq_base → theta (default 10000)
//   .rope.dimension_count must be the head dim (partial rotary is refused) · .context_length → max seq
//   .rope.scaling.type other than "none" is refused by name, as is a rope_freqs.weight tensor (Llama 3.1's factors)
//   vocab: token_embd's rows (the token list may be shorter, never longer).
// Tensors (GGUF dims are [ne0 = cols, ne1 = rows]; each checked against the config, named on mismatch; llama/qwen2):
//   token_embd.weight (vocab, hidden) · output_norm.weight (hidden) · output.weight (vocab, hidden), absent → tied
//   blk.N.attn_norm.weight · blk.N.attn_q/k/v/output.weight (+ attn_q/k/v.bias for qwen2) · blk.N.ffn_norm.weight
//   blk.N.ffn_gate/up/down.weight.   Any other tensor is refused (it would be silently ignored otherwise), for
//   every architecture.
// llama.cpp's converter permutes the q and k rows of "llama" models for its interleaved RoPE; they are un-permuted
// here (gguf-tensors.ts) to HF's rotate-half order, the packed rows alike. qwen2 files are not permuted.
// Tensors stored as Q4_1/Q5_0/Q5_1/Q4_K/Q5_K/Q6_K/Q8_K are dequantized to f32 (not prepacked); rawConfig
// .gguf_dequantized lists them by ggml type ({ Q4_K: [tensor names], Q6_K: ['output.weight'] }), absent if none.

import type { Packed } from '../techniques/quantize';
import { type ModelConfig, parseConfig } from './config';
import { GgufError, MissingTensorError, ShapeMismatchError, TokenizerError } from './errors';
import { readGguf } from './gguf';
import { GgufMeta } from './gguf-meta';
import { type GgufTensorReader, gpt2RawConfig, readGpt2Weights } from './gguf-gpt2';
import { permuteTensorRows, readGgufTensor, unpermuteRowIndex } from './gguf-tensors';
import { ggufTokenizer } from './gguf-tokenizer';
import type { ByteSource } from './safetensors';
import type { LoadedModel } from './source';
import type { HostWeights, LayerWeights } from './weights';

const ARCHS = ['llama', 'qwen2', 'gpt2'] as const;
/** The tied head's LinearWeight name (as GpuModel and quant-formats.ts name it). */
const TIED_HEAD = 'lm_head (tied)';

export async function loadGguf(src: ByteSource, name: string): Promise<LoadedModel> {
  const t0 = performance.now();
  const gg = await readGguf(src);
  const meta = new GgufMeta(gg);
  const file = src.name;
  const fail = (key: string, msg: string): never => {
    throw new GgufError(`${key}: ${msg}`, file, key);
  };

  const arch = meta.string('general.architecture');
  if (!(ARCHS as readonly string[]).includes(arch))
    fail('general.architecture', `"${arch.slice(0, 40)}" is not supported (supported: ${ARCHS.map((a) => `"${a}"`).join(', ')})`);
  const tokens = meta.strings('tokenizer.ggml.tokens', false);
  const embInfo = gg.tensors.get('token_embd.weight');
  const vocab = embInfo?.dims[1] ?? fail('token_embd.weight', 'is missing');
  if (tokens && tokens.length > vocab) fail('tokenizer.ggml.tokens', `has ${tokens.length} tokens but token_embd.weight only ${vocab} rows`);
  const tie = !gg.tensors.has('output.weight');
  const rawConfig = arch === 'gpt2' ? gpt2RawConfig(meta, vocab, tie, fail) : llamaRawConfig(meta, arch, vocab, tie, fail);
  const config = parseConfig(rawConfig, file);

  // ---- tensors ----
  const used = new Set<string>();
  const prepacked = new Map<string, Packed>();
  const dequantized: Record<string, string[]> = {};
  const reader: GgufTensorReader = {
    has: (tensor) => gg.tensors.has(tensor),
    fail,
    async get(tensor, rows, cols) {
      const info = gg.tensors.get(tensor);
      if (!info) throw new MissingTensorError(file, tensor);
      const want = cols === null ? [rows] : [cols, rows];
      if (info.dims.length !== want.length || info.dims.some((d, i) => d !== want[i])) throw new ShapeMismatchError(file, tensor, want, info.dims);
      used.add(tensor);
      const t = await readGgufTensor(src, info);
      if (t.dequantized) (dequantized[t.dequantized] ??= []).push(tensor);
      return t;
    },
    async vec(tensor, n) {
      return (await reader.get(tensor, n, null)).values;
    },
    keep(t, as) {
      if (t.packed) prepacked.set(as, t.packed);
      return t.values;
    },
  };
  const weights = arch === 'gpt2' ? await readGpt2Weights(config, reader, tie) : await readLlamaWeights(config, reader, arch, tie);
  const unused = [...gg.tensors.keys()].filter((t) => !used.has(t));
  if (unused.length) fail(unused[0]!, `is not a tensor of a ${arch} model${unused.length > 1 ? ` (nor are ${unused.length - 1} more)` : ''}`);
  if (Object.keys(dequantized).length) rawConfig['gguf_dequantized'] = dequantized;

  const tokenizer = ggufTokenizer(meta);
  if (tokenizer && tokenizer.vocabSize > config.vocabSize)
    throw new TokenizerError(`the vocabulary produces ids up to ${tokenizer.vocabSize - 1} but token_embd.weight has ${config.vocabSize} rows`, file);
  return {
    name, config, rawConfig, weights, tokenizer, weightFileBytes: src.size,
    timings: { fetch: 0, parse: performance.now() - t0, fetchFrom: 'local' },
    prepacked: prepacked.size ? prepacked : undefined,
  };
}

function llamaRawConfig(meta: GgufMeta, arch: string, vocab: number, tie: boolean, fail: (key: string, msg: string) => never): Record<string, unknown> {
  const gg = meta.gg;
  const k = (s: string) => `${arch}.${s}`;
  const perLayer = (key: string) => {
    if (meta.gg.metadata.get(key)?.type === 'array') fail(key, 'per-layer values are not supported');
  };
  ['attention.head_count', 'attention.head_count_kv', 'feed_forward_length'].forEach((s) => perLayer(k(s)));
  const H = meta.int(k('embedding_length'));
  const nHeads = meta.int(k('attention.head_count'));
  const nKv = meta.int(k('attention.head_count_kv'), nHeads);
  const headDim = meta.int(k('attention.key_length'), nHeads > 0 && H % nHeads === 0 ? H / nHeads : 0);
  if (headDim === 0) fail(k('attention.key_length'), `is missing and embedding_length (${H}) is not divisible by head_count (${nHeads})`);
  const vLen = meta.int(k('attention.value_length'), headDim);
  if (vLen !== headDim) fail(k('attention.value_length'), `(${vLen}) differs from key_length (${headDim}): not supported`);
  const ropeDims = meta.int(k('rope.dimension_count'), headDim);
  if (ropeDims !== headDim) fail(k('rope.dimension_count'), `(${ropeDims}) is not the head dimension (${headDim}): partial rotary embeddings are not supported`);
  const scaling = meta.string(k('rope.scaling.type'), 'none');
  if (scaling !== 'none') fail(k('rope.scaling.type'), `"${scaling.slice(0, 40)}" is not supported (only "none")`);
  if (gg.tensors.has('rope_freqs.weight')) fail('rope_freqs.weight', 'rope frequency factors (Llama 3.1 rope scaling) are not supported');

  return {
    model_type: arch,
    hidden_size: H,
    intermediate_size: meta.int(k('feed_forward_length')),
    num_hidden_layers: meta.int(k('block_count')),
    num_attention_heads: nHeads,
    num_key_value_heads: nKv,
    head_dim: headDim,
    vocab_size: vocab,
    max_position_embeddings: meta.int(k('context_length')),
    rms_norm_eps: meta.number(k('attention.layer_norm_rms_epsilon')),
    rope_theta: meta.number(k('rope.freq_base'), 10000),
    tie_word_embeddings: tie,
    bos_token_id: meta.int('tokenizer.ggml.bos_token_id', null),
    eos_token_id: meta.int('tokenizer.ggml.eos_token_id', null),
    hidden_act: 'silu',
  };
}

async function readLlamaWeights(config: ModelConfig, r: GgufTensorReader, arch: string, tie: boolean): Promise<HostWeights> {
  const { hiddenSize: H, nHeads, nKvHeads: nKv, headDim, intermediateSize: I, vocabSize: V } = config;
  const qDim = nHeads * headDim;
  const kvDim = nKv * headDim;
  const permute = arch === 'llama';
  /** A linear (rows, cols), rows un-permuted for llama q/k; its packed codes (if any) kept under `as`. */
  const linear = async (tensor: string, rows: number, cols: number, as: string, unpermuteHeads = 0): Promise<Float32Array> => {
    let t = await r.get(tensor, rows, cols);
    if (unpermuteHeads) t = permuteTensorRows(t, unpermuteRowIndex(unpermuteHeads, rows));
    return r.keep(t, as);
  };
  const vec = r.vec;
  const bias = async (tensor: string, n: number) => {
    if (config.attentionBias) return vec(tensor, n);
    if (r.has(tensor)) r.fail(tensor, `${arch} has no attention biases`);
    return null;
  };

  const emb = await r.get('token_embd.weight', V, H);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const b = `blk.${l}.`;
    const p = `model.layers.${l}.`;
    layers.push({
      inputNorm: await vec(`${b}attn_norm.weight`, H),
      inputNormBias: null,
      q: await linear(`${b}attn_q.weight`, qDim, H, `${p}self_attn.q_proj.weight`, permute ? nHeads : 0),
      k: await linear(`${b}attn_k.weight`, kvDim, H, `${p}self_attn.k_proj.weight`, permute ? nKv : 0),
      v: await linear(`${b}attn_v.weight`, kvDim, H, `${p}self_attn.v_proj.weight`),
      o: await linear(`${b}attn_output.weight`, H, qDim, `${p}self_attn.o_proj.weight`),
      qBias: await bias(`${b}attn_q.bias`, qDim),
      kBias: await bias(`${b}attn_k.bias`, kvDim),
      vBias: await bias(`${b}attn_v.bias`, kvDim),
      oBias: null,
      postNorm: await vec(`${b}ffn_norm.weight`, H),
      postNormBias: null,
      gate: await linear(`${b}ffn_gate.weight`, I, H, `${p}mlp.gate_proj.weight`),
      up: await linear(`${b}ffn_up.weight`, I, H, `${p}mlp.up_proj.weight`),
      down: await linear(`${b}ffn_down.weight`, H, I, `${p}mlp.down_proj.weight`),
      upBias: null,
      downBias: null,
    });
  }
  const finalNorm = await vec('output_norm.weight', H);
  // tied: the head runs on the file's codes (if quantized); the gather on f32
  const lmHead = tie ? r.keep(emb, TIED_HEAD) : await linear('output.weight', V, H, 'lm_head.weight');
  return { embed: emb.values, posEmbed: null, layers, finalNorm, finalNormBias: null, lmHead };
}
