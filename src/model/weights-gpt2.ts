// GPT-2 (Hugging Face GPT2LMHeadModel) tensor names → HostWeights, every shape checked against the config.
// HF's GPT-2 uses Conv1D, whose weight is stored TRANSPOSED, as (in_features, out_features): y = x · W + b.
// The lab's linears are (out_features, in_features) (y = W · x + b), so each Conv1D weight is transposed while
// it is read, one tensor at a time; the fused c_attn (hidden, 3·hidden) is split into q, k, v (columns
// [0, H), [H, 2H), [2H, 3H)) and its bias likewise. H = n_embd, I = n_inner:
//   transformer.wte.weight                     (vocab, H)       → embed (and the tied lm_head)
//   transformer.wpe.weight                     (n_positions, H) → posEmbed
//   transformer.h.{i}.ln_1.{weight,bias}       (H)              → inputNorm, inputNormBias
//   transformer.h.{i}.attn.c_attn.weight       (H, 3H)          → q, k, v (each (H, H) after transposing)
//   transformer.h.{i}.attn.c_attn.bias         (3H)             → qBias, kBias, vBias
//   transformer.h.{i}.attn.c_proj.{weight,bias} (H, H), (H)     → o, oBias
//   transformer.h.{i}.ln_2.{weight,bias}       (H)              → postNorm, postNormBias
//   transformer.h.{i}.mlp.c_fc.{weight,bias}   (H, I), (I)      → up, upBias      (gate: null)
//   transformer.h.{i}.mlp.c_proj.{weight,bias} (I, H), (H)      → down, downBias
//   transformer.ln_f.{weight,bias}             (H)              → finalNorm, finalNormBias
//   lm_head.weight                             (vocab, H)       — only read when tie_word_embeddings is false
// Checkpoints saved from the bare GPT2Model lack the "transformer." prefix; both spellings are accepted. The
// attention-mask buffers some checkpoints carry (h.{i}.attn.bias, h.{i}.attn.masked_bias) are ignored.

import type { ModelConfig } from './config';
import { type ByteSource, type SafetensorsFile, tensorGetter } from './safetensors';
import type { HostWeights, LayerWeights } from './weights';

/** (rows, cols) row-major → (cols, rows) row-major. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** Columns [c0, c0 + n) of a (rows, cols) row-major matrix, transposed: an (n, rows) matrix. */
function columnsTransposed(a: Float32Array, rows: number, cols: number, c0: number, n: number): Float32Array {
  const out = new Float32Array(n * rows);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) out[j * rows + r] = a[r * cols + c0 + j]!;
  return out;
}

export async function loadGpt2Weights(cfg: ModelConfig, st: SafetensorsFile, src: ByteSource): Promise<HostWeights> {
  const { hiddenSize: H, intermediateSize: I, vocabSize: V, maxSeq: P } = cfg;
  const prefix = !st.tensors.has('transformer.wte.weight') && st.tensors.has('wte.weight') ? '' : 'transformer.';

  const get = tensorGetter(st, src);
  /** A Conv1D weight stored (inF, outF), returned as our (outF, inF). */
  const conv = async (name: string, inF: number, outF: number) => transpose(await get(name, [inF, outF], 'GPT-2 Conv1D (in, out)'), inF, outF);

  const embed = await get(`${prefix}wte.weight`, [V, H]);
  const posEmbed = await get(`${prefix}wpe.weight`, [P, H], 'learned positions: n_positions rows');
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `${prefix}h.${l}.`;
    const qkv = await get(`${p}attn.c_attn.weight`, [H, 3 * H], 'GPT-2 Conv1D (in, out)');
    const qkvBias = await get(`${p}attn.c_attn.bias`, [3 * H]);
    layers.push({
      inputNorm: await get(`${p}ln_1.weight`, [H]),
      inputNormBias: await get(`${p}ln_1.bias`, [H]),
      q: columnsTransposed(qkv, H, 3 * H, 0, H),
      k: columnsTransposed(qkv, H, 3 * H, H, H),
      v: columnsTransposed(qkv, H, 3 * H, 2 * H, H),
      o: await conv(`${p}attn.c_proj.weight`, H, H),
      qBias: qkvBias.slice(0, H),
      kBias: qkvBias.slice(H, 2 * H),
      vBias: qkvBias.slice(2 * H, 3 * H),
      oBias: await get(`${p}attn.c_proj.bias`, [H]),
      postNorm: await get(`${p}ln_2.weight`, [H]),
      postNormBias: await get(`${p}ln_2.bias`, [H]),
      gate: null,
      up: await conv(`${p}mlp.c_fc.weight`, H, I),
      down: await conv(`${p}mlp.c_proj.weight`, I, H),
      upBias: await get(`${p}mlp.c_fc.bias`, [I]),
      downBias: await get(`${p}mlp.c_proj.bias`, [H]),
    });
  }
  const finalNorm = await get(`${prefix}ln_f.weight`, [H]);
  const finalNormBias = await get(`${prefix}ln_f.bias`, [H]);
  const lmHead = cfg.tieWordEmbeddings ? embed : await get('lm_head.weight', [V, H], 'tie_word_embeddings is false');
  return { embed, posEmbed, layers, finalNorm, finalNormBias, lmHead };
}
