// SpmTokenizer against hand-made vocabularies and against a direct transcription of llama2.c's O(n²) `encode`
// (the spec): merges by score with leftmost ties, byte fallback, round trips, invalid bytes, long prompts.
import { describe, it, expect } from 'vitest';
import { SpmTokenizer, type SpmTokenizerOptions } from '../../src/model/spm-tokenizer';
import { TokenizerError } from '../../src/model/errors';

const BYTES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

/** llama2.c layout: <unk>, <s>, </s>, 256 byte pieces, then the given pieces with their scores. */
function vocab(entries: [string, number][], space: ' ' | '▁' = ' '): SpmTokenizerOptions {
  const pieces = ['<unk>', '<s>', '</s>', ...BYTES, ...entries.map((e) => e[0])];
  const scores = [0, 0, 0, ...BYTES.map(() => 0), ...entries.map((e) => e[1])];
  return { pieces, scores, bosId: 1, eosId: 2, spaceSymbol: space, addDummyPrefix: true, file: 'tokenizer.bin' };
}

/** llama2.c's encode, transcribed: dummy prefix, code points → pieces or byte tokens, O(n²) best-pair merges. */
function llama2cEncode(o: SpmTokenizerOptions, text: string): number[] {
  if (!text) return [];
  const lookup = new Map<string, number>();
  o.pieces.forEach((p, i) => {
    if (i !== o.bosId && i !== o.eosId && !/^<0x[0-9A-F]{2}>$/.test(p) && !lookup.has(p)) lookup.set(p, i);
  });
  const toks: number[] = [];
  for (const cp of ' ' + text) {
    const ch = cp === ' ' ? o.spaceSymbol : cp;
    const id = lookup.get(ch);
    if (id !== undefined) toks.push(id);
    else for (const b of new TextEncoder().encode(cp)) toks.push(b + 3);
  }
  const str = (id: number) => (id >= 3 && id < 259 ? null : o.pieces[id]);
  for (;;) {
    let best = -Infinity, bestId = -1, bestIdx = -1;
    for (let i = 0; i + 1 < toks.length; i++) {
      const a = str(toks[i]), b = str(toks[i + 1]);
      if (a === null || b === null) continue;
      const id = lookup.get(a + b);
      if (id !== undefined && o.scores[id] > best) [best, bestId, bestIdx] = [o.scores[id], id, i];
    }
    if (bestIdx < 0) break;
    toks.splice(bestIdx, 2, bestId);
  }
  return toks;
}

const V = vocab([
  [' ', -1], ['a', -2], ['b', -3], ['c', -4], ['h', -5], ['e', -6], ['l', -7], ['o', -8], ['é', -9],
  ['ab', 5], ['bc', 9], ['abc', 3], [' a', 1], ['he', 4], ['ll', 4], ['hell', 6], ['hello', 7], [' hello', 8],
  ['lo', 4.5], ['aa', 2],
]);
const id = (o: SpmTokenizerOptions, p: string) => o.pieces.indexOf(p);

describe('SpmTokenizer.encode', () => {
  const tok = new SpmTokenizer(V);

  it('merges the highest-scoring pair first, not the leftmost', () => {
    // " abc": ' '+'a' (1), 'a'+'b' (5), 'b'+'c' (9) → bc first, then 'a'+'bc' (3) beats ' '+'a' (1)
    expect(tok.encode('abc')).toEqual([id(V, ' '), id(V, 'abc')]);
    // " ab": ab (5) beats ' a' (1)
    expect(tok.encode('ab')).toEqual([id(V, ' '), id(V, 'ab')]);
    expect(tok.encode('abc')).toEqual(llama2cEncode(V, 'abc'));
  });

  it('breaks score ties by taking the leftmost pair', () => {
    // "aaa" → ' ' a a a; pairs aa (2) at 1 and 2 tie, ' a' (1) is lower → (a a) a ... then ' '+'aa'? not a piece
    const ids = tok.encode('aaa');
    expect(ids).toEqual([id(V, ' '), id(V, 'aa'), id(V, 'a')]);
    expect(ids).toEqual(llama2cEncode(V, 'aaa'));
    // "hello": lo (4.5) first, which leaves he (4) and blocks ll/hell/hello
    expect(tok.encode('hello')).toEqual([id(V, ' '), id(V, 'he'), id(V, 'l'), id(V, 'lo')]);
    // "hell": he and ll tie at 4 → he (leftmost) then ll, then hell (6); ' hell' is not a piece
    expect(tok.encode('hell')).toEqual([id(V, ' '), id(V, 'hell')]);
    expect(tok.encode('hell')).toEqual(llama2cEncode(V, 'hell'));
  });

  it('falls back to <0xXX> byte pieces for code points that are not pieces', () => {
    const ids = tok.encode('a😀é');
    const emoji = [...new TextEncoder().encode('😀')].map((b) => id(V, BYTES[b]));
    expect(ids).toEqual([id(V, ' a'), ...emoji, id(V, 'é')]);
    expect(ids).toEqual(llama2cEncode(V, 'a😀é'));
  });

  it('agrees with llama2.c\'s O(n²) encode on random strings', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = ['a', 'b', 'c', 'h', 'e', 'l', 'o', ' ', 'é', 'z', '😀', '\n'];
    for (let t = 0; t < 300; t++) {
      const n = 1 + Math.floor(rnd() * 30);
      const s = Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
      expect(tok.encode(s), JSON.stringify(s)).toEqual(llama2cEncode(V, s));
    }
  });

  it('adds no dummy prefix to an empty text and none when addDummyPrefix is false', () => {
    expect(tok.encode('')).toEqual([]);
    const noPrefix = new SpmTokenizer({ ...V, addDummyPrefix: false });
    expect(noPrefix.encode('abc')).toEqual([id(V, 'abc')]);
    expect(noPrefix.decode(noPrefix.encode(' abc'))).toBe(' abc');
  });

  it('uses ▁ for spaces when the vocabulary does (GGUF / SentencePiece)', () => {
    const U = vocab([['▁', -1], ['a', -2], ['b', -3], ['▁a', 2], ['ab', 1], ['▁ab', 3]], '▁');
    const t = new SpmTokenizer(U);
    expect(t.encode('ab ab')).toEqual([id(U, '▁ab'), id(U, '▁ab')]);
    expect(t.decode(t.encode('ab ab'))).toBe('ab ab');
  });

  it('names the file and the byte when a byte-fallback piece is missing', () => {
    const pieces = ['<unk>', '<s>', '</s>', ' ', 'a'];
    const t = new SpmTokenizer({ ...V, pieces, scores: [0, 0, 0, 0, 0] });
    expect(t.encode('a a')).toEqual([3, 4, 3, 4]);
    expect(() => t.encode('aé')).toThrow(TokenizerError);
    expect(() => t.encode('aé')).toThrow(/tokenizer\.bin: .*<0xC3>/);
  });

  it('encodes a 10k-character prompt quickly', () => {
    const base = 'hello abc aaa é😀 bc ab hell lo ';
    const text = [...base.repeat(Math.ceil(10000 / base.length))].slice(0, 10000).join(''); // 10k code points
    const t0 = performance.now();
    const ids = tok.encode(text);
    const ms = performance.now() - t0;
    expect(tok.decode(ids)).toBe(text);
    expect(ms).toBeLessThan(500);
    // and the result is still the spec's on a slice the O(n²) reference can afford
    const head = [...text].slice(0, 400).join('');
    expect(tok.encode(head)).toEqual(llama2cEncode(V, head));
  });
});

describe('SpmTokenizer.decode', () => {
  const tok = new SpmTokenizer(V);

  it('round-trips ASCII, UTF-8 and emoji text', () => {
    for (const s of ['hello', 'abc aaa\n bc', 'é é', '😀 hello 🎉 ü', '  two leading spaces', 'z']) expect(tok.decode(tok.encode(s))).toBe(s);
  });

  it('strips the dummy-prefix space after BOS and at the start, keeps special tokens', () => {
    const ids = tok.encode('hello abc');
    expect(tok.decode([1, ...ids])).toBe('<s>hello abc');
    expect(tok.decode([...ids, 2])).toBe('hello abc</s>');
    expect(tok.decode([id(V, 'a'), id(V, ' hello')])).toBe('a hello');
  });

  it('turns invalid UTF-8 from byte pieces into U+FFFD instead of throwing', () => {
    const b = (x: number) => id(V, BYTES[x]);
    expect(tok.decode([id(V, 'a'), b(0xff), id(V, 'b')])).toBe('a\uFFFDb');
    expect(tok.decode([b(0xf0), b(0x9f)])).toBe('\uFFFD'); // a truncated 4-byte sequence
    expect(tok.decode([b(0xf0), b(0x9f), b(0x98), b(0x80)])).toBe('😀');
  });

  it('rejects ids outside the vocabulary with a TokenizerError', () => {
    expect(() => tok.decode([V.pieces.length])).toThrow(TokenizerError);
    expect(() => tok.decode([-1])).toThrow(/tokenizer\.bin: .*-1/);
  });
});

describe('SpmTokenizer construction', () => {
  it('reports vocabSize and EOS', () => {
    const t = new SpmTokenizer(V);
    expect(t.vocabSize).toBe(V.pieces.length);
    expect(t.eosTokenIds).toEqual([2]);
    expect(new SpmTokenizer({ ...V, eosId: null }).eosTokenIds).toEqual([]);
  });

  it('asks for BOS in front of text prompts unless told not to (GGUF add_bos_token false) or it has none', () => {
    expect(new SpmTokenizer(V).bosForText).toBe(1);
    expect(new SpmTokenizer({ ...V, addBos: false }).bosForText).toBeNull();
    expect(new SpmTokenizer({ ...V, bosId: null }).bosForText).toBeNull();
  });

  it('rejects inconsistent input with a TokenizerError naming the file', () => {
    expect(() => new SpmTokenizer({ ...V, pieces: [], scores: [] })).toThrow(/tokenizer\.bin: .*empty/);
    expect(() => new SpmTokenizer({ ...V, scores: [1, 2] })).toThrow(/pieces but 2 scores/);
    expect(() => new SpmTokenizer({ ...V, bosId: 99999 })).toThrow(/BOS id 99999/);
    const bad = Array.from(V.scores);
    bad[5] = NaN;
    expect(() => new SpmTokenizer({ ...V, scores: bad })).toThrow(TokenizerError);
  });
});
