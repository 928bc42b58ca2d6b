// models/manifest.json "known": the known-models table (Hub repo ids the UI offers) checked against the real
// configs (written here as the Hub publishes them): parameters = countParameters(parseConfig(config)), and the
// expected weight bytes per precision from the same bits-per-weight formula the packer uses (bitsPerWeight):
//   f32:        parameters × 4
//   f16:        every linear, the token-embedding table and an untied lm_head at 2 bytes (a tied head IS the f16
//               table: counted once); learned positions, norms, biases stay f32 (the f16 plan, embeddingSpec)
//   int8_g32:   every linear (q, k, v, o, MLP), the token-embedding table (q8 g32) and an untied lm_head at
//               bitsPerWeight('q8', 32) = 9 bits (a tied head IS the q8 table); positions, norms, biases f32
//   int4_g32:   body linears at bitsPerWeight('q4', 32) = 5 bits; the embedding table q8 g32 and an untied lm_head
//               q8 g32 (a tied head is the q8 table: the default plan's q8 head); rest f32
//   (every hidden / intermediate size here is a multiple of 32, so no row padding and no short groups)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ModelConfig, parseConfig } from '../../src/model/config';
import { validateRepoId } from '../../src/model/hub';
import { countParameters } from '../../src/model/weights';
import { bitsPerWeight } from '../../src/techniques/quantize';

const llama = (o: Record<string, unknown>) => ({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', rms_norm_eps: 1e-5, rope_scaling: null, ...o });

const CONFIGS: Record<string, Record<string, unknown>> = {
  'HuggingFaceTB/SmolLM2-135M': llama({ hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, max_position_embeddings: 8192, rope_theta: 100000, tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 0 }),
  'HuggingFaceTB/SmolLM2-360M': llama({ hidden_size: 960, intermediate_size: 2560, num_hidden_layers: 32, num_attention_heads: 15, num_key_value_heads: 5, vocab_size: 49152, max_position_embeddings: 8192, rope_theta: 100000, tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 0 }),
  'Qwen/Qwen2.5-0.5B': { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, use_sliding_window: false, sliding_window: 32768, max_window_layers: 24, bos_token_id: 151643, eos_token_id: 151643 },
  'TinyLlama/TinyLlama-1.1B-Chat-v1.0': llama({ hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22, num_attention_heads: 32, num_key_value_heads: 4, vocab_size: 32000, max_position_embeddings: 2048, rope_theta: 10000, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2 }),
  'meta-llama/Llama-3.2-1B': llama({ hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, max_position_embeddings: 131072, rope_theta: 500000, tie_word_embeddings: true, attention_bias: false, mlp_bias: false, bos_token_id: 128000, eos_token_id: 128001, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }),
  'openai-community/gpt2': { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', activation_function: 'gelu_new', n_embd: 768, n_layer: 12, n_head: 12, n_ctx: 1024, n_positions: 1024, n_inner: null, vocab_size: 50257, layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256 },
};

/** Parameters of the body's linear layers (what int8/int4 pack, besides the head). */
function bodyLinears(c: ModelConfig): number {
  const H = c.hiddenSize;
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  return c.nLayers * (2 * q * H + 2 * kv * H + (c.mlp === 'swiglu' ? 3 : 2) * c.intermediateSize * H);
}

function expectedBytes(c: ModelConfig): Record<string, number> {
  const params = countParameters(c);
  const body = bodyLinears(c);
  const table = c.vocabSize * c.hiddenSize; // token embedding (and a tied head over it)
  const head = c.tieWordEmbeddings ? 0 : c.vocabSize * c.hiddenSize; // an untied lm_head
  const rest = params - body - table - head; // positions, norms, biases: f32
  const q8 = bitsPerWeight('q8', 32) / 8;
  const q4 = bitsPerWeight('q4', 32) / 8;
  return {
    f32: params * 4,
    f16: Math.ceil(rest * 4 + (body + table + head) * 2),
    int8_g32: Math.ceil(rest * 4 + (body + table + head) * q8),
    int4_g32: Math.ceil(rest * 4 + body * q4 + (table + head) * q8),
  };
}

interface Known {
  repo: string;
  architecture: string;
  parameters: number;
  gated?: boolean;
  bytes: Record<string, number>;
}

const manifest = JSON.parse(readFileSync(new URL('../../models/manifest.json', import.meta.url), 'utf8')) as { known: Known[] };

describe('models/manifest.json known-models table', () => {
  it('lists the models with configs written here, no duplicates, valid repo ids', () => {
    expect(manifest.known.map((k) => k.repo).sort()).toEqual(Object.keys(CONFIGS).sort());
    for (const k of manifest.known) expect(validateRepoId(k.repo)).toBe(k.repo);
    expect(manifest.known.find((k) => k.repo === 'meta-llama/Llama-3.2-1B')?.gated).toBe(true);
  });

  it.each(Object.keys(CONFIGS))('%s: parameters and bytes per precision match the config', (repo) => {
    const cfg = parseConfig(CONFIGS[repo]);
    const k = manifest.known.find((e) => e.repo === repo)!;
    expect(k.architecture).toBe(cfg.architecture);
    expect(k.parameters).toBe(countParameters(cfg));
    expect(k.bytes).toEqual(expectedBytes(cfg));
  });

  it('hand-checked parameter counts (as the model cards give them)', () => {
    const p = (r: string) => countParameters(parseConfig(CONFIGS[r]));
    expect(p('HuggingFaceTB/SmolLM2-135M')).toBe(134_515_008);
    expect(p('Qwen/Qwen2.5-0.5B')).toBe(494_032_768);
    expect(p('TinyLlama/TinyLlama-1.1B-Chat-v1.0')).toBe(1_100_048_384);
    expect(p('openai-community/gpt2')).toBe(124_439_808);
    expect(p('meta-llama/Llama-3.2-1B')).toBe(1_235_814_400);
  });
});
