// Hugging Face tensor names → HostWeights (f32, host memory), every shape checked against the config.
//   model.embed_tokens.weight                         (vocab, hidden)
//   model.layers.{i}.input_layernorm.weight           (hidden)
//   model.layers.{i}.self_attn.{q,k,v,o}_proj.weight  (nHeads*headDim, hidden), (nKv*headDim, hidden) ×2, (hidden, nHeads*headDim)
//   model.layers.{i}.self_attn.{q,k,v}_proj.bias      (nHeads*headDim), (nKv*headDim) ×2   — qwen2 / attention_bias only
//   model.layers.{i}.post_attention_layernorm.weight  (hidden)
//   model.layers.{i}.mlp.{gate,up,down}_proj.weight   (inter, hidden) ×2, (hidden, inter)
//   model.norm.weight                                 (hidden)
//   lm_head.weight                                    (vocab, hidden)   — absent (ignored) when tied
// Checkpoints saved from the bare LlamaModel lack the "model." prefix; both spellings are accepted.
// GPT-2 checkpoints load through src/model/weights-gpt2.ts into the same HostWeights (all biases set, gate null,
// posEmbed set). Layout is the same for every architecture: linears (out_features, in_features) row-major.

import type { ModelConfig } from './config';
import { ModelLoadError } from './errors';
import { type ByteSource, type SafetensorsFile, tensorGetter } from './safetensors';
import { loadGpt2Weights } from './weights-gpt2';

export interface LayerWeights {
  inputNorm: Float32Array; // (hidden)
  inputNormBias: Float32Array | null; // (hidden): layernorm only
  q: Float32Array; // (nHeads*headDim, hidden)
  k: Float32Array; // (nKvHeads*headDim, hidden)
  v: Float32Array; // (nKvHeads*headDim, hidden)
  o: Float32Array; // (hidden, nHeads*headDim)
  qBias: Float32Array | null; // (nHeads*headDim) or null
  kBias: Float32Array | null; // (nKvHeads*headDim) or null
  vBias: Float32Array | null; // (nKvHeads*headDim) or null
  oBias: Float32Array | null; // (hidden): linearBias only
  postNorm: Float32Array; // (hidden)
  postNormBias: Float32Array | null; // (hidden): layernorm only
  gate: Float32Array | null; // (inter, hidden): swiglu only (null for a gelu MLP)
  up: Float32Array; // (inter, hidden)   (GPT-2: mlp.c_fc)
  down: Float32Array; // (hidden, inter) (GPT-2: mlp.c_proj)
  upBias: Float32Array | null; // (inter): linearBias only
  downBias: Float32Array | null; // (hidden): linearBias only
}

export interface HostWeights {
  embed: Float32Array; // (vocab, hidden)
  posEmbed: Float32Array | null; // (maxSeq, hidden): learned positions only (GPT-2's wpe)
  layers: LayerWeights[]; // nLayers
  finalNorm: Float32Array; // (hidden)
  finalNormBias: Float32Array | null; // (hidden): layernorm only
  lmHead: Float32Array; // (vocab, hidden); the same array as embed when tied
}

export async function loadWeights(cfg: ModelConfig, st: SafetensorsFile, src: ByteSource): Promise<HostWeights> {
  if (cfg.architecture === 'gpt2') return loadGpt2Weights(cfg, st, src);
  const { hiddenSize: H, intermediateSize: I, vocabSize: V } = cfg;
  const qDim = cfg.nHeads * cfg.headDim;
  const kvDim = cfg.nKvHeads * cfg.headDim;
  const prefix = !st.tensors.has('model.embed_tokens.weight') && st.tensors.has('embed_tokens.weight') ? '' : 'model.';

  const get = tensorGetter(st, src);

  const embed = await get(`${prefix}embed_tokens.weight`, [V, H]);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `${prefix}layers.${l}.`;
    const a = `${p}self_attn.`;
    const bias = async (proj: string, rows: number) => {
      const name = `${a}${proj}_proj.bias`;
      if (cfg.attentionBias) return get(name, [rows], `${cfg.architecture} has q/k/v biases`);
      if (st.tensors.has(name)) throw new ModelLoadError(`has tensor "${name}" but config.json says attention_bias is false`, st.file);
      return null;
    };
    layers.push({
      inputNorm: await get(`${p}input_layernorm.weight`, [H]),
      inputNormBias: null,
      q: await get(`${a}q_proj.weight`, [qDim, H]),
      k: await get(`${a}k_proj.weight`, [kvDim, H]),
      v: await get(`${a}v_proj.weight`, [kvDim, H]),
      o: await get(`${a}o_proj.weight`, [H, qDim]),
      qBias: await bias('q', qDim),
      kBias: await bias('k', kvDim),
      vBias: await bias('v', kvDim),
      oBias: null,
      postNorm: await get(`${p}post_attention_layernorm.weight`, [H]),
      postNormBias: null,
      gate: await get(`${p}mlp.gate_proj.weight`, [I, H]),
      up: await get(`${p}mlp.up_proj.weight`, [I, H]),
      down: await get(`${p}mlp.down_proj.weight`, [H, I]),
      upBias: null,
      downBias: null,
    });
  }
  const finalNorm = await get(`${prefix}norm.weight`, [H]);
  const lmHead = cfg.tieWordEmbeddings ? embed : await get('lm_head.weight', [V, H], 'tie_word_embeddings is false');
  return { embed, posEmbed: null, layers, finalNorm, finalNormBias: null, lmHead };
}

/** Number of distinct parameters the config implies (a tied lm_head counted once). */
export function countParameters(cfg: ModelConfig): number {
  const { hiddenSize: H, intermediateSize: I, vocabSize: V } = cfg;
  const qDim = cfg.nHeads * cfg.headDim;
  const kvDim = cfg.nKvHeads * cfg.headDim;
  const ln = cfg.norm === 'layernorm' ? 2 : 1; // weight (+ bias) per norm
  const attn = qDim * H + 2 * kvDim * H + H * qDim + (cfg.attentionBias ? qDim + 2 * kvDim : 0) + (cfg.linearBias ? H : 0);
  const mlp = (cfg.mlp === 'swiglu' ? 3 : 2) * I * H + (cfg.linearBias ? I + H : 0);
  const perLayer = 2 * ln * H + attn + mlp;
  const pos = cfg.positions === 'learned' ? cfg.maxSeq * H : 0;
  return V * H + pos + cfg.nLayers * perLayer + ln * H + (cfg.tieWordEmbeddings ? 0 : V * H);
}
