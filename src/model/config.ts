// config.json (Hugging Face) → ModelConfig. Accepts model_type 'llama' (LlamaForCausalLM: Llama 2/3, SmolLM,
// TinyLlama, the lab's own models), 'qwen2' and 'gpt2' (GPT2LMHeadModel). Every missing or invalid field is a
// ConfigError naming the field; features the forward pass does not implement (other rope types, MLP/o_proj biases
// on llama, sliding windows, quantized checkpoints, other activations, GPT-2's per-layer attention scaling) are
// refused up front rather than producing silently wrong logits.
// The block is described by four fields the forward pass branches on (never on `architecture` itself):
//   llama / qwen2: norm rmsnorm, positions rope, mlp swiglu (gate/up/down), linearBias false
//   gpt2:          norm layernorm (weight + bias), positions learned (wpe), mlp gelu (up = c_fc, down = c_proj),
//                  linearBias true (o, up, down have biases; q/k/v too: attentionBias), lm_head tied to wte

import type { RopeScaling } from '../ref/rope';
import { ConfigError } from './errors';

export type Architecture = 'llama' | 'qwen2' | 'gpt2';
/** rmsnorm: x / rms(x) · w. layernorm: (x − mean) / std · w + b (norm weights then have biases). */
export type NormKind = 'rmsnorm' | 'layernorm';
/** rope: rotary q/k (ropeTheta, ropeScaling). learned: a position-embedding table added to the token embedding. */
export type PositionKind = 'rope' | 'learned';
/** swiglu: down(silu(gate(x)) · up(x)). gelu: down(gelu_tanh(up(x))) (no gate). */
export type MlpKind = 'swiglu' | 'gelu';

export interface ModelConfig {
  architecture: Architecture; // where the weights come from (names, layout); the block is described below
  norm: NormKind; // every norm of the model (input, post-attention, final)
  normEps: number; // epsilon inside every norm (rms_norm_eps, or GPT-2's layer_norm_epsilon)
  positions: PositionKind; // how positions enter: rotary q/k, or a learned table (maxSeq rows) added to x
  mlp: MlpKind; // feed-forward form
  linearBias: boolean; // o, up and down projections have biases (gpt2)
  hiddenSize: number; // model width (residual stream features)
  intermediateSize: number; // MLP hidden width (gate/up rows; GPT-2's n_inner)
  nLayers: number; // transformer blocks
  nHeads: number; // query heads
  nKvHeads: number; // key/value heads (< nHeads ⇒ grouped-query attention)
  headDim: number; // features per head (even when positions are rope: RoPE rotates pairs)
  vocabSize: number; // rows of the embedding table and of lm_head
  maxSeq: number; // max_position_embeddings (GPT-2: n_positions, the rows of wpe): the longest context
  ropeTheta: number; // RoPE base frequency (unused with learned positions)
  ropeScaling: RopeScaling | null; // Llama-3 frequency scaling, or null for plain RoPE (always null for gpt2)
  tieWordEmbeddings: boolean; // lm_head shares the embedding table
  attentionBias: boolean; // q/k/v projections have biases (always for qwen2)
  bosTokenId: number | null; // beginning-of-sequence id, if any
  eosTokenIds: number[]; // ids that end generation (may be empty)
}

const ARCH_BY_CLASS: Record<string, Architecture> = { LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2', GPT2LMHeadModel: 'gpt2' };
const GPT2_ACTS = ['gelu_new', 'gelu_pytorch_tanh'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A short, safe description of a config value for messages (never serialises deep or huge values). */
const show = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
    : Array.isArray(v) ? `an array of ${v.length}` : v !== null && typeof v === 'object' ? 'an object' : String(v);

export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!isObj(json)) throw new ConfigError(`expected a JSON object, got ${Array.isArray(json) ? 'an array' : show(json)}`, file, '(root)');
  const c = json;
  const fail = (field: string, msg: string): never => {
    throw new ConfigError(`${field} ${msg}`, file, field);
  };
  const has = (k: string) => c[k] !== undefined && c[k] !== null;
  const int = (k: string, dflt?: number): number => {
    if (!has(k)) return dflt !== undefined ? dflt : fail(k, 'is missing');
    const v = c[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) fail(k, `must be a positive integer, got ${show(v)}`);
    return v as number;
  };
  const pos = (obj: Obj, k: string, path: string, dflt?: number): number => {
    const v = obj[k];
    if (v === undefined || v === null) return dflt !== undefined ? dflt : fail(path, 'is missing');
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(path, `must be a positive number, got ${show(v)}`);
    return v as number;
  };
  const bool = (k: string, dflt: boolean): boolean => {
    if (!has(k)) return dflt;
    if (typeof c[k] !== 'boolean') fail(k, `must be true or false, got ${show(c[k])}`);
    return c[k] as boolean;
  };

  // Architecture: model_type first, else the architectures list.
  let architecture: Architecture;
  if (has('model_type')) {
    const mt = c.model_type;
    if (mt !== 'llama' && mt !== 'qwen2' && mt !== 'gpt2') fail('model_type', `${show(mt)} is not supported (supported: "llama", "qwen2", "gpt2")`);
    architecture = mt as Architecture;
  } else if (Array.isArray(c.architectures) && typeof c.architectures[0] === 'string') {
    const a = ARCH_BY_CLASS[c.architectures[0]];
    if (!a) fail('architectures', `${show(c.architectures[0])} is not supported (supported: ${Object.keys(ARCH_BY_CLASS).join(', ')})`);
    architecture = a!;
  } else {
    return fail('model_type', 'is missing (and no usable "architectures" entry)');
  }
  if (architecture === 'gpt2') return parseGpt2(c, fail, int, pos, bool, has);

  const hiddenSize = int('hidden_size');
  const intermediateSize = int('intermediate_size');
  const nLayers = int('num_hidden_layers');
  const nHeads = int('num_attention_heads');
  const nKvHeads = int('num_key_value_heads', nHeads);
  if (nHeads % nKvHeads !== 0) fail('num_key_value_heads', `(${nKvHeads}) must divide num_attention_heads (${nHeads})`);
  if (!has('head_dim') && hiddenSize % nHeads !== 0)
    fail('head_dim', `is missing and hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${nHeads})`);
  const headDim = int('head_dim', hiddenSize / nHeads);
  if (headDim % 2 !== 0) fail('head_dim', `(${headDim}) must be even for rotary embeddings`);
  const vocabSize = int('vocab_size');
  const maxSeq = int('max_position_embeddings');
  const normEps = pos(c, 'rms_norm_eps', 'rms_norm_eps', 1e-6);

  // transformers v5 moves rope_theta / rope_type into `rope_parameters`; older configs use rope_theta + rope_scaling.
  const rp = c.rope_parameters;
  if (rp !== undefined && rp !== null && !isObj(rp)) fail('rope_parameters', `must be an object, got ${show(rp)}`);
  const ropeTheta = isObj(rp) && rp.rope_theta !== undefined ? pos(rp, 'rope_theta', 'rope_parameters.rope_theta') : pos(c, 'rope_theta', 'rope_theta', 10000);
  const ropeScaling = parseRopeScaling(has('rope_scaling') ? c.rope_scaling : isObj(rp) ? rp : null, has('rope_scaling') ? 'rope_scaling' : 'rope_parameters', fail);

  const tieWordEmbeddings = bool('tie_word_embeddings', false);
  const attnBias = bool('attention_bias', false);
  if (architecture === 'llama' && attnBias) fail('attention_bias', 'true is not supported for llama (it adds an o_proj bias)');
  if (bool('mlp_bias', false)) fail('mlp_bias', 'true is not supported');
  if (architecture === 'qwen2' && bool('use_sliding_window', false)) fail('use_sliding_window', 'true is not supported');
  if (has('hidden_act') && c.hidden_act !== 'silu') fail('hidden_act', `${show(c.hidden_act)} is not supported (only "silu")`);
  if (has('quantization_config')) fail('quantization_config', 'is present: quantized checkpoints are not supported (load the float weights)');

  const { bosTokenId, eosTokenIds } = specialTokens(c, vocabSize, fail);

  return {
    architecture, norm: 'rmsnorm', normEps, positions: 'rope', mlp: 'swiglu', linearBias: false,
    hiddenSize, intermediateSize, nLayers, nHeads, nKvHeads, headDim, vocabSize, maxSeq,
    ropeTheta, ropeScaling, tieWordEmbeddings, attentionBias: architecture === 'qwen2' || attnBias, bosTokenId, eosTokenIds,
  };
}

type Fail = (field: string, msg: string) => never;

function specialTokens(c: Obj, vocabSize: number, fail: Fail): { bosTokenId: number | null; eosTokenIds: number[] } {
  const tokenId = (k: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= vocabSize)
      fail(k, `must be a token id in [0, ${vocabSize}), got ${show(v)}`);
    return v as number;
  };
  const bos = c.bos_token_id;
  const bosTokenId = bos !== undefined && bos !== null ? tokenId('bos_token_id', bos) : null;
  const eos = c.eos_token_id;
  const eosTokenIds = eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos.map((v) => tokenId('eos_token_id', v)) : [tokenId('eos_token_id', eos)];
  return { bosTokenId, eosTokenIds };
}

/**
 * GPT-2 (HF GPT2Config): n_embd, n_layer, n_head, n_positions, n_inner (null → 4·n_embd), vocab_size,
 * layer_norm_epsilon (1e-5), activation_function (gelu_new | gelu_pytorch_tanh, both the tanh form). Attention is
 * scaled by 1/sqrt(headDim) only: scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn are refused, as is
 * scale_attn_weights false. lm_head is tied to wte unless tie_word_embeddings is false.
 */
function parseGpt2(
  c: Obj, fail: Fail, int: (k: string, dflt?: number) => number, pos: (obj: Obj, k: string, path: string, dflt?: number) => number,
  bool: (k: string, dflt: boolean) => boolean, has: (k: string) => boolean,
): ModelConfig {
  const hiddenSize = int('n_embd');
  const nLayers = int('n_layer');
  const nHeads = int('n_head');
  if (hiddenSize % nHeads !== 0) fail('n_head', `(${nHeads}) must divide n_embd (${hiddenSize})`);
  const intermediateSize = int('n_inner', 4 * hiddenSize);
  const vocabSize = int('vocab_size');
  const maxSeq = int('n_positions');
  const normEps = pos(c, 'layer_norm_epsilon', 'layer_norm_epsilon', 1e-5);
  const act = has('activation_function') ? c.activation_function : 'gelu_new';
  if (typeof act !== 'string' || !GPT2_ACTS.includes(act))
    fail('activation_function', `${show(act)} is not supported (supported: ${GPT2_ACTS.map((a) => `"${a}"`).join(', ')}, the tanh approximation)`);
  if (bool('scale_attn_by_inverse_layer_idx', false)) fail('scale_attn_by_inverse_layer_idx', 'true is not supported (attention is scaled by 1/sqrt(head_dim) only)');
  if (bool('reorder_and_upcast_attn', false)) fail('reorder_and_upcast_attn', 'true is not supported');
  if (!bool('scale_attn_weights', true)) fail('scale_attn_weights', 'false is not supported (attention is scaled by 1/sqrt(head_dim))');
  if (bool('add_cross_attention', false)) fail('add_cross_attention', 'true is not supported (decoder-only models)');
  if (has('quantization_config')) fail('quantization_config', 'is present: quantized checkpoints are not supported (load the float weights)');
  const { bosTokenId, eosTokenIds } = specialTokens(c, vocabSize, fail);
  return {
    architecture: 'gpt2', norm: 'layernorm', normEps, positions: 'learned', mlp: 'gelu', linearBias: true,
    hiddenSize, intermediateSize, nLayers, nHeads, nKvHeads: nHeads, headDim: hiddenSize / nHeads, vocabSize, maxSeq,
    ropeTheta: 10000, ropeScaling: null, tieWordEmbeddings: bool('tie_word_embeddings', true), attentionBias: true,
    bosTokenId, eosTokenIds,
  };
}

/** null / 'default' → null; 'llama3' → RopeScaling; anything else → ConfigError naming `<where>.rope_type`. */
function parseRopeScaling(rs: unknown, where: string, fail: (field: string, msg: string) => never): RopeScaling | null {
  if (rs === null || rs === undefined) return null;
  if (!isObj(rs)) return fail(where, `must be an object or null, got ${show(rs)}`);
  const type = rs.rope_type ?? rs.type; // older configs spell it `type`
  if (type === undefined || type === 'default') return null;
  if (type !== 'llama3') return fail(`${where}.rope_type`, `${show(type)} is not supported (supported: "default", "llama3")`);
  const num = (k: string): number => {
    const v = rs[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`${where}.${k}`, v === undefined ? 'is missing' : `must be a positive number, got ${show(v)}`);
    return v as number;
  };
  const s: RopeScaling = {
    rope_type: 'llama3',
    factor: num('factor'),
    low_freq_factor: num('low_freq_factor'),
    high_freq_factor: num('high_freq_factor'),
    original_max_position_embeddings: num('original_max_position_embeddings'),
  };
  if (s.high_freq_factor <= s.low_freq_factor) fail(`${where}.high_freq_factor`, 'must be greater than low_freq_factor');
  return s;
}
