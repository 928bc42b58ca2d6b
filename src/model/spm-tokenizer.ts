// SentencePiece-style (score-ranked BPE) tokenizer: llama2.c's tokenizer.bin and GGUF "llama" vocabularies.
//
// encode(text), as llama2.c's `encode` (and llama.cpp's SPM tokenizer):
//   1. spaces become spaceSymbol (' ' for tokenizer.bin, '▁' for GGUF/SentencePiece vocabularies), and with
//      addDummyPrefix a non-empty text gets one leading space symbol;
//   2. each Unicode code point is looked up as a piece; a code point that is not a piece becomes the byte-fallback
//      pieces `<0xXX>` of its UTF-8 bytes (an error when the vocabulary lacks one);
//   3. repeatedly, the adjacent pair whose concatenation is a piece with the HIGHEST score is merged (ties: the
//      leftmost pair), until no adjacent pair concatenates to a piece. Byte-fallback symbols and the BOS/EOS pieces
//      never take part in merges. A binary heap over candidate pairs and a linked list of symbols make this
//      O(n log n) (stale heap entries are recognised by per-symbol version numbers).
// decode(ids): byte pieces `<0xXX>` give raw bytes, other pieces their UTF-8 with spaceSymbol → ' '; a piece that
//   follows BOS loses one leading space (llama2.c), as does the first piece when addDummyPrefix (undoing step 1).
//   The bytes are then UTF-8 decoded; invalid sequences become U+FFFD (never a throw).
// Special tokens are never added by encode and are kept (as their piece text) by decode.

import { TokenizerError } from './errors';
import type { TextTokenizer } from './tokenizer';

export interface SpmTokenizerOptions {
  /** Piece text per id. */
  pieces: string[];
  /** Merge priority per id (higher merges first; ±Infinity allowed, NaN refused); same length as pieces. */
  scores: ArrayLike<number>;
  bosId: number | null;
  eosId: number | null;
  /** What a space is inside pieces: ' ' (llama2.c tokenizer.bin) or '▁' (SentencePiece / GGUF). */
  spaceSymbol: '▁' | ' ';
  /** Prepend one space to a non-empty text before encoding (SentencePiece's add_dummy_prefix). */
  addDummyPrefix: boolean;
  /** File named in errors (e.g. tokenizer.bin, model.gguf). */
  file: string;
  /** Prepend BOS to text prompts (default true when bosId is set; GGUF's tokenizer.ggml.add_bos_token). */
  addBos?: boolean;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** One symbol of the linked list being merged. */
interface Sym {
  text: string | null; // piece text, or null for a byte-fallback symbol (never merged)
  id: number;
  prev: number; // index of the previous live symbol, -1 at the start
  next: number; // index of the next live symbol, -1 at the end
  version: number; // bumped whenever the symbol changes or dies
}

/** A candidate merge of symbols left and left.next, as pushed on the heap. */
interface Cand {
  score: number;
  left: number;
  right: number;
  id: number;
  lv: number; // versions at push time: the candidate is stale when either changed
  rv: number;
}

export class SpmTokenizer implements TextTokenizer {
  readonly eosTokenIds: number[];
  readonly vocabSize: number;
  /** SentencePiece models are trained with BOS in front of every text (llama2.c's run.c, llama.cpp's add_bos). */
  readonly bosForText: number | null;
  private readonly pieces: string[];
  private readonly scores: Float64Array;
  private readonly bosId: number | null;
  private readonly space: '▁' | ' ';
  private readonly dummyPrefix: boolean;
  private readonly file: string;
  /** Piece text → id for pieces that may be produced by lookup/merge (not BOS/EOS, not byte pieces). */
  private readonly lookup = new Map<string, number>();
  /** Byte value → id of its `<0xXX>` piece, -1 when the vocabulary lacks it. */
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** Per id: the raw byte when the piece is `<0xXX>`, else -1. */
  private readonly byteOf: Int16Array;
  private readonly utf8 = new TextEncoder();

  constructor(opts: SpmTokenizerOptions) {
    const { pieces, scores, bosId, eosId, spaceSymbol, addDummyPrefix, file } = opts;
    const fail = (msg: string): never => {
      throw new TokenizerError(msg, file);
    };
    if (!Array.isArray(pieces) || pieces.length === 0) fail('has an empty vocabulary');
    if (scores.length !== pieces.length) fail(`has ${pieces.length} pieces but ${scores.length} scores`);
    if (spaceSymbol !== ' ' && spaceSymbol !== '▁') fail(`space symbol must be ' ' or '▁', got ${JSON.stringify(spaceSymbol)}`);
    for (const [what, id] of [['BOS', bosId], ['EOS', eosId]] as const)
      if (id !== null && !(Number.isInteger(id) && id >= 0 && id < pieces.length)) fail(`${what} id ${id} is outside the vocabulary (0..${pieces.length - 1})`);
    this.pieces = pieces;
    this.vocabSize = pieces.length;
    this.scores = new Float64Array(pieces.length);
    this.byteOf = new Int16Array(pieces.length).fill(-1);
    for (let id = 0; id < pieces.length; id++) {
      const p = pieces[id];
      if (typeof p !== 'string') fail(`piece ${id} is not a string`);
      const s = scores[id];
      if (typeof s !== 'number' || Number.isNaN(s)) fail(`piece ${id} (${JSON.stringify(p.slice(0, 40))}) has score ${s}, not a number`);
      this.scores[id] = s;
      const byte = BYTE_PIECE.exec(p);
      if (byte) {
        const b = parseInt(byte[1], 16);
        this.byteOf[id] = b;
        if (this.byteIds[b] < 0) this.byteIds[b] = id;
        continue;
      }
      if (id === bosId || id === eosId || p === '') continue;
      if (!this.lookup.has(p)) this.lookup.set(p, id); // duplicates: the lowest id wins
    }
    this.bosId = bosId;
    this.bosForText = opts.addBos === false ? null : bosId;
    this.eosTokenIds = eosId !== null ? [eosId] : [];
    this.space = spaceSymbol;
    this.dummyPrefix = addDummyPrefix;
    this.file = file;
  }

  /** Token ids of `text`; no BOS/EOS is added. */
  encode(text: string): number[] {
    if (text === '') return [];
    const sp = this.space;
    const src = (this.dummyPrefix ? ' ' : '') + text;
    // 1–2: code points → symbols (byte fallback for unknown ones)
    const syms: Sym[] = [];
    const push = (t: string | null, id: number) => syms.push({ text: t, id, prev: syms.length - 1, next: syms.length + 1, version: 0 });
    for (const cp of src) {
      const ch = cp === ' ' ? sp : cp;
      const id = this.lookup.get(ch);
      if (id !== undefined) {
        push(ch, id);
        continue;
      }
      for (const b of this.utf8.encode(cp)) {
        const bid = this.byteIds[b];
        if (bid < 0)
          throw new TokenizerError(`cannot encode ${JSON.stringify(cp)}: it is not a piece and the byte-fallback piece <0x${hex(b)}> is missing from the vocabulary`, this.file);
        push(null, bid);
      }
    }
    syms[syms.length - 1].next = -1;

    // 3: best-score-first merges
    const heap = new CandHeap();
    const consider = (l: number) => {
      const r = syms[l].next;
      if (r < 0) return;
      const a = syms[l].text;
      const b = syms[r].text;
      if (a === null || b === null) return;
      const id = this.lookup.get(a + b);
      if (id !== undefined) heap.push({ score: this.scores[id], left: l, right: r, id, lv: syms[l].version, rv: syms[r].version });
    };
    for (let i = 0; i + 1 < syms.length; i++) consider(i);
    for (let c = heap.pop(); c; c = heap.pop()) {
      const L = syms[c.left];
      const R = syms[c.right];
      if (L.version !== c.lv || R.version !== c.rv || L.next !== c.right) continue; // stale
      L.text = L.text! + R.text!;
      L.id = c.id;
      L.version++;
      L.next = R.next;
      if (R.next >= 0) syms[R.next].prev = c.left;
      R.version++;
      R.text = null;
      if (L.prev >= 0) consider(L.prev);
      consider(c.left);
    }
    const ids: number[] = [];
    for (let i = 0; i >= 0; i = syms[i].next) ids.push(syms[i].id);
    return ids;
  }

  /** Text of `ids` (special tokens kept as their piece text). */
  decode(ids: number[]): string {
    const bytes: number[] = [];
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize))
        throw new TokenizerError(`cannot decode id ${id}: outside the vocabulary (0..${this.vocabSize - 1})`, this.file);
      const b = this.byteOf[id];
      if (b >= 0) {
        bytes.push(b);
        continue;
      }
      let piece = this.pieces[id];
      if (this.space !== ' ') piece = piece.split(this.space).join(' ');
      const afterBos = k > 0 && ids[k - 1] === this.bosId;
      if ((afterBos || (k === 0 && this.dummyPrefix)) && piece.startsWith(' ')) piece = piece.slice(1);
      for (const x of this.utf8.encode(piece)) bytes.push(x);
    }
    return new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(bytes));
  }
}

const hex = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');

/** Max-heap of merge candidates: higher score first, then the leftmost (lowest left index). */
class CandHeap {
  private a: Cand[] = [];
  private static before(x: Cand, y: Cand): boolean {
    return x.score > y.score || (x.score === y.score && x.left < y.left);
  }
  push(c: Cand): void {
    const a = this.a;
    a.push(c);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!CandHeap.before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): Cand | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && CandHeap.before(a[l], a[m])) m = l;
        if (r < a.length && CandHeap.before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
