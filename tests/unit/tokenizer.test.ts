// The embedded models' tokenizer (byte-level BPE, vocab 1024, trained by tools/train/bpe.py) must give, in
// @huggingface/tokenizers, exactly the ids the Python training pipeline used. models/heldout.ids.bin holds the
// Python ids of models/heldout.txt as little-endian uint16.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';

const modelsDir = fileURLToPath(new URL('../../models/', import.meta.url));
const readJson = (path: string) => JSON.parse(readFileSync(modelsDir + path, 'utf8'));

function load(folder: string): Tokenizer {
  return new Tokenizer(readJson(`${folder}/tokenizer.json`), readJson(`${folder}/tokenizer_config.json`));
}

function pythonIds(): number[] {
  const buf = readFileSync(modelsDir + 'heldout.ids.bin');
  const ids: number[] = [];
  for (let i = 0; i < buf.length; i += 2) ids.push(buf.readUInt16LE(i));
  return ids;
}

describe('embedded tokenizer (lab-target, lab-draft)', () => {
  const text = readFileSync(modelsDir + 'heldout.txt', 'utf8');
  const expected = pythonIds();

  it('encodes the whole held-out text to the ids the Python pipeline exported', () => {
    const ids = load('lab-target').encode(text, { add_special_tokens: false }).ids;
    expect(ids.length).toBe(expected.length);
    const firstDiff = ids.findIndex((id, i) => id !== expected[i]);
    expect(firstDiff).toBe(-1);
  });

  it('adds no special tokens by default and keeps ids in the vocabulary', () => {
    const ids = load('lab-target').encode('ROMEO:\nBut soft, what light').ids;
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id >= 0 && id < 1023)).toBe(true);
    expect(ids).toEqual(load('lab-target').encode('ROMEO:\nBut soft, what light', { add_special_tokens: false }).ids);
  });

  it('round-trips: decode(encode(x)) == x', () => {
    const tok = load('lab-target');
    expect(tok.decode(tok.encode(text).ids)).toBe(text);
    const odd = 'Héllo  wörld!\n\n  123 日本 \t end ';
    expect(tok.decode(tok.encode(odd).ids)).toBe(odd);
  });

  it('lab-draft shares the tokenizer', () => {
    const a = readFileSync(modelsDir + 'lab-target/tokenizer.json', 'utf8');
    const b = readFileSync(modelsDir + 'lab-draft/tokenizer.json', 'utf8');
    expect(b).toBe(a);
    const prompt = 'ROMEO:\nBut soft, what light';
    expect(load('lab-draft').encode(prompt).ids).toEqual(load('lab-target').encode(prompt).ids);
  });

  it('maps <|endoftext|> to the last id', () => {
    const tok = load('lab-target');
    expect(tok.encode('<|endoftext|>').ids).toEqual([1023]);
  });
});
