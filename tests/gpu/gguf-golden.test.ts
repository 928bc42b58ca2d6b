// Golden end-to-end for GGUF: a tiny model written by the test-side writer (ggml's reference quantizers, q/k rows
// permuted like llama.cpp's converter) with F32/F16/BF16/Q8_0/Q4_0 tensors and its own vocabulary, loaded by
// loadGguf and placed the way LabEngine.load places it (masterCopy with the prepacked codes, then precision 'file'),
// decodes greedily on WebGPU to exactly the ids of the float64 CPU reference run on the writer's dequantized
// weights. The quantized linears are read back from the GPU: q4/q8 words and scales carry the file's codes,
// before and after a switch to f32 and back. A Q4_K_M-like case (Q4_K body, Q6_K head and attn_v/ffn_down,
// Q5_0 and Q4_1 linears) runs those as f32 masters: ggml's dequantization, computed by the test's own dequantizer.
// A gpt2 GGUF (fused attn_qkv split into q/k/v, learned positions, layernorm biases) decodes the same way.
import { describe, expect, it } from 'vitest';
import { generateLoop } from '../../src/engine/generate';
import { applyTechniques, masterCopy } from '../../src/engine/techniques';
import { DEFAULT_SAMPLING, DEFAULT_TECHNIQUES, type TechniqueSettings } from '../../src/engine/types';
import { loadGguf } from '../../src/model/gguf-model';
import type { LinearWeight } from '../../src/model/linear';
import { bytesSource, f16ToF32 } from '../../src/model/safetensors';
import { GpuModel } from '../../src/model/transformer';
import { refGreedy } from '../../src/ref/forward';
import { loadFixture } from '../fixtures/llama';
import { loadGpt2Fixture } from '../fixtures/gpt2';
import { gpt2Gguf } from '../fixtures/gguf-gpt2-writer';
import { type MetaValue, modelGguf, quantizeQ4_0, quantizeQ8_0, type TensorType } from '../fixtures/gguf-writer';
import { getGpu } from './harness';

const FILE: TechniqueSettings = { ...DEFAULT_TECHNIQUES, quant: { precision: 'file', groupSize: 32, lmHead: null } };

/** GPT-2's byte → printable character table, then a few merges and an end-of-text control token. */
function gpt2Vocab(): Record<string, MetaValue> {
  const bs: number[] = [];
  for (const [a, b] of [[33, 126], [161, 172], [174, 255]] as const) for (let x = a; x <= b; x++) bs.push(x);
  let n = 0;
  const u = [...Array(256)].map((_, b) => String.fromCodePoint(bs.includes(b) ? b : 256 + n++));
  const G = u[32]!;
  const tokens = [...u, 'he', 'll', 'hell', 'hello', `${G}w`, `${G}wo`, 'or', `${G}wor`, '<|endoftext|>'];
  return {
    'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
    'tokenizer.ggml.pre': { type: 'string', value: 'gpt2' },
    'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: tokens },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', items: tokens.map((t) => (t === '<|endoftext|>' ? 3 : 1)) },
    'tokenizer.ggml.merges': { type: 'array', itemType: 'string', items: ['h e', 'l l', 'he ll', 'hell o', `${G} w`, `${G}w o`, 'o r', `${G}w or`] },
  };
}

function spmVocab(): Record<string, MetaValue> {
  const pieces = ['<unk>', '<s>', '</s>', ...[...Array(256)].map((_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), '▁', 'o', 'r', 'w', 'l', 'd', 'h', 'e', '▁w', 'or', '▁wor', 'ld', '▁world', '▁h', 'el', '▁hel'];
  return {
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: pieces },
    'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', items: pieces.map((p, i) => (i < 259 ? 0 : p.length - i / 1000)) },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', items: pieces.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)) },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
  };
}

const SHAPE = { hiddenSize: 64, intermediateSize: 96, nHeads: 4, nKvHeads: 2, nLayers: 2, vocabSize: 290 };
const FMT: Record<TensorType, string> = { F32: 'f32', F16: 'f32', BF16: 'f32', Q8_0: 'q8', Q4_0: 'q4', Q4_1: 'f32', Q5_0: 'f32', Q5_1: 'f32', Q4_K: 'f32', Q5_K: 'f32', Q6_K: 'f32', Q8_K: 'f32' };

const CASES: { label: string; qwen2?: boolean; tie?: boolean; seed: number; shape?: Partial<typeof SHAPE>; types: Partial<Record<string, TensorType>>; vocab: () => Record<string, MetaValue> }[] = [
  {
    label: 'llama, mixed F32/F16/BF16/Q8_0/Q4_0, untied Q4_0 head, gpt2 vocabulary',
    seed: 21,
    types: { token_embd: 'Q8_0', attn_q: 'Q4_0', attn_k: 'Q4_0', attn_v: 'F16', attn_output: 'Q8_0', ffn_gate: 'Q4_0', ffn_up: 'BF16', ffn_down: 'Q4_0', output: 'Q4_0' },
    vocab: gpt2Vocab,
  },
  {
    label: 'llama, every linear Q8_0, tied head on a Q4_0 token_embd, SentencePiece vocabulary',
    seed: 22,
    tie: true,
    types: { token_embd: 'Q4_0', attn_q: 'Q8_0', attn_k: 'Q8_0', attn_v: 'Q8_0', attn_output: 'Q8_0', ffn_gate: 'Q8_0', ffn_up: 'Q8_0', ffn_down: 'Q8_0' },
    vocab: spmVocab,
  },
  {
    label: 'qwen2 (q/k/v biases, no permutation), Q4_0 body, F16 head',
    seed: 23,
    qwen2: true,
    types: { attn_q: 'Q4_0', attn_k: 'Q4_0', attn_v: 'Q4_0', attn_output: 'Q4_0', ffn_gate: 'Q4_0', ffn_up: 'Q4_0', ffn_down: 'Q4_0', output: 'F16' },
    vocab: gpt2Vocab,
  },
  {
    label: 'llama, Q4_K_M-like: Q4_K body and token_embd, Q6_K head/attn_v/ffn_down, Q5_0 attn_output, Q4_1 ffn_up, Q8_0 attn_k',
    seed: 24,
    shape: { hiddenSize: 256, intermediateSize: 256 },
    types: { token_embd: 'Q4_K', attn_q: 'Q4_K', attn_k: 'Q8_0', attn_v: 'Q6_K', attn_output: 'Q5_0', ffn_gate: 'Q4_K', ffn_up: 'Q4_1', ffn_down: 'Q6_K', output: 'Q6_K' },
    vocab: gpt2Vocab,
  },
];

/** The GGUF tensor name (and writer `types` key) behind each LinearWeight of layer l. */
const GGUF_OF: Record<string, string> = { 'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down' };
const typeKeyOf = (name: string): string => (name === 'lm_head.weight' ? 'output' : name === 'lm_head (tied)' ? 'token_embd' : GGUF_OF[name.replace(/^model\.layers\.\d+\./, '').replace(/\.weight$/, '')]!);

describe('GGUF golden: greedy decode on WebGPU of a loaded GGUF equals the CPU reference on its dequantized weights', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await loadFixture({ seed: c.seed, ...SHAPE, ...c.shape, qwen2: c.qwen2, tie: c.tie });
      const arch = c.qwen2 ? 'qwen2' : 'llama';
      const { bytes, expected } = modelGguf(weights, { arch, nHeads: 4, nKvHeads: 2, maxSeq: 128, types: c.types, tokenizer: c.vocab() });
      const loaded = await loadGguf(bytesSource('tiny.gguf', bytes), 'tiny');
      expect(loaded.tokenizer).not.toBeNull();
      const prompt = [...loaded.tokenizer!.encode('hello world'), 7, 130];
      expect(loaded.tokenizer!.decode(prompt.slice(0, -2))).toBe('hello world');
      const want = refGreedy(cfg, expected, prompt, 28);
      expect(new Set(want).size, 'fixture output is not degenerate').toBeGreaterThan(5);

      const model = new GpuModel(gpu, loaded.config, loaded.weights, 64);
      try {
        const masters = masterCopy(loaded.weights, loaded.prepacked);
        applyTechniques(gpu, model, masters, loaded.config, FILE);
        const codes = new Map<string, Uint32Array>();
        for (const l of model.linears()) {
          const type = c.types[typeKeyOf(l.name)] ?? 'F32';
          expect(l.format, l.name).toBe(FMT[type]);
          if (type === 'Q8_0' || type === 'Q4_0') codes.set(l.name, await expectFileCodes(gpu, l, type, hfRows(weights, l.name)));
        }
        const got = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 28 } });
        expect(got.ids).toEqual(want);

        // f32 and back: the file's codes return (not a re-quantization of the masters)
        applyTechniques(gpu, model, masters, loaded.config, DEFAULT_TECHNIQUES);
        expect(model.linears().every((l) => l.format === 'f32')).toBe(true);
        const f32 = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 28 } });
        expect(f32.ids).toEqual(want); // the f32 masters ARE the dequantized values
        applyTechniques(gpu, model, masters, loaded.config, FILE);
        for (const l of model.linears()) if (codes.has(l.name)) expect(await gpu.pool.readU32(l.tensors['Wq']!), l.name).toEqual(codes.get(l.name));
      } finally {
        model.destroy();
      }
    });
  }
});

describe('GGUF golden: gpt2', () => {
  it('gpt2, Q8_0 attn_qkv (split into prepacked q/k/v) and tied Q8_0 token_embd, Q4_0 ffn_up, F16 attn_output', async () => {
    const gpu = await getGpu();
    const { cfg, weights } = await loadGpt2Fixture({ seed: 25, hiddenSize: 64, nHeads: 4, nInner: 96, vocabSize: 290, nLayers: 2, maxSeq: 64 });
    const types = { token_embd: 'Q8_0', attn_qkv: 'Q8_0', attn_output: 'F16', ffn_up: 'Q4_0' } as const;
    const { bytes, expected } = gpt2Gguf(cfg, weights, { types, tokenizer: gpt2Vocab() });
    const loaded = await loadGguf(bytesSource('gpt2.gguf', bytes), 'gpt2');
    const prompt = [...loaded.tokenizer!.encode('hello world'), 7, 130];
    const want = refGreedy(loaded.config, expected, prompt, 28);
    expect(new Set(want).size, 'fixture output is not degenerate').toBeGreaterThan(5);
    const model = new GpuModel(gpu, loaded.config, loaded.weights, 64);
    try {
      const masters = masterCopy(loaded.weights, loaded.prepacked);
      applyTechniques(gpu, model, masters, loaded.config, FILE);
      const fmt = (n: string) => (/(q|k|v)_proj|up_proj|lm_head/.test(n) ? 'q' + (n.includes('up_proj') ? 4 : 8) : 'f32');
      for (const l of model.linears()) expect(l.format, l.name).toBe(fmt(l.name));
      const got = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 28 } });
      expect(got.ids).toEqual(want);
    } finally {
      model.destroy();
    }
  });
});

/** The HF-layout f32 weights (rows, cols) of a linear: what the writer quantized (row by row) for that tensor. */
function hfRows(w: Awaited<ReturnType<typeof loadFixture>>['weights'], name: string): Float32Array {
  if (name === 'lm_head.weight') return w.lmHead;
  if (name === 'lm_head (tied)') return w.embed;
  const l = w.layers[Number(/layers\.(\d+)\./.exec(name)![1])]!;
  const key = { 'self_attn.q_proj': 'q', 'self_attn.k_proj': 'k', 'self_attn.v_proj': 'v', 'self_attn.o_proj': 'o', 'mlp.gate_proj': 'gate', 'mlp.up_proj': 'up', 'mlp.down_proj': 'down' }[
    name.replace(/^model\.layers\.\d+\./, '').replace(/\.weight$/, '')
  ] as 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
  return l[key]!;
}

/** Read Wq/scales back from the GPU and check every code and scale against ggml's own blocks for these rows. */
async function expectFileCodes(gpu: Awaited<ReturnType<typeof getGpu>>, l: LinearWeight, type: 'Q8_0' | 'Q4_0', W: Float32Array): Promise<Uint32Array> {
  const { rows, cols } = l;
  const blocks = type === 'Q8_0' ? quantizeQ8_0(W) : quantizeQ4_0(W);
  const bb = type === 'Q8_0' ? 34 : 18;
  const words = await gpu.pool.readU32(l.tensors['Wq']!);
  const scales = await gpu.pool.readF32(l.tensors['scales']!);
  const dv = new DataView(blocks.buffer);
  const perWord = type === 'Q8_0' ? 4 : 8;
  const wpr = cols / perWord;
  let mismatches = 0;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const blk = r * (cols / 32) + Math.floor(c / 32);
      const j = c % 32;
      const word = words[r * wpr + Math.floor(c / perWord)]!;
      const gpuCode = type === 'Q8_0' ? (word << (24 - 8 * (c % 4))) >> 24 : ((word >>> (4 * (c % 8))) & 15) - 8;
      const fileCode = type === 'Q8_0' ? dv.getInt8(blk * bb + 2 + j) : ((blocks[blk * bb + 2 + (j % 16)]! >> (j < 16 ? 0 : 4)) & 15) - 8;
      if (gpuCode !== fileCode) mismatches++;
      if (j === 0 && scales[blk] !== f16ToF32(dv.getUint16(blk * bb, true))) mismatches++;
    }
  expect(mismatches, `${l.name}: GPU codes/scales differing from the file's`).toBe(0);
  return words;
}
