// A GGUF file's own vocabulary → a TextTokenizer. Keys (llama.cpp's names):
//   tokenizer.ggml.model        "gpt2" (byte-level BPE) | "llama" (SentencePiece) | "none" (no tokenizer)
//   tokenizer.ggml.tokens       string[]: piece text by id
//   tokenizer.ggml.token_type   i32[] (optional): 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
//   tokenizer.ggml.merges       string[] "left right" (gpt2 only), in priority order
//   tokenizer.ggml.scores       f32[] (llama only): merge priority per piece
//   tokenizer.ggml.pre          gpt2 pre-tokenizer name: "default"/"gpt2"/"gpt-2" (GPT-2's regex), "llama-bpe"/"llama3"
//                               (Llama 3; whole words found in the vocabulary skip merging, as Llama 3's
//                               ignore_merges), "qwen2", "smollm" (digits split singly, then GPT-2's regex)
//   tokenizer.ggml.bos_token_id / eos_token_id (u32), tokenizer.ggml.add_space_prefix (bool, llama; default true)
// gpt2 → a tokenizer.json object built in memory (BPE model with the vocab and merges, the named pre-tokenizer,
// ByteLevel decoder; control and user-defined tokens as added tokens, control ones special) wrapped by
// LabTokenizer.fromJson. llama → SpmTokenizer with '▁' as the space symbol. Every failure is a TokenizerError
// naming the file and the key.

import { TokenizerError } from './errors';
import type { GgufMeta } from './gguf-meta';
import { SpmTokenizer } from './spm-tokenizer';
import { LabTokenizer, type TextTokenizer } from './tokenizer';

const CONTROL = 3;
const USER_DEFINED = 4;

// Llama 3's and Qwen2's split patterns (from their tokenizer.json), with the (?i:…) group spelled out for engines
// without regexp modifiers.
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const LLAMA3_SPLIT = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2_SPLIT = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const split = (pattern: string) => ({
  type: 'Sequence',
  pretokenizers: [{ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }, byteLevel(false)],
});
const PRE_TOKENIZERS: Record<string, () => object> = {
  default: () => byteLevel(true),
  gpt2: () => byteLevel(true),
  'gpt-2': () => byteLevel(true), // llama.cpp's name for GPT-2's own pre-tokenizer
  'llama-bpe': () => split(LLAMA3_SPLIT),
  llama3: () => split(LLAMA3_SPLIT),
  qwen2: () => split(QWEN2_SPLIT),
  smollm: () => ({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)] }),
};

/** The file's tokenizer, or null when it has none (no tokenizer.ggml.model, or "none"). */
export function ggufTokenizer(meta: GgufMeta): TextTokenizer | null {
  const file = meta.gg.file;
  const fail = (key: string, msg: string): never => {
    throw new TokenizerError(`${key}: ${msg}`, file);
  };
  const model = meta.string('tokenizer.ggml.model', null);
  if (model === null || model === 'none') return null;
  if (model !== 'gpt2' && model !== 'llama') fail('tokenizer.ggml.model', `"${model.slice(0, 40)}" is not supported (supported: "gpt2", "llama", "none")`);
  const tokens = meta.strings('tokenizer.ggml.tokens')!;
  if (tokens.length === 0) fail('tokenizer.ggml.tokens', 'is empty');
  const types = meta.numbers('tokenizer.ggml.token_type', false);
  if (types && types.length !== tokens.length) fail('tokenizer.ggml.token_type', `has ${types.length} entries for ${tokens.length} tokens`);
  const id = (key: string): number | null => {
    const v = meta.int(key, null);
    if (v !== null && v >= tokens.length) fail(key, `${v} is not a token id (the vocabulary has ${tokens.length})`);
    return v;
  };
  const bosId = id('tokenizer.ggml.bos_token_id');
  const eosId = id('tokenizer.ggml.eos_token_id');

  if (model === 'llama') {
    const scores = meta.numbers('tokenizer.ggml.scores')!;
    if (scores.length !== tokens.length) fail('tokenizer.ggml.scores', `has ${scores.length} entries for ${tokens.length} tokens`);
    return new SpmTokenizer({
      pieces: tokens, scores, bosId, eosId, spaceSymbol: '▁', addDummyPrefix: meta.bool('tokenizer.ggml.add_space_prefix', true), file,
      addBos: meta.bool('tokenizer.ggml.add_bos_token', true),
    });
  }

  const merges = meta.strings('tokenizer.ggml.merges')!;
  const pre = meta.string('tokenizer.ggml.pre', 'default');
  const preTokenizer = PRE_TOKENIZERS[pre];
  if (!preTokenizer) fail('tokenizer.ggml.pre', `"${pre.slice(0, 40)}" is not supported (supported: ${Object.keys(PRE_TOKENIZERS).map((p) => `"${p}"`).join(', ')})`);
  const vocab: Record<string, number> = {};
  const added: object[] = [];
  tokens.forEach((t, i) => {
    if (Object.hasOwn(vocab, t)) fail('tokenizer.ggml.tokens', `token ${JSON.stringify(t.slice(0, 40))} appears twice (ids ${vocab[t]} and ${i})`);
    vocab[t] = i;
    const ty = types?.[i];
    if (ty === CONTROL || ty === USER_DEFINED)
      added.push({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: ty === CONTROL });
  });
  merges.forEach((m, i) => {
    if (m.split(' ').length !== 2) fail('tokenizer.ggml.merges', `entry ${i} ${JSON.stringify(m.slice(0, 40))} is not "left right"`);
  });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer!(),
    post_processor: null,
    decoder: byteLevel(true),
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: pre === 'llama-bpe' || pre === 'llama3', vocab, merges },
  };
  const tokenizerConfig = eosId !== null ? { eos_token: tokens[eosId] } : {};
  return LabTokenizer.fromJson(tokenizerJson, tokenizerConfig, file);
}
