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

import type { ModelConfig } from './config';
import { ModelLoadError, MissingTensorError, ShapeMismatchError } from './errors';
import { readTensorF32, type ByteSource, type SafetensorsFile } from './safetensors';

export interface LayerWeights {
  inputNorm: Float32Array; // (hidden)
  q: Float32Array; // (nHeads*headDim, hidden)
  k: Float32Array; // (nKvHeads*headDim, hidden)
  v: Float32Array; // (nKvHeads*headDim, hidden)
  o: Float32Array; // (hidden, nHeads*headDim)
  qBias: Float32Array | null; // (nHeads*headDim) or null
  kBias: Float32Array | null; // (nKvHeads*headDim) or null
  vBias: Float32Array | null; // (nKvHeads*headDim) or null
  postNorm: Float32Array; // (hidden)
  gate: Float32Array; // (inter, hidden)
  up: Float32Array; // (inter, hidden)
  down: Float32Array; // (hidden, inter)
}

export interface HostWeights {
  embed: Float32Array; // (vocab, hidden)
  layers: LayerWeights[]; // nLayers
  finalNorm: Float32Array; // (hidden)
  lmHead: Float32Array; // (vocab, hidden); the same array as embed when tied
}

export async function loadWeights(cfg: ModelConfig, st: SafetensorsFile, src: ByteSource): Promise<HostWeights> {
  const { hiddenSize: H, intermediateSize: I, vocabSize: V } = cfg;
  const qDim = cfg.nHeads * cfg.headDim;
  const kvDim = cfg.nKvHeads * cfg.headDim;
  const prefix = !st.tensors.has('model.embed_tokens.weight') && st.tensors.has('embed_tokens.weight') ? '' : 'model.';

  const get = async (name: string, shape: number[], detail = ''): Promise<Float32Array> => {
    const info = st.tensors.get(name);
    if (!info) throw new MissingTensorError(st.file, name, detail);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
      throw new ShapeMismatchError(st.file, name, shape, info.shape);
    return readTensorF32(src, info);
  };

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
      q: await get(`${a}q_proj.weight`, [qDim, H]),
      k: await get(`${a}k_proj.weight`, [kvDim, H]),
      v: await get(`${a}v_proj.weight`, [kvDim, H]),
      o: await get(`${a}o_proj.weight`, [H, qDim]),
      qBias: await bias('q', qDim),
      kBias: await bias('k', kvDim),
      vBias: await bias('v', kvDim),
      postNorm: await get(`${p}post_attention_layernorm.weight`, [H]),
      gate: await get(`${p}mlp.gate_proj.weight`, [I, H]),
      up: await get(`${p}mlp.up_proj.weight`, [I, H]),
      down: await get(`${p}mlp.down_proj.weight`, [H, I]),
    });
  }
  const finalNorm = await get(`${prefix}norm.weight`, [H]);
  const lmHead = cfg.tieWordEmbeddings ? embed : await get('lm_head.weight', [V, H], 'tie_word_embeddings is false');
  return { embed, layers, finalNorm, lmHead };
}

/** Number of distinct parameters the config implies (a tied lm_head counted once). */
export function countParameters(cfg: ModelConfig): number {
  const { hiddenSize: H, intermediateSize: I, vocabSize: V } = cfg;
  const qDim = cfg.nHeads * cfg.headDim;
  const kvDim = cfg.nKvHeads * cfg.headDim;
  const attn = qDim * H + 2 * kvDim * H + H * qDim + (cfg.attentionBias ? qDim + 2 * kvDim : 0);
  const perLayer = 2 * H + attn + 3 * I * H;
  return V * H + cfg.nLayers * perLayer + H + (cfg.tieWordEmbeddings ? 0 : V * H);
}
