// GGUF general.architecture "gpt2" (llama.cpp's convert_hf_to_gguf.py GPT2Model) → an HF GPT2Config-style raw
// config and HostWeights. The converter transposes HF's Conv1D weights (c_attn, c_proj, c_fc) to (out, in), so every
// GGUF matrix is [ne0 = in, ne1 = out]: rows = out, exactly the lab's Linear layout (no transpose here). The fused
// c_attn becomes attn_qkv: rows [0, H) are q, [H, 2H) k, [2H, 3H) v (torch.cat([q, k, v], dim 0)), its bias alike.
// Config keys: gpt2.embedding_length → n_embd · .block_count → n_layer · .attention.head_count → n_head
//   .feed_forward_length → n_inner · .context_length → n_positions (position_embd's rows) · .attention.layer_norm_epsilon
//   (head_count_kv, if present, must equal head_count). Activation: ggml_gelu, the tanh form (gelu_new).
// Tensors (H = hidden, I = inner, V = vocab, P = context), each checked against the config:
//   token_embd.weight (V, H) · position_embd.weight (P, H) · output_norm.{weight,bias} (H) · output.weight (V, H),
//   absent → tied to token_embd
//   blk.N.attn_norm.{weight,bias} · attn_qkv.weight (3H, H), .bias (3H) · attn_output.weight (H, H), .bias
//   blk.N.ffn_norm.{weight,bias} · ffn_up.weight (I, H), .bias (I) · ffn_down.weight (H, I), .bias (H)
// No q/k permutation (learned positions, no RoPE). Q8_0/Q4_0 rows of attn_qkv are split into prepacked q/k/v alike.

import type { GgufMeta } from './gguf-meta';
import { type GgufTensorData, sliceTensorRows } from './gguf-tensors';
import type { ModelConfig } from './config';
import type { HostWeights, LayerWeights } from './weights';

/** What gguf-model.ts's tensor reader offers an architecture (shape-checked reads, prepacked bookkeeping). */
export interface GgufTensorReader {
  has(tensor: string): boolean;
  /** A matrix (rows, cols), or a vector (cols null). */
  get(tensor: string, rows: number, cols: number | null): Promise<GgufTensorData>;
  vec(tensor: string, n: number): Promise<Float32Array>;
  /** Keep `t`'s packed codes (if any) under LinearWeight name `as`; its f32 values. */
  keep(t: GgufTensorData, as: string): Float32Array;
  fail(key: string, msg: string): never;
}

export function gpt2RawConfig(meta: GgufMeta, vocab: number, tie: boolean, fail: GgufTensorReader['fail']): Record<string, unknown> {
  const nHeads = meta.int('gpt2.attention.head_count');
  const kv = meta.int('gpt2.attention.head_count_kv', nHeads);
  if (kv !== nHeads) fail('gpt2.attention.head_count_kv', `(${kv}) differs from head_count (${nHeads}): GPT-2 has no grouped-query attention`);
  return {
    model_type: 'gpt2',
    n_embd: meta.int('gpt2.embedding_length'),
    n_layer: meta.int('gpt2.block_count'),
    n_head: nHeads,
    n_inner: meta.int('gpt2.feed_forward_length'),
    n_positions: meta.int('gpt2.context_length'),
    vocab_size: vocab,
    layer_norm_epsilon: meta.number('gpt2.attention.layer_norm_epsilon', 1e-5),
    activation_function: 'gelu_new',
    tie_word_embeddings: tie,
    bos_token_id: meta.int('tokenizer.ggml.bos_token_id', null),
    eos_token_id: meta.int('tokenizer.ggml.eos_token_id', null),
  };
}

export async function readGpt2Weights(cfg: ModelConfig, r: GgufTensorReader, tie: boolean): Promise<HostWeights> {
  const { hiddenSize: H, intermediateSize: I, vocabSize: V, maxSeq: P } = cfg;
  const emb = await r.get('token_embd.weight', V, H);
  const posEmbed = (await r.get('position_embd.weight', P, H)).values;
  const lin = async (tensor: string, rows: number, cols: number, as: string) => r.keep(await r.get(tensor, rows, cols), as);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const b = `blk.${l}.`;
    const p = `model.layers.${l}.`;
    const qkv = await r.get(`${b}attn_qkv.weight`, 3 * H, H);
    const qkvBias = await r.vec(`${b}attn_qkv.bias`, 3 * H);
    layers.push({
      inputNorm: await r.vec(`${b}attn_norm.weight`, H),
      inputNormBias: await r.vec(`${b}attn_norm.bias`, H),
      q: r.keep(sliceTensorRows(qkv, 0, H), `${p}self_attn.q_proj.weight`),
      k: r.keep(sliceTensorRows(qkv, H, H), `${p}self_attn.k_proj.weight`),
      v: r.keep(sliceTensorRows(qkv, 2 * H, H), `${p}self_attn.v_proj.weight`),
      o: await lin(`${b}attn_output.weight`, H, H, `${p}self_attn.o_proj.weight`),
      qBias: qkvBias.slice(0, H),
      kBias: qkvBias.slice(H, 2 * H),
      vBias: qkvBias.slice(2 * H),
      oBias: await r.vec(`${b}attn_output.bias`, H),
      postNorm: await r.vec(`${b}ffn_norm.weight`, H),
      postNormBias: await r.vec(`${b}ffn_norm.bias`, H),
      gate: null,
      up: await lin(`${b}ffn_up.weight`, I, H, `${p}mlp.up_proj.weight`),
      down: await lin(`${b}ffn_down.weight`, H, I, `${p}mlp.down_proj.weight`),
      upBias: await r.vec(`${b}ffn_up.bias`, I),
      downBias: await r.vec(`${b}ffn_down.bias`, H),
    });
  }
  const finalNorm = await r.vec('output_norm.weight', H);
  const finalNormBias = await r.vec('output_norm.bias', H);
  const lmHead = tie ? r.keep(emb, 'lm_head (tied)') : await lin('output.weight', V, H, 'lm_head.weight');
  return { embed: emb.values, posEmbed, layers, finalNorm, finalNormBias, lmHead };
}
