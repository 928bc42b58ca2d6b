// LabTokenizer over a small hand-made byte-level BPE tokenizer.json (a few merges): encode without special
// tokens, decode, EOS from tokenizer_config.json, and TokenizerError on bad input.
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../../src/model/errors';
import { LabTokenizer } from '../../src/model/tokenizer';

const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

function tokenizerJson(): Record<string, unknown> {
  const vocab = ['<eos>', 'h', 'e', 'l', 'o', 'Ġ', 'w', 'r', 'd', 'he', 'll', 'hell', 'hello', 'Ġw', 'or', 'Ġwor'];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: '<eos>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
      merges: ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or'],
    },
  };
}
const tokenizerConfig = { eos_token: '<eos>', bos_token: null, add_bos_token: false, clean_up_tokenization_spaces: false };

function tokenizerError(f: () => unknown): TokenizerError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TokenizerError);
    expect((e as Error).name).toBe('TokenizerError');
    return e as TokenizerError;
  }
  throw new Error('did not throw');
}

describe('LabTokenizer', () => {
  const tok = LabTokenizer.fromJson(tokenizerJson(), tokenizerConfig);

  it('encodes with the merges, adding no special tokens', () => {
    expect(tok.encode('hello world')).toEqual([12, 15, 3, 8]); // hello | Ġwor l d
    expect(tok.encode('hell')).toEqual([11]);
    expect(tok.encode('oh')).toEqual([4, 1]);
    expect(tok.encode('hello<eos>')).toEqual([12, 0]);
    expect(tok.encode('')).toEqual([]);
  });

  it('decodes back to the text, special tokens kept', () => {
    expect(tok.decode([12, 15, 3, 8])).toBe('hello world');
    expect(tok.decode([1, 2, 10, 4, 5, 6, 14, 3, 8])).toBe('hello world'); // unmerged pieces decode the same
    expect(tok.decode([12, 0])).toBe('hello<eos>');
    for (const s of ['hello world', 'world hello', 'he ll o']) expect(tok.decode(tok.encode(s))).toBe(s);
  });

  it('takes eos ids from tokenizer_config.json (string or AddedToken object), none without one', () => {
    expect(tok.eosTokenIds).toEqual([0]);
    expect(tok.vocabSize).toBe(16);
    expect(LabTokenizer.fromJson(tokenizerJson(), { eos_token: { content: '<eos>', special: true } }).eosTokenIds).toEqual([0]);
    expect(LabTokenizer.fromJson(tokenizerJson(), null).eosTokenIds).toEqual([]);
  });

  it('bad input is a TokenizerError naming the file', () => {
    for (const bad of [null, 'x', [1], {}, { model: 'BPE' }]) {
      const e = tokenizerError(() => LabTokenizer.fromJson(bad, null, 'm/tokenizer.json'));
      expect(e.file).toBe('m/tokenizer.json');
      expect(e.message.startsWith('m/tokenizer.json: ')).toBe(true);
    }
    const noDecoder = { ...tokenizerJson(), decoder: undefined };
    expect(tokenizerError(() => LabTokenizer.fromJson(noDecoder, null)).message).toMatch(/^tokenizer\.json: could not build/);
    expect(tokenizerError(() => LabTokenizer.fromJson(tokenizerJson(), { eos_token: '</s>' })).message).toContain('"</s>"');
    tokenizerError(() => LabTokenizer.fromJson(tokenizerJson(), [1, 2]));
  });

  it('bosForText: the BOS a TemplateProcessing post-processor adds (Llama 2 style), none for plain byte-level', () => {
    expect(LabTokenizer.fromJson(tokenizerJson(), null).bosForText).toBeNull();
    const withBos = {
      ...tokenizerJson(),
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<eos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<eos>': { id: '<eos>', ids: [0], tokens: ['<eos>'] } },
      },
    };
    const t = LabTokenizer.fromJson(withBos, null);
    expect(t.bosForText).toBe(0);
    expect(t.encode('hello')).toEqual([12]); // encode itself never adds it: the engine prepends bosForText once
  });
});
