// Fuzz targets for the GGUF and llama2.c loaders (src/model/gguf-model.ts loadGguf, src/model/llama2c.ts
// loadLlama2c + tokenizer.bin). Seeds are valid files from the test-side writers (tests/fixtures/gguf-writer.ts,
// tests/fixtures/llama2c-writer.ts) of one small random Llama (hidden 64, 2 layers, GQA 4/2, vocab 320):
//   GGUF: llama arch, tensors F32 / F16 / BF16 / Q8_0 / Q4_0 by kind, with or without a SentencePiece vocabulary.
//   llama2.c: checkpoint versions 0, 1 and 2 (Q8_0, group 64), with or without tokenizer.bin.
// Mutations: the byte-level ones of ./mutate.ts anywhere, the same confined to the header/metadata region (where
// the interesting fields live), integers overwritten with extreme values (0, 1, 2^31−1, 2^32−1, −1, 2^63, 2^64−1 as
// u32/i32/u64 at a random header offset: huge lengths and counts, negative sizes), and (GGUF) tensor-info tables
// rewritten in place: wrong header counts, tensor offsets that overlap, point past the end or wrap around (a "negative" u64),
// unknown or mismatched tensor types, swapped, zero or huge dimensions, and a wrong number of dimensions.
import { loadGguf } from '../../src/model/gguf-model';
import { loadLlama2c } from '../../src/model/llama2c';
import { parseConfig } from '../../src/model/config';
import { type ByteSource, bytesSource, readSafetensors } from '../../src/model/safetensors';
import { loadWeights } from '../../src/model/weights';
import { readGguf } from '../../src/model/gguf';
import { modelGguf, type MetaValue, type TensorType } from '../../tests/fixtures/gguf-writer';
import { makeLlamaFixture } from '../../tests/fixtures/llama';
import { llama2cFromHf, makeLlama2cVocab, writeLlama2c, writeTokenizerBin } from '../../tests/fixtures/llama2c-writer';
import { mutateBytes, type Rand } from './mutate';
import { randint } from '../../src/ref/random';

const pick = <T>(u: Rand, xs: readonly T[]): T => xs[Math.floor(u() * xs.length)]!;

const EXTREME = [0n, 1n, 2n ** 31n - 1n, 2n ** 32n - 1n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 40n, 255n];

/** Overwrite a u32 or u64 at a random offset below `end` with an extreme value. */
export function pokeInt(u: Rand, src: Uint8Array, end: number): { bytes: Uint8Array; how: string } {
  const b = new Uint8Array(src);
  const wide = u() < 0.5;
  const at = randint(u, 0, Math.max(0, Math.min(end, b.length) - (wide ? 8 : 4)));
  const v = pick(u, EXTREME);
  const dv = new DataView(b.buffer);
  if (at + (wide ? 8 : 4) > b.length) return { bytes: b, how: 'poke (file too short): unchanged' };
  if (wide) dv.setBigUint64(at, v, true);
  else dv.setUint32(at, Number(v & 0xffffffffn), true);
  return { bytes: b, how: `${wide ? 'u64' : 'u32'} at ${at} = ${v}` };
}

/** mutateBytes, anywhere or confined to [0, headerEnd). */
function mutateFile(u: Rand, src: Uint8Array, headerEnd: number): { bytes: Uint8Array; how: string } {
  const r = u();
  if (r < 0.35) return pokeInt(u, src, headerEnd);
  if (r < 0.7 && headerEnd < src.length) {
    const m = mutateBytes(u, src.slice(0, headerEnd));
    return { bytes: new Uint8Array([...m.bytes, ...src.subarray(headerEnd)]), how: `header: ${m.how}` };
  }
  return mutateBytes(u, src);
}

interface Tiny {
  w: Awaited<ReturnType<typeof loadWeights>>;
  cfg: ReturnType<typeof parseConfig>;
}

async function tinyModel(): Promise<Tiny> {
  const fx = makeLlamaFixture({ seed: 9, hiddenSize: 64, intermediateSize: 96, nHeads: 4, nKvHeads: 2, nLayers: 2, vocabSize: 320, maxSeq: 64 });
  const cfg = parseConfig(fx.configJson);
  const src = bytesSource('model.safetensors', fx.safetensors);
  return { cfg, w: await loadWeights(cfg, await readSafetensors(src), src) };
}

// ---- GGUF -------------------------------------------------------------------------------------------------

function spmVocab(size: number): Record<string, MetaValue> {
  const { pieces, scores } = makeLlama2cVocab(size);
  const tokens = pieces.map((p, i) => (i < 3 ? ['<unk>', '<s>', '</s>'][i]! : p.replace(/ /g, '\u2581')));
  const types = tokens.map((t, i) => (i === 0 ? 2 : i < 3 ? 3 : /^<0x[0-9A-F]{2}>$/.test(t) ? 6 : 1));
  return {
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: tokens },
    'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', items: scores },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', items: types },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
  };
}

const TYPE_MIXES: Partial<Record<string, TensorType>>[] = [
  {},
  { attn_q: 'Q8_0', attn_k: 'Q8_0', attn_v: 'Q4_0', attn_output: 'Q4_0', ffn_gate: 'Q8_0', ffn_up: 'Q4_0', ffn_down: 'F16', token_embd: 'Q8_0', output: 'BF16' },
  { attn_q: 'F16', attn_k: 'BF16', ffn_gate: 'Q4_0', ffn_up: 'Q4_0', ffn_down: 'Q4_0', token_embd: 'F16', output: 'Q8_0' },
];

/** The seed's tensors, re-derived so a file can be rebuilt with corrupted infos. */
function ggufParts(t: Tiny, types: Partial<Record<string, TensorType>>, withVocab: boolean) {
  const { bytes } = modelGguf(t.w, { arch: 'llama', nHeads: t.cfg.nHeads, nKvHeads: t.cfg.nKvHeads, maxSeq: t.cfg.maxSeq, types, tokenizer: withVocab ? spmVocab(t.cfg.vocabSize) : undefined });
  return bytes;
}

export interface FormatTarget {
  name: string;
  run(u: Rand): Promise<{ how: string; outcome: () => Promise<'rejected' | 'loaded'> }>;
}

type Counted = (s: ByteSource) => ByteSource & { readBytes: number };

export async function formatTargets(counted: Counted, readBudget: (n: number) => number): Promise<FormatTarget[]> {
  const t = await tinyModel();
  // GGUF seeds: 3 type mixes × with/without vocabulary; their header ends where the data section starts
  const ggufSeeds: { bytes: Uint8Array; dataStart: number; types: Partial<Record<string, TensorType>>; vocab: boolean }[] = [];
  for (const types of TYPE_MIXES)
    for (const vocab of [false, true]) {
      const bytes = ggufParts(t, types, vocab);
      ggufSeeds.push({ bytes, dataStart: (await readGguf(bytesSource('seed.gguf', bytes))).dataStart, types, vocab });
    }
  // llama2.c seeds: versions 0/1/2; tokenizer.bin for the same vocabulary
  const l2 = llama2cFromHf(t.cfg, t.w);
  const l2Seeds = ([0, 1, 2] as const).map((v) => ({ v, bytes: writeLlama2c(l2, v, 64) }));
  const vocab = makeLlama2cVocab(t.cfg.vocabSize);
  const tokBin = writeTokenizerBin(vocab.pieces, vocab.scores);

  const loadGgufChecked = async (bytes: Uint8Array) => {
    const src = counted(bytesSource('model.gguf', bytes));
    const m = await loadGguf(src, 'fuzz');
    if (src.readBytes > readBudget(bytes.length)) throw new Error(`read ${src.readBytes} bytes of a ${bytes.length}-byte file`);
    if (m.tokenizer) m.tokenizer.decode(m.tokenizer.encode('Once upon a time, Lily'));
    return 'loaded' as const;
  };

  // every seed must load (a harness whose seeds are broken would only ever test the first check)
  for (const sd of ggufSeeds) await loadGgufChecked(sd.bytes);
  for (const sd of l2Seeds) await loadLlama2c(bytesSource('model.bin', sd.bytes), tokBin, 'seed');

  return [
    {
      name: 'gguf',
      async run(u) {
        const seed = pick(u, ggufSeeds);
        const m = u() < 0.3 ? corruptInfos(u, seed.bytes, seed.dataStart) : mutateFile(u, seed.bytes, seed.dataStart);
        return { how: `${seed.vocab ? 'vocab, ' : ''}${m.how}`, outcome: () => loadGgufChecked(m.bytes) };
      },
    },
    {
      name: 'llama2.c',
      async run(u) {
        const seed = pick(u, l2Seeds);
        const withTok = u() < 0.5;
        let bin: Uint8Array = seed.bytes;
        let tok: Uint8Array | null = withTok ? tokBin : null;
        let how: string;
        if (withTok && u() < 0.4) {
          const m = u() < 0.5 ? pokeInt(u, tokBin, 64) : mutateBytes(u, tokBin);
          tok = m.bytes;
          how = `v${seed.v}, tokenizer.bin: ${m.how}`;
        } else {
          const m = mutateFile(u, seed.bytes, 256);
          bin = m.bytes;
          how = `v${seed.v}${withTok ? ' + tokenizer.bin' : ''}: ${m.how}`;
        }
        return {
          how,
          outcome: async () => {
            const src = counted(bytesSource('model.bin', bin));
            const model = await loadLlama2c(src, tok, 'fuzz');
            if (src.readBytes > readBudget(bin.length)) throw new Error(`read ${src.readBytes} bytes of a ${bin.length}-byte file`);
            if (model.tokenizer) model.tokenizer.decode(model.tokenizer.encode('Once upon a time, Lily'));
            return 'loaded';
          },
        };
      },
    },
  ];
}

// ---- GGUF with corrupted tensor infos --------------------------------------------------------------------------

/** Find the seed's tensor-info table (after the metadata) and rewrite one field of one tensor, or a header count. */
function corruptInfos(u: Rand, src: Uint8Array, dataStart: number): { bytes: Uint8Array; how: string } {
  const b = new Uint8Array(src);
  const dv = new DataView(b.buffer);
  const what = randint(u, 0, 5);
  if (what === 0) {
    // header counts: tensor count (offset 8) or kv count (offset 16)
    const at = pick(u, [8, 16]);
    const v = pick(u, [0n, 1n, 1000n, 2n ** 32n, 2n ** 62n, 2n ** 64n - 1n]);
    dv.setBigUint64(at, v, true);
    return { bytes: b, how: `${at === 8 ? 'tensor' : 'kv'} count = ${v}` };
  }
  // find tensor infos: scan for "blk." / "token_embd" / "output" name strings preceded by their u64 length
  const infos: { at: number; nameEnd: number }[] = [];
  const dec = new TextDecoder();
  for (let i = 24; i + 8 < dataStart; i++) {
    const len = Number(dv.getBigUint64(i, true));
    if (len < 6 || len > 64 || i + 8 + len > dataStart) continue;
    const s = dec.decode(b.subarray(i + 8, i + 8 + len));
    if (/^(blk\.\d+\.[a-z_]+|token_embd|output|output_norm)\.(weight|bias)$/.test(s)) {
      const nd = dv.getUint32(i + 8 + len, true);
      if (nd >= 1 && nd <= 4) infos.push({ at: i, nameEnd: i + 8 + len });
    }
  }
  if (!infos.length) return mutateBytes(u, b);
  const info = pick(u, infos);
  const nd = dv.getUint32(info.nameEnd, true);
  const dimsAt = info.nameEnd + 4;
  const typeAt = dimsAt + 8 * nd;
  const offAt = typeAt + 4;
  if (what === 1) {
    const v = pick(u, [0, 1, 30, 99, 2 ** 31, 2 ** 32 - 1, 8, 2]); // unknown codes, or another real type
    dv.setUint32(typeAt, v >>> 0, true);
    return { bytes: b, how: `tensor at ${info.at}: type = ${v}` };
  }
  if (what === 2) {
    const d = randint(u, 0, nd - 1);
    const v = pick(u, [0n, 1n, 3n, 31n, 2n ** 31n, 2n ** 53n, 2n ** 64n - 1n]);
    dv.setBigUint64(dimsAt + 8 * d, v, true);
    return { bytes: b, how: `tensor at ${info.at}: dim ${d} = ${v}` };
  }
  if (what === 3 && nd === 2) {
    const a = dv.getBigUint64(dimsAt, true);
    dv.setBigUint64(dimsAt, dv.getBigUint64(dimsAt + 8, true), true);
    dv.setBigUint64(dimsAt + 8, a, true);
    return { bytes: b, how: `tensor at ${info.at}: dims swapped` };
  }
  if (what === 4) {
    dv.setUint32(info.nameEnd, pick(u, [0, 5, 64, 2 ** 32 - 1]) >>> 0, true);
    return { bytes: b, how: `tensor at ${info.at}: n_dims = ${dv.getUint32(info.nameEnd, true)}` };
  }
  // offsets: overlap another tensor's, past the end, unaligned, or "negative" (wraps as u64)
  const other = pick(u, infos);
  const otherNd = dv.getUint32(other.nameEnd, true);
  const otherOff = dv.getBigUint64(other.nameEnd + 4 + 8 * otherNd + 4, true);
  const v = pick(u, [otherOff, otherOff + 1n, BigInt(src.length), BigInt(src.length - dataStart), 2n ** 64n - 32n, 2n ** 63n, 7n]);
  dv.setBigUint64(offAt, v, true);
  return { bytes: b, how: `tensor at ${info.at}: offset = ${v}` };
}
