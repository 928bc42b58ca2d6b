// Host side of src/techniques/quant-formats.ts: masters keyed exactly as GpuModel names its linears, the default
// mixed plan, and dequantizedHostWeights (what the CPU reference runs for a quantized model).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { loadWeights } from '../../src/model/weights';
import { defaultPlan, dequantizedHostWeights, embeddingSpec, mastersFromHost, specFor, TIED_HEAD } from '../../src/techniques/quant-formats';
import { roundTrip } from '../../src/techniques/quantize';
import { makeLlamaFixture } from '../fixtures/llama';

async function fixture(opts: Parameters<typeof makeLlamaFixture>[0]) {
  const f = makeLlamaFixture(opts);
  const cfg = parseConfig(f.configJson);
  const src = bytesSource('model.safetensors', f.safetensors);
  return { cfg, w: await loadWeights(cfg, await readSafetensors(src), src) };
}

describe('quant plan (host)', () => {
  it('mastersFromHost: every linear by its GpuModel name, biases by HF bias name, the tied head = embedding', async () => {
    const { w } = await fixture({ seed: 3, qwen2: true, tie: true });
    const m = mastersFromHost(w);
    expect(m.get('model.layers.1.mlp.down_proj.weight')).toBe(w.layers[1]!.down);
    expect(m.get('model.layers.0.self_attn.o_proj.weight')).toBe(w.layers[0]!.o);
    expect(m.get('model.layers.0.self_attn.k_proj.bias')).toBe(w.layers[0]!.kBias);
    expect(m.get(TIED_HEAD)).toBe(w.embed);
    expect(m.has('lm_head.weight')).toBe(false);
    expect(m.size).toBe(2 * 7 + 1 + 2 * 3);
    const untied = mastersFromHost((await fixture({ seed: 3 })).w);
    expect(untied.has('lm_head.weight')).toBe(true);
    expect(untied.size).toBe(2 * 7 + 1);
  });

  it('defaultPlan: int4 bodies keep a q8 head, int8/f32 are uniform; specFor picks the head spec', () => {
    expect(defaultPlan('int4')).toEqual({ default: { precision: 'int4', groupSize: 32 }, lmHead: { precision: 'int8', groupSize: 32 } });
    expect(defaultPlan('int4z', 64).lmHead).toEqual({ precision: 'int8', groupSize: 32 });
    expect(defaultPlan('int8', 128)).toEqual({ default: { precision: 'int8', groupSize: 128 } });
    const p = defaultPlan('int4');
    expect(specFor(TIED_HEAD, p).precision).toBe('int8');
    expect(specFor('lm_head.weight', p).precision).toBe('int8');
    expect(specFor('model.layers.0.mlp.up_proj.weight', p).precision).toBe('int4');
  });

  it('dequantizedHostWeights: each linear round-tripped with its spec along its own rows, the table q8 g32; the rest untouched', async () => {
    const { cfg, w } = await fixture({ seed: 5, qwen2: true });
    const d = dequantizedHostWeights(w, defaultPlan('int4'));
    const H = cfg.hiddenSize;
    const I = cfg.intermediateSize;
    const L0 = w.layers[0]!;
    expect(Array.from(d.layers[0]!.q)).toEqual(Array.from(roundTrip(L0.q, L0.q.length / H, H, 'q4', 32)));
    expect(Array.from(d.layers[0]!.down)).toEqual(Array.from(roundTrip(L0.down, H, I, 'q4', 32))); // cols = inter
    expect(Array.from(d.lmHead)).toEqual(Array.from(roundTrip(w.lmHead, cfg.vocabSize, H, 'q8', 32)));
    expect(Array.from(d.embed)).toEqual(Array.from(roundTrip(w.embed, cfg.vocabSize, H, 'q8', 32)));
    expect(d.lmHead).not.toBe(d.embed); // untied: its own array
    expect(d.finalNorm).toBe(w.finalNorm);
    expect(d.layers[0]!.qBias).toBe(L0.qBias);
    expect(d.layers[0]!.inputNorm).toBe(L0.inputNorm);
    expect(d.layers[1]!.q).not.toEqual(w.layers[1]!.q);
  });

  it('dequantizedHostWeights: a tied head stays tied (it is the table, f32 / f16 / q8); an int4 head is its own array', async () => {
    const { cfg, w } = await fixture({ seed: 6, tie: true });
    const H = cfg.hiddenSize;
    const f = dequantizedHostWeights(w, { default: { precision: 'int8', groupSize: 32 }, lmHead: { precision: 'f32', groupSize: 0 } });
    expect(f.lmHead).toBe(f.embed);
    expect(f.embed).toBe(w.embed);
    for (const plan of [defaultPlan('int8'), defaultPlan('int4'), defaultPlan('int8', 64)]) {
      const q = dequantizedHostWeights(w, plan);
      expect(q.lmHead).toBe(q.embed);
      expect(Array.from(q.embed)).toEqual(Array.from(roundTrip(w.embed, cfg.vocabSize, H, 'q8', plan.lmHead?.groupSize ?? plan.default.groupSize)));
    }
    const own = dequantizedHostWeights(w, { default: { precision: 'int4', groupSize: 32 }, lmHead: { precision: 'int4', groupSize: 32 } });
    expect(Array.from(own.embed)).toEqual(Array.from(roundTrip(w.embed, cfg.vocabSize, H, 'q8', 32)));
    expect(Array.from(own.lmHead)).toEqual(Array.from(roundTrip(w.embed, cfg.vocabSize, H, 'q4', 32)));
    expect(dequantizedHostWeights(w, defaultPlan('f16')).lmHead).not.toBe(w.embed); // f16: tests/unit/f16.test.ts
  });

  it('embeddingSpec: the table follows a tied head at f32 / f16 / int8, else the body (f16 → f16, integer → q8 g32)', () => {
    const f16 = { precision: 'f16', groupSize: 0 } as const;
    const q8 = { precision: 'int8', groupSize: 32 } as const;
    expect(embeddingSpec(defaultPlan('f32'), true)).toEqual({ precision: 'f32', groupSize: 32 });
    expect(embeddingSpec(defaultPlan('f32'), false).precision).toBe('f32');
    expect(embeddingSpec(defaultPlan('f16'), false)).toEqual(f16);
    expect(embeddingSpec(defaultPlan('f16'), true).precision).toBe('f16');
    expect(embeddingSpec(defaultPlan('int8', 64), true)).toEqual({ precision: 'int8', groupSize: 64 });
    expect(embeddingSpec(defaultPlan('int8', 64), false)).toEqual(q8);
    expect(embeddingSpec(defaultPlan('int4'), true)).toEqual(q8);
    expect(embeddingSpec(defaultPlan('int4z', 128), false)).toEqual(q8);
    expect(embeddingSpec({ default: q8, lmHead: { precision: 'f32', groupSize: 0 } }, true).precision).toBe('f32');
    expect(embeddingSpec({ default: { precision: 'int4', groupSize: 32 }, lmHead: { precision: 'int4', groupSize: 32 } }, true)).toEqual(q8);
    expect(embeddingSpec({ default: { precision: 'file', groupSize: 0 } }, true).precision).toBe('f32');
  });
});
