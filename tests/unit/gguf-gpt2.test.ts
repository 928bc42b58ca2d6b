// GGUF "gpt2": config from gpt2.* keys, the fused attn_qkv split by rows into q/k/v (weights, biases and Q8_0/Q4_0
// codes alike), learned positions, layernorm biases, tied or untied head; missing, misshapen and stray tensors named.
import { describe, expect, it } from 'vitest';
import { GgufError, MissingTensorError, ShapeMismatchError } from '../../src/model/errors';
import { loadGguf } from '../../src/model/gguf-model';
import { bytesSource } from '../../src/model/safetensors';
import { dequantize } from '../../src/techniques/quantize';
import { loadGpt2Fixture } from '../fixtures/gpt2';
import { gpt2Gguf } from '../fixtures/gguf-gpt2-writer';
import { readGguf } from '../../src/model/gguf';
import { type MetaValue, writeGguf, type WriterTensor } from '../fixtures/gguf-writer';

const SHAPE = { hiddenSize: 64, nHeads: 4, nInner: 96, vocabSize: 70, nLayers: 2, maxSeq: 48 };
const load = (b: Uint8Array) => loadGguf(bytesSource('g.gguf', b), 'g');

describe('GGUF gpt2', () => {
  it('F32: config and every weight equal the HF checkpoint (qkv split by rows, Conv1D already transposed)', async () => {
    const { cfg, weights } = await loadGpt2Fixture({ seed: 41, ...SHAPE });
    const { bytes } = gpt2Gguf(cfg, weights);
    const m = await load(bytes);
    const c = m.config;
    expect([c.architecture, c.norm, c.positions, c.mlp, c.linearBias, c.attentionBias, c.tieWordEmbeddings]).toEqual(['gpt2', 'layernorm', 'learned', 'gelu', true, true, true]);
    expect([c.hiddenSize, c.intermediateSize, c.nLayers, c.nHeads, c.nKvHeads, c.headDim, c.vocabSize, c.maxSeq]).toEqual([64, 96, 2, 4, 4, 16, 70, 48]);
    expect(c.normEps).toBe(Math.fround(1e-5));
    const w = m.weights;
    expect(w.lmHead).toBe(w.embed);
    expect(w.embed).toEqual(weights.embed);
    expect(w.posEmbed).toEqual(weights.posEmbed);
    expect([w.finalNorm, w.finalNormBias]).toEqual([weights.finalNorm, weights.finalNormBias]);
    for (let l = 0; l < 2; l++)
      for (const k of ['q', 'k', 'v', 'o', 'up', 'down', 'qBias', 'kBias', 'vBias', 'oBias', 'upBias', 'downBias', 'inputNorm', 'inputNormBias', 'postNorm', 'postNormBias'] as const)
        expect(w.layers[l]![k], `layer ${l} ${k}`).toEqual(weights.layers[l]![k]);
    expect(w.layers[0]!.gate).toBeNull();
    expect(m.prepacked).toBeUndefined();
  });

  it('quantized: Q8_0 attn_qkv splits into prepacked q/k/v, Q4_0 ffn_up, Q8_0 tied head, untied output alike', async () => {
    const { cfg, weights } = await loadGpt2Fixture({ seed: 42, ...SHAPE });
    const types = { token_embd: 'Q8_0', attn_qkv: 'Q8_0', attn_output: 'F16', ffn_up: 'Q4_0', ffn_down: 'BF16' } as const;
    const { bytes, expected } = gpt2Gguf(cfg, weights, { types });
    const m = await load(bytes);
    for (let l = 0; l < 2; l++)
      for (const k of ['q', 'k', 'v', 'o', 'up', 'down'] as const) expect(m.weights.layers[l]![k], `layer ${l} ${k}`).toEqual(expected.layers[l]![k]);
    expect(m.weights.layers[1]!.k).not.toEqual(weights.layers[1]!.k);
    const names = [...m.prepacked!.keys()].sort();
    expect(names).toEqual(['lm_head (tied)', ...[0, 1].flatMap((l) => ['mlp.up_proj', 'self_attn.k_proj', 'self_attn.q_proj', 'self_attn.v_proj'].map((n) => `model.layers.${l}.${n}.weight`))].sort());
    const v = m.prepacked!.get('model.layers.1.self_attn.v_proj.weight')!;
    expect([v.format, v.rows, v.cols]).toEqual(['q8', 64, 64]);
    expect(dequantize(v)).toEqual(m.weights.layers[1]!.v);
    expect(dequantize(m.prepacked!.get('model.layers.0.mlp.up_proj.weight')!)).toEqual(m.weights.layers[0]!.up);

    const untied = await load(gpt2Gguf(cfg, weights, { types: { output: 'Q4_0' }, writeOutput: true }).bytes);
    expect(untied.config.tieWordEmbeddings).toBe(false);
    expect(untied.weights.lmHead).not.toBe(untied.weights.embed);
    expect([...untied.prepacked!.keys()]).toEqual(['lm_head.weight']);
  });

  it('names what is wrong: missing / misshapen / stray tensors, grouped heads, missing keys', async () => {
    const { cfg, weights } = await loadGpt2Fixture({ seed: 43, ...SHAPE });
    const base = gpt2Gguf(cfg, weights).bytes;
    const g = await readGguf(bytesSource('g.gguf', base));
    const rebuild = async (edit: (m: Record<string, MetaValue>, t: WriterTensor[]) => void) => {
      const meta: Record<string, MetaValue> = {};
      for (const [k, kv] of g.metadata) meta[k] = { type: kv.type, value: kv.value } as MetaValue;
      const ts: WriterTensor[] = [...g.tensors.values()].map((t) => ({ name: t.name, dims: t.dims, type: 'F32', data: new Float32Array(base.slice(t.begin, t.end).buffer) }));
      edit(meta, ts);
      return load(writeGguf(meta, ts)).then(() => null, (e: unknown) => e as Error);
    };
    const missing = await rebuild((_, t) => t.splice(t.findIndex((x) => x.name === 'position_embd.weight'), 1));
    expect(missing).toBeInstanceOf(MissingTensorError);
    expect(missing?.message).toMatch(/position_embd\.weight/);
    const bad = await rebuild((_, t) => {
      const i = t.findIndex((x) => x.name === 'blk.1.attn_qkv.weight');
      t[i] = { ...t[i]!, dims: [64 * 3, 64] };
    });
    expect(bad).toBeInstanceOf(ShapeMismatchError);
    expect(bad?.message).toMatch(/blk\.1\.attn_qkv\.weight" has shape \[192, 64\] but the config implies \[64, 192\]/);
    const stray = await rebuild((_, t) => t.push({ name: 'blk.0.attn_q.weight', dims: [64, 64], type: 'F32', data: new Float32Array(64 * 64) }));
    expect(stray).toBeInstanceOf(GgufError);
    expect(stray?.message).toMatch(/blk\.0\.attn_q\.weight: is not a tensor of a gpt2 model/);
    expect((await rebuild((m) => (m['gpt2.attention.head_count_kv'] = { type: 'u32', value: 2 })))?.message).toMatch(/gpt2\.attention\.head_count_kv: \(2\) differs from head_count \(4\)/);
    expect((await rebuild((m) => delete m['gpt2.context_length']))?.message).toMatch(/gpt2\.context_length: is missing/);
  });
});
