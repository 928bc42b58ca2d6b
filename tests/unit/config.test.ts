// parseConfig: real configs parse to the right ModelConfig; every missing/invalid field is a ConfigError naming
// the file and the field; unsupported features are refused.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/model/config';
import { ConfigError, ModelLoadError } from '../../src/model/errors';

const labTarget = JSON.parse(readFileSync(new URL('../../models/lab-target/config.json', import.meta.url), 'utf8'));

const base = () => ({
  model_type: 'llama', hidden_size: 72, intermediate_size: 98, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, vocab_size: 97, max_position_embeddings: 128,
});

/** The config.json of openai-community/gpt2 (fields the lab reads, plus a few it ignores). */
const gpt2Base = (): Record<string, unknown> => ({
  activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], attn_pdrop: 0.1, bos_token_id: 50256, embd_pdrop: 0.1,
  eos_token_id: 50256, initializer_range: 0.02, layer_norm_epsilon: 1e-5, model_type: 'gpt2', n_ctx: 1024, n_embd: 768,
  n_head: 12, n_layer: 12, n_positions: 1024, resid_pdrop: 0.1, summary_activation: null, summary_first_dropout: 0.1,
  summary_proj_to_labels: true, summary_type: 'cls_index', summary_use_proj: true, vocab_size: 50257,
});

function configError(json: unknown, file?: string): ConfigError {
  try {
    parseConfig(json, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(ModelLoadError);
    expect((e as Error).name).toBe('ConfigError');
    return e as ConfigError;
  }
  throw new Error('parseConfig did not throw');
}

describe('parseConfig', () => {
  it('parses the embedded lab-target config', () => {
    expect(parseConfig(labTarget)).toEqual({
      architecture: 'llama', norm: 'rmsnorm', normEps: 1e-5, positions: 'rope', mlp: 'swiglu', linearBias: false,
      hiddenSize: 256, intermediateSize: 768, nLayers: 6, nHeads: 8, nKvHeads: 4, headDim: 32,
      vocabSize: 1024, maxSeq: 256, ropeTheta: 10000, ropeScaling: null, tieWordEmbeddings: false,
      attentionBias: false, bosTokenId: 1023, eosTokenIds: [1023],
    });
  });

  it('fills defaults: head_dim, num_key_value_heads, eps, theta, tie, no special tokens', () => {
    const { num_key_value_heads: _, ...noKv } = base();
    const c = parseConfig(noKv);
    expect(c.headDim).toBe(18);
    expect(c.nKvHeads).toBe(4);
    expect(c.normEps).toBe(1e-6);
    expect(c.ropeTheta).toBe(10000);
    expect(c.tieWordEmbeddings).toBe(false);
    expect(c.bosTokenId).toBeNull();
    expect(c.eosTokenIds).toEqual([]);
  });

  it('takes the architecture from `architectures` when model_type is absent', () => {
    const { model_type: _, ...rest } = base();
    expect(parseConfig({ ...rest, architectures: ['Qwen2ForCausalLM'] }).architecture).toBe('qwen2');
    expect(configError({ ...rest, architectures: ['GPTNeoXForCausalLM'] }).field).toBe('architectures');
    expect(configError(rest).field).toBe('model_type');
  });

  it('qwen2 always has q/k/v biases; eos lists; explicit head_dim', () => {
    const c = parseConfig({ ...base(), model_type: 'qwen2', eos_token_id: [3, 5], head_dim: 16, tie_word_embeddings: true });
    expect(c.architecture).toBe('qwen2');
    expect(c.attentionBias).toBe(true);
    expect(c.eosTokenIds).toEqual([3, 5]);
    expect(c.headDim).toBe(16);
    expect(c.tieWordEmbeddings).toBe(true);
  });

  it('parses llama3 rope scaling (rope_scaling and transformers v5 rope_parameters)', () => {
    const rs = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    expect(parseConfig({ ...base(), rope_theta: 500000, rope_scaling: rs })).toMatchObject({ ropeTheta: 500000, ropeScaling: rs });
    expect(parseConfig({ ...base(), rope_scaling: { type: 'default' } }).ropeScaling).toBeNull();
    const v5 = parseConfig({ ...base(), rope_parameters: { ...rs, rope_theta: 123 } });
    expect(v5.ropeTheta).toBe(123);
    expect(v5.ropeScaling).toEqual(rs);
    expect(parseConfig({ ...base(), rope_parameters: { rope_type: 'default', rope_theta: 7 } })).toMatchObject({ ropeTheta: 7, ropeScaling: null });
  });

  it('names each missing required field', () => {
    for (const field of ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'vocab_size', 'max_position_embeddings']) {
      const json: Record<string, unknown> = base();
      delete json[field];
      const e = configError(json, 'my/config.json');
      expect(e.field).toBe(field);
      expect(e.file).toBe('my/config.json');
      expect(e.message).toContain('my/config.json');
      expect(e.message).toContain(field);
      expect(e.message).toContain('missing');
    }
  });

  it('rejects invalid values, naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ hidden_size: 0 }, 'hidden_size'],
      [{ hidden_size: -72 }, 'hidden_size'],
      [{ num_hidden_layers: 2.5 }, 'num_hidden_layers'],
      [{ vocab_size: '97' }, 'vocab_size'],
      [{ num_key_value_heads: 3 }, 'num_key_value_heads'], // 4 % 3 != 0
      [{ hidden_size: 70 }, 'head_dim'], // 70 / 4 not an integer and no head_dim
      [{ hidden_size: 20, num_attention_heads: 4, num_key_value_heads: 4 }, 'head_dim'], // head_dim 5 is odd
      [{ rms_norm_eps: -1 }, 'rms_norm_eps'],
      [{ rope_theta: 0 }, 'rope_theta'],
      [{ tie_word_embeddings: 'yes' }, 'tie_word_embeddings'],
      [{ eos_token_id: 97 }, 'eos_token_id'], // outside the vocabulary
      [{ bos_token_id: -1 }, 'bos_token_id'],
      [{ model_type: 'gpt_neox' }, 'model_type'],
      [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'rope_scaling.rope_type'],
      [{ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 } }, 'rope_scaling.original_max_position_embeddings'],
      [{ rope_scaling: 'linear' }, 'rope_scaling'],
      [{ attention_bias: true }, 'attention_bias'], // llama's attention_bias adds an o_proj bias
      [{ mlp_bias: true }, 'mlp_bias'],
      [{ hidden_act: 'gelu' }, 'hidden_act'],
      [{ quantization_config: { quant_method: 'gptq' } }, 'quantization_config'],
      [{ model_type: 'qwen2', use_sliding_window: true }, 'use_sliding_window'],
    ];
    for (const [patch, field] of cases) {
      const e = configError({ ...base(), ...patch });
      expect(e.field, JSON.stringify(patch)).toBe(field);
      expect(e.message.startsWith('config.json: '), e.message).toBe(true);
      expect(e.message).toContain(field);
    }
  });

  it('parses GPT-2 (HF gpt2 config.json): layernorm, learned positions, gelu, biases, tied head', () => {
    const c = parseConfig(gpt2Base());
    expect(c).toEqual({
      architecture: 'gpt2', norm: 'layernorm', normEps: 1e-5, positions: 'learned', mlp: 'gelu', linearBias: true,
      hiddenSize: 768, intermediateSize: 3072, nLayers: 12, nHeads: 12, nKvHeads: 12, headDim: 64, vocabSize: 50257, maxSeq: 1024,
      ropeTheta: 10000, ropeScaling: null, tieWordEmbeddings: true, attentionBias: true, bosTokenId: 50256, eosTokenIds: [50256],
    });
    expect(parseConfig({ ...gpt2Base(), n_inner: 100, layer_norm_epsilon: 1e-6, activation_function: 'gelu_pytorch_tanh' })).toMatchObject({ intermediateSize: 100, normEps: 1e-6 });
    expect(parseConfig({ ...gpt2Base(), n_embd: 36, n_head: 4 }).headDim).toBe(9); // odd head_dim is fine without rope
    const { model_type: _, ...rest } = gpt2Base();
    expect(parseConfig({ ...rest, architectures: ['GPT2LMHeadModel'] }).architecture).toBe('gpt2');
  });

  it('refuses what the GPT-2 forward pass does not implement, naming the field', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ activation_function: 'gelu' }, 'activation_function', /"gelu_new"/],
      [{ activation_function: 'relu' }, 'activation_function', /not supported/],
      [{ scale_attn_by_inverse_layer_idx: true }, 'scale_attn_by_inverse_layer_idx', /not supported/],
      [{ reorder_and_upcast_attn: true }, 'reorder_and_upcast_attn', /not supported/],
      [{ scale_attn_weights: false }, 'scale_attn_weights', /not supported/],
      [{ add_cross_attention: true }, 'add_cross_attention', /not supported/],
      [{ n_head: 5 }, 'n_head', /divide n_embd/],
      [{ n_positions: 0 }, 'n_positions', /positive integer/],
      [{ layer_norm_epsilon: 0 }, 'layer_norm_epsilon', /positive number/],
      [{ eos_token_id: 50257 }, 'eos_token_id', /token id/],
    ];
    for (const [patch, field, msg] of cases) {
      const e = configError({ ...gpt2Base(), ...patch });
      expect(e.field, JSON.stringify(patch)).toBe(field);
      expect(e.message).toMatch(msg);
    }
    for (const field of ['n_embd', 'n_layer', 'n_head', 'n_positions', 'vocab_size']) {
      const json: Record<string, unknown> = gpt2Base();
      delete json[field];
      expect(configError(json).field).toBe(field);
    }
  });

  it('rejects a non-object', () => {
    for (const bad of [null, 3, 'x', [1, 2]]) expect(configError(bad).field).toBe('(root)');
  });
});
