// RefModel / refGreedy: KV-cache consistency (prefill-then-decode == all at once, rollback), tied vs untied,
// GQA vs MHA with duplicated KV heads, determinism, the fixture's non-degeneracy, and the embedded lab-target
// model against the logits and greedy ids PyTorch exported (models/lab-target/reference.json). GPT-2: the reference
// equals an independent forward written straight from the HF tensors (Conv1D x·W + b on the fused c_attn, as
// transformers' GPT2Block does), learned positions matter, bare GPT2Model names and BF16 load the same model;
// Llama-3 rope scaling changes logits (the fixture's scaled frequencies are exercised).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfig, type ModelConfig } from '../../src/model/config';
import { bytesSource, readSafetensors } from '../../src/model/safetensors';
import { loadWeights, type HostWeights } from '../../src/model/weights';
import { RefModel, refGreedy } from '../../src/ref/forward';
import { argmax } from '../../src/ref/sample';
import { makeLlamaFixture, type LlamaFixtureOptions } from '../fixtures/llama';
import { loadGpt2Fixture, makeGpt2Fixture, type Gpt2FixtureOptions } from '../fixtures/gpt2';
import { readTensorF32 } from '../../src/model/safetensors';
import { gelu } from '../../src/ref/activation';
import { attention } from '../../src/ref/attention';
import { layernorm } from '../../src/ref/norm';

async function fixture(opts: LlamaFixtureOptions): Promise<{ cfg: ModelConfig; w: HostWeights }> {
  const f = makeLlamaFixture(opts);
  const cfg = parseConfig(f.configJson);
  const src = bytesSource('model.safetensors', f.safetensors);
  return { cfg, w: await loadWeights(cfg, await readSafetensors(src), src) };
}

/** max |a − b| / max |b| */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

const PROMPT = [1, 5, 9, 2, 17, 3, 30, 44, 96, 0, 61];

describe('RefModel', () => {
  for (const opts of [{ seed: 1 }, { seed: 2, qwen2: true }, { seed: 3, tie: true, nLayers: 3 }] as LlamaFixtureOptions[]) {
    it(`prefill-then-decode equals the whole sequence at once (${JSON.stringify(opts)})`, async () => {
      const { cfg, w } = await fixture(opts);
      const V = cfg.vocabSize;
      const all = new RefModel(cfg, w).forward(PROMPT, 0); // (11, V)
      const m = new RefModel(cfg, w, 32);
      const parts = [m.forward(PROMPT.slice(0, 4), 0), m.forward(PROMPT.slice(4, 7), 4)];
      for (let t = 7; t < PROMPT.length; t++) parts.push(m.forward([PROMPT[t]!], t));
      const pieced = new Float64Array(PROMPT.length * V);
      let o = 0;
      for (const p of parts) {
        pieced.set(p, o);
        o += p.length;
      }
      expect(m.length).toBe(PROMPT.length);
      expect(relErr(pieced, all)).toBeLessThan(1e-9);
      // logits are not trivially small or constant
      expect(Math.max(...all) - Math.min(...all)).toBeGreaterThan(5);
    });
  }

  it('rolling back (pos0 < length) recomputes as if the dropped positions never ran; reset() starts over', async () => {
    const { cfg, w } = await fixture({ seed: 4 });
    const V = cfg.vocabSize;
    const m = new RefModel(cfg, w, 32);
    m.forward(PROMPT, 0);
    const alt = [7, 8, 9];
    const rolled = m.forward(alt, 5); // positions 5..7 replaced
    expect(m.length).toBe(8);
    const fresh = new RefModel(cfg, w, 32).forward([...PROMPT.slice(0, 5), ...alt], 0).subarray(5 * V);
    expect(relErr(rolled, fresh)).toBeLessThan(1e-9);
    m.reset();
    expect(m.length).toBe(0);
    expect(relErr(m.forward(PROMPT.slice(0, 3), 0), new RefModel(cfg, w).forward(PROMPT.slice(0, 3), 0))).toBe(0);
  });

  it('tied lm_head (the embedding array) equals an untied copy', async () => {
    const { cfg, w } = await fixture({ seed: 5, tie: true });
    expect(w.lmHead).toBe(w.embed);
    const untiedCfg = { ...cfg, tieWordEmbeddings: false };
    const untied = { ...w, lmHead: Float32Array.from(w.embed) };
    expect(relErr(new RefModel(untiedCfg, untied).forward(PROMPT, 0), new RefModel(cfg, w).forward(PROMPT, 0))).toBe(0);
    // and the head matters: another head gives other logits
    const other = { ...w, lmHead: Float32Array.from(w.embed, (v, i) => v * (1 + (i % 3))) };
    expect(relErr(new RefModel(untiedCfg, other).forward(PROMPT, 0), new RefModel(cfg, w).forward(PROMPT, 0))).toBeGreaterThan(1e-2);
  });

  for (const qwen2 of [false, true]) {
    it(`GQA equals MHA with each KV head duplicated over its group${qwen2 ? ' (qwen2 biases)' : ''}`, async () => {
      const { cfg, w } = await fixture({ seed: 6, nHeads: 4, nKvHeads: 2, qwen2 });
      const { headDim: hd, hiddenSize: H } = cfg;
      const group = cfg.nHeads / cfg.nKvHeads;
      const dup = (a: Float32Array, cols: number) => {
        const out = new Float32Array(cfg.nHeads * hd * cols);
        for (let h = 0; h < cfg.nHeads; h++) out.set(a.subarray(Math.floor(h / group) * hd * cols, (Math.floor(h / group) + 1) * hd * cols), h * hd * cols);
        return out;
      };
      const mhaCfg = { ...cfg, nKvHeads: cfg.nHeads };
      const mhaW: HostWeights = {
        ...w,
        layers: w.layers.map((l) => ({
          ...l, k: dup(l.k, H), v: dup(l.v, H), kBias: l.kBias && dup(l.kBias, 1), vBias: l.vBias && dup(l.vBias, 1),
        })),
      };
      expect(relErr(new RefModel(mhaCfg, mhaW).forward(PROMPT, 0), new RefModel(cfg, w).forward(PROMPT, 0))).toBeLessThan(1e-12);
    });
  }

  it('exitLayer runs only the first blocks (then the final norm and head)', async () => {
    const { cfg, w } = await fixture({ seed: 7, nLayers: 3 });
    const full = new RefModel(cfg, w).forward(PROMPT, 0);
    expect(relErr(new RefModel(cfg, w).forward(PROMPT, 0, { exitLayer: 3 }), full)).toBe(0);
    const cut = { ...cfg, nLayers: 1 };
    const e1 = new RefModel(cfg, w).forward(PROMPT, 0, { exitLayer: 1 });
    expect(relErr(e1, new RefModel(cut, { ...w, layers: w.layers.slice(0, 1) }).forward(PROMPT, 0))).toBe(0);
    expect(relErr(e1, full)).toBeGreaterThan(1e-2);
  });

  it('rejects bad positions and ids', async () => {
    const { cfg, w } = await fixture({ seed: 8 });
    const m = new RefModel(cfg, w, 16);
    expect(() => m.forward([1], 1)).toThrow(/pos0 1/); // cache holds 0 positions
    expect(() => m.forward(new Array(17).fill(1), 0)).toThrow(/maxSeq 16/);
    expect(() => m.forward([97], 0)).toThrow(/token id 97/);
    expect(() => m.forward([], 0)).toThrow(/no ids/);
    expect(() => m.forward([1], 0, { exitLayer: 3 })).toThrow(/exitLayer/);
  });
});

describe('refGreedy', () => {
  it('is deterministic and equals recomputing the whole sequence each step (no cache)', async () => {
    const { cfg, w } = await fixture({ seed: 9, qwen2: true });
    const got = refGreedy(cfg, w, PROMPT.slice(0, 5), 12);
    expect(refGreedy(cfg, w, PROMPT.slice(0, 5), 12)).toEqual(got);
    const seq = PROMPT.slice(0, 5);
    for (let i = 0; i < 12; i++) {
      const logits = new RefModel(cfg, w).forward(seq, 0);
      seq.push(argmax(logits.subarray((seq.length - 1) * cfg.vocabSize)));
    }
    expect(got).toEqual(seq.slice(5));
  });

  it('the fixture is not degenerate: many distinct ids and top-2 margins well above f32 noise', async () => {
    const variants: LlamaFixtureOptions[] = [
      { seed: 11 }, { seed: 12, tie: true }, { seed: 13, nLayers: 3, nKvHeads: 4 }, { seed: 14, qwen2: true },
      { seed: 15, tie: true, qwen2: true }, { seed: 16, dtype: 'BF16' }, { seed: 17, nKvHeads: 1 }, { seed: 21 },
    ];
    for (const opts of variants) {
      const { cfg, w } = await fixture(opts);
      const prompt = [1, 5, 9, 2, 17, 3, 30];
      const ids = refGreedy(cfg, w, prompt, 40);
      expect(new Set(ids).size, JSON.stringify(opts)).toBeGreaterThanOrEqual(15);
      // margins along the greedy path
      const m = new RefModel(cfg, w, 64);
      let last = m.forward(prompt, 0).subarray((prompt.length - 1) * cfg.vocabSize);
      const margins: number[] = [];
      for (let i = 0; i < 40; i++) {
        const s = Array.from(last).sort((a, b) => b - a);
        margins.push(s[0]! - s[1]!);
        expect(argmax(last)).toBe(ids[i]);
        last = m.forward([ids[i]!], prompt.length + i);
      }
      margins.sort((a, b) => a - b);
      expect(margins[0], JSON.stringify(opts)).toBeGreaterThan(1e-3);
      expect(margins[4], JSON.stringify(opts)).toBeGreaterThan(0.05); // 90% of steps
    }
  });
});

describe('embedded lab-target vs PyTorch (models/lab-target/reference.json)', () => {
  const dir = new URL('../../models/lab-target/', import.meta.url);
  const ref = JSON.parse(readFileSync(new URL('reference.json', dir), 'utf8')) as {
    prompt_ids: number[]; logits_positions: number; logits: number[][]; greedy_ids: number[];
  };
  const load = async () => {
    const cfg = parseConfig(JSON.parse(readFileSync(new URL('config.json', dir), 'utf8')));
    const src = bytesSource('model.safetensors', new Uint8Array(readFileSync(new URL('model.safetensors', dir))));
    return { cfg, w: await loadWeights(cfg, await readSafetensors(src), src) };
  };

  it('logits of the first prompt positions match PyTorch (f32) within 1e-5 relative (seen: 6e-7)', async () => {
    const { cfg, w } = await load();
    const logits = new RefModel(cfg, w).forward(ref.prompt_ids, 0);
    const n = ref.logits_positions;
    expect(relErr(logits.subarray(0, n * cfg.vocabSize), ref.logits.flat())).toBeLessThan(1e-5);
  });

  it('greedy continuation equals PyTorch token for token', async () => {
    const { cfg, w } = await load();
    expect(refGreedy(cfg, w, ref.prompt_ids, ref.greedy_ids.length)).toEqual(ref.greedy_ids);
  });
});

/**
 * GPT-2 logits (n, vocab) of `ids` from position 0, computed straight from the HF checkpoint's tensors (no
 * src/model/weights-gpt2.ts): Conv1D y = x·W + b with W stored (in, out); the fused c_attn output split q | k | v.
 */
async function hfGpt2Logits(f: ReturnType<typeof makeGpt2Fixture>, ids: number[]): Promise<Float64Array> {
  const c = f.configJson as { n_embd: number; n_head: number; n_layer: number; n_inner: number | null; vocab_size: number; layer_norm_epsilon: number };
  const src = bytesSource('model.safetensors', f.safetensors);
  const st = await readSafetensors(src);
  const T = async (name: string) => readTensorF32(src, st.tensors.get(name)!);
  const H = c.n_embd;
  const n = ids.length;
  const conv = (x: Float64Array, W: Float32Array, b: Float32Array, inF: number, outF: number) => {
    const y = new Float64Array(n * outF);
    for (let t = 0; t < n; t++) for (let o = 0; o < outF; o++) {
      let acc = b[o]!;
      for (let i = 0; i < inF; i++) acc += x[t * inF + i]! * W[i * outF + o]!;
      y[t * outF + o] = acc;
    }
    return y;
  };
  const ln = async (x: Float64Array, name: string) => layernorm(x, await T(`${name}.weight`), await T(`${name}.bias`), n, H, c.layer_norm_epsilon);
  const wte = await T('transformer.wte.weight');
  const wpe = await T('transformer.wpe.weight');
  let x = new Float64Array(n * H);
  ids.forEach((id, t) => { for (let j = 0; j < H; j++) x[t * H + j] = wte[id * H + j]! + wpe[t * H + j]!; });
  const I = c.n_inner ?? 4 * H;
  for (let l = 0; l < c.n_layer; l++) {
    const p = `transformer.h.${l}.`;
    const qkv = conv(await ln(x, `${p}ln_1`), await T(`${p}attn.c_attn.weight`), await T(`${p}attn.c_attn.bias`), H, 3 * H);
    const part = (j: number) => Float64Array.from({ length: n * H }, (_, i) => qkv[Math.floor(i / H) * 3 * H + j * H + (i % H)]!);
    const att = attention(part(0), part(1), part(2), n, 0, c.n_head, c.n_head, H / c.n_head);
    const a = conv(att, await T(`${p}attn.c_proj.weight`), await T(`${p}attn.c_proj.bias`), H, H);
    x = x.map((v, i) => v + a[i]!);
    const h = gelu(conv(await ln(x, `${p}ln_2`), await T(`${p}mlp.c_fc.weight`), await T(`${p}mlp.c_fc.bias`), H, I));
    const m = conv(h, await T(`${p}mlp.c_proj.weight`), await T(`${p}mlp.c_proj.bias`), I, H);
    x = x.map((v, i) => v + m[i]!);
  }
  const xf = await ln(x, 'transformer.ln_f');
  const out = new Float64Array(n * c.vocab_size);
  for (let t = 0; t < n; t++) for (let v = 0; v < c.vocab_size; v++) {
    let acc = 0;
    for (let j = 0; j < H; j++) acc += xf[t * H + j]! * wte[v * H + j]!;
    out[t * c.vocab_size + v] = acc;
  }
  return out;
}

describe('GPT-2 reference forward', () => {
  it('equals a forward written straight from the HF tensors (Conv1D layout, fused c_attn), prefill and decode', async () => {
    for (const opts of [{ seed: 3 }, { seed: 5, nInner: null, nLayers: 3, hiddenSize: 36 }] as Gpt2FixtureOptions[]) {
      const f = makeGpt2Fixture(opts);
      const { cfg, weights } = await loadGpt2Fixture(opts);
      const want = await hfGpt2Logits(f, PROMPT);
      expect(relErr(new RefModel(cfg, weights).forward(PROMPT, 0), want)).toBeLessThan(1e-12);
      const m = new RefModel(cfg, weights, 32); // one token at a time through the KV cache
      const V = cfg.vocabSize;
      PROMPT.forEach((id, t) => expect(relErr(m.forward([id], t), want.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-12));
    }
  });

  it('learned positions matter: the same token at another position gives other logits; zeroed wpe changes them', async () => {
    const { cfg, weights } = await loadGpt2Fixture({ seed: 3 });
    const V = cfg.vocabSize;
    const same = new RefModel(cfg, weights).forward([7, 7, 7], 0); // causal attention over equal tokens: only positions differ
    expect(relErr(same.subarray(0, V), same.subarray(2 * V, 3 * V))).toBeGreaterThan(1e-2);
    const noPos = { ...weights, posEmbed: new Float32Array(weights.posEmbed!.length) };
    const flat = new RefModel(cfg, noPos).forward([7, 7, 7], 0);
    expect(relErr(flat.subarray(0, V), flat.subarray(2 * V, 3 * V))).toBeLessThan(1e-12); // no positional signal at all
  });

  it('bare GPT2Model names, an untied head and BF16 storage load consistently', async () => {
    const a = await loadGpt2Fixture({ seed: 8 });
    const b = await loadGpt2Fixture({ seed: 8, prefix: '' });
    expect(new RefModel(b.cfg, b.weights).forward(PROMPT, 0)).toEqual(new RefModel(a.cfg, a.weights).forward(PROMPT, 0));
    const u = await loadGpt2Fixture({ seed: 8, tie: false });
    expect(u.cfg.tieWordEmbeddings).toBe(false);
    expect(u.weights.lmHead).not.toBe(u.weights.embed);
    const bf = await loadGpt2Fixture({ seed: 8, dtype: 'BF16' });
    expect(relErr(new RefModel(bf.cfg, bf.weights).forward(PROMPT, 0), new RefModel(a.cfg, a.weights).forward(PROMPT, 0))).toBeLessThan(0.05);
  });

  it('the GPT-2 fixture is not degenerate: many distinct ids and top-2 margins well above f32 noise', async () => {
    for (const opts of [{ seed: 3 }, { seed: 8, tie: false, nLayers: 3, nInner: null, hiddenSize: 36, prefix: '' }, { seed: 9 }] as Gpt2FixtureOptions[]) {
      const { cfg, weights } = await loadGpt2Fixture(opts);
      const prompt = [1, 5, 9, 2, 17, 3, 30];
      const ids = refGreedy(cfg, weights, prompt, 40);
      expect(new Set(ids).size, JSON.stringify(opts)).toBeGreaterThanOrEqual(15);
      const m = new RefModel(cfg, weights, 64);
      let last = m.forward(prompt, 0).subarray((prompt.length - 1) * cfg.vocabSize);
      const margins: number[] = [];
      for (let i = 0; i < 40; i++) {
        const s = Array.from(last).sort((a, b) => b - a);
        margins.push(s[0]! - s[1]!);
        last = m.forward([ids[i]!], prompt.length + i);
      }
      margins.sort((a, b) => a - b);
      expect(margins[0], JSON.stringify(opts)).toBeGreaterThan(1e-3);
    }
  });

  it('refuses positions past the learned table', async () => {
    const { cfg, weights } = await loadGpt2Fixture({ seed: 3, maxSeq: 16 });
    expect(() => new RefModel(cfg, weights, 17)).toThrow(/learned positions/);
    expect(() => new RefModel(cfg, weights, 16).forward(Array.from({ length: 17 }, () => 1), 0)).toThrow(/maxSeq/);
  });
});

describe('Llama-3 rope scaling', () => {
  it('changes logits (scaled frequencies are used) and stays cache-consistent', async () => {
    const { cfg, w } = await fixture({ seed: 102, llama3Rope: true });
    expect(cfg.ropeScaling).not.toBeNull();
    const scaled = new RefModel(cfg, w).forward(PROMPT, 0);
    const plain = new RefModel({ ...cfg, ropeScaling: null }, w).forward(PROMPT, 0);
    expect(relErr(plain, scaled)).toBeGreaterThan(1e-3);
    const V = cfg.vocabSize;
    const m = new RefModel(cfg, w, 32);
    PROMPT.forEach((id, t) => expect(relErr(m.forward([id], t), scaled.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-12));
  });
});
