// GPT-2 loader (src/model/weights-gpt2.ts): Conv1D weights transposed to (out, in) and c_attn split into q | k | v
// exactly; every missing tensor or wrong shape is a typed error naming the tensor; countParameters agrees.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/model/config';
import { MissingTensorError, ShapeMismatchError } from '../../src/model/errors';
import { bytesSource, readSafetensors, readTensorF32 } from '../../src/model/safetensors';
import { countParameters, loadWeights } from '../../src/model/weights';
import { makeGpt2Fixture } from '../fixtures/gpt2';
import { writeSafetensors, type FixtureTensor } from '../fixtures/safetensors-writer';

async function tensorsOf(f: ReturnType<typeof makeGpt2Fixture>): Promise<Record<string, FixtureTensor>> {
  const src = bytesSource('model.safetensors', f.safetensors);
  const st = await readSafetensors(src);
  const out: Record<string, FixtureTensor> = {};
  for (const [name, info] of st.tensors) out[name] = { dtype: 'F32', shape: info.shape, data: await readTensorF32(src, info) };
  return out;
}

async function load(configJson: Record<string, unknown>, tensors: Record<string, FixtureTensor>) {
  const cfg = parseConfig(configJson);
  const src = bytesSource('model.safetensors', writeSafetensors(tensors));
  return loadWeights(cfg, await readSafetensors(src), src);
}

describe('loadWeights for gpt2', () => {
  it('transposes Conv1D weights to (out, in) and splits c_attn into q | k | v (and its bias)', async () => {
    const f = makeGpt2Fixture({ seed: 1, hiddenSize: 12, nHeads: 3, nInner: 20, vocabSize: 11, maxSeq: 9 });
    const t = await tensorsOf(f);
    const w = await load(f.configJson, t);
    const H = 12;
    const I = 20;
    const attn = t['transformer.h.1.attn.c_attn.weight']!.data; // (H, 3H)
    const cb = t['transformer.h.1.attn.c_attn.bias']!.data;
    const L = w.layers[1]!;
    for (let o = 0; o < H; o++) for (let i = 0; i < H; i++) {
      expect(L.q[o * H + i]).toBe(attn[i * 3 * H + o]);
      expect(L.k[o * H + i]).toBe(attn[i * 3 * H + H + o]);
      expect(L.v[o * H + i]).toBe(attn[i * 3 * H + 2 * H + o]);
    }
    expect([...L.qBias!, ...L.kBias!, ...L.vBias!]).toEqual([...cb]);
    const fc = t['transformer.h.1.mlp.c_fc.weight']!.data; // (H, I)
    const proj = t['transformer.h.1.mlp.c_proj.weight']!.data; // (I, H)
    for (let o = 0; o < I; o++) for (let i = 0; i < H; i++) expect(L.up[o * H + i]).toBe(fc[i * I + o]);
    for (let o = 0; o < H; o++) for (let i = 0; i < I; i++) expect(L.down[o * I + i]).toBe(proj[i * H + o]);
    expect(L.gate).toBeNull();
    expect(L.upBias).toEqual(t['transformer.h.1.mlp.c_fc.bias']!.data);
    expect(L.inputNormBias).toEqual(t['transformer.h.1.ln_1.bias']!.data);
    expect(w.posEmbed).toEqual(t['transformer.wpe.weight']!.data);
    expect(w.finalNormBias).toEqual(t['transformer.ln_f.bias']!.data);
    expect(w.lmHead).toBe(w.embed); // tied
    // every loaded value counted once: countParameters agrees with the file (minus the ignored mask buffer)
    const cfg = parseConfig(f.configJson);
    const fileParams = Object.entries(t).filter(([n]) => !/\.attn\.bias$/.test(n)).reduce((a, [, x]) => a + x.data.length, 0);
    expect(countParameters(cfg)).toBe(fileParams);
  });

  it('names a missing tensor, a wrong shape (an untransposed c_attn) and a missing untied lm_head', async () => {
    const f = makeGpt2Fixture({ seed: 2, hiddenSize: 12, nHeads: 3, nInner: 20, vocabSize: 11, maxSeq: 9 });
    const t = await tensorsOf(f);
    const { ['transformer.h.0.mlp.c_fc.bias']: _, ...noBias } = t;
    const e1 = await load(f.configJson, noBias).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(MissingTensorError);
    expect((e1 as MissingTensorError).tensor).toBe('transformer.h.0.mlp.c_fc.bias');
    const bad = { ...t, 'transformer.h.1.attn.c_attn.weight': { dtype: 'F32' as const, shape: [36, 12], data: t['transformer.h.1.attn.c_attn.weight']!.data } };
    const e2 = await load(f.configJson, bad).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ShapeMismatchError);
    expect((e2 as ShapeMismatchError).tensor).toBe('transformer.h.1.attn.c_attn.weight');
    expect((e2 as Error).message).toContain('[12, 36]');
    const e3 = await load({ ...f.configJson, tie_word_embeddings: false }, t).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(MissingTensorError);
    expect((e3 as MissingTensorError).tensor).toBe('lm_head.weight');
    const e4 = await load({ ...f.configJson, n_positions: 10 }, t).catch((e: unknown) => e);
    expect(e4).toBeInstanceOf(ShapeMismatchError);
    expect((e4 as ShapeMismatchError).tensor).toBe('transformer.wpe.weight');
  });
});
