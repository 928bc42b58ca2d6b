// A thin wrapper over @huggingface/tokenizers: builds from tokenizer.json (+ tokenizer_config.json), encodes
// WITHOUT adding special tokens (the lab adds BOS itself when a model wants it), decodes keeping special tokens,
// and reports the EOS ids named by tokenizer_config.json. Bad input is a TokenizerError naming the file.

import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from './errors';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the engine needs of a tokenizer. LabTokenizer (tokenizer.json) implements it; other model formats
 *  (GGUF vocabularies, llama2.c's tokenizer.bin) bring their own implementations. */
export interface TextTokenizer {
  /** Ids that end generation (may be empty). */
  readonly eosTokenIds: number[];
  /** One more than the largest id the tokenizer can produce. */
  readonly vocabSize: number;
  /** The id the engine prepends to a TEXT prompt (BOS), when this tokenizer's convention adds one: SentencePiece
   *  vocabularies (llama2.c, GGUF "llama") and tokenizer.json files whose post-processor adds BOS (Llama 2,
   *  TinyLlama); null when none is added (GPT-2, SmolLM2, Qwen2). */
  readonly bosForText: number | null;
  /** Token ids of `text`; no special tokens (BOS) are added. */
  encode(text: string): number[];
  /** Text of `ids`, special tokens kept. */
  decode(ids: number[]): string;
}

export class LabTokenizer implements TextTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    readonly eosTokenIds: number[],
    /** One more than the largest id the tokenizer can produce. */
    readonly vocabSize: number,
    readonly bosForText: number | null,
  ) {}

  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown | null, file = 'tokenizer.json'): LabTokenizer {
    if (!isObj(tokenizerJson)) throw new TokenizerError('expected a JSON object', file);
    if (!isObj(tokenizerJson.model)) throw new TokenizerError('has no "model" object (not a Hugging Face tokenizer.json?)', file);
    if (tokenizerConfig !== null && tokenizerConfig !== undefined && !isObj(tokenizerConfig))
      throw new TokenizerError('tokenizer_config.json: expected a JSON object', file);
    const config = (tokenizerConfig ?? {}) as Obj;
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tokenizerJson, config);
      tok.encode('a', { add_special_tokens: false }); // surface lazy failures now, not at the first prompt
    } catch (e) {
      throw new TokenizerError(`could not build the tokenizer: ${(e as Error).message}`, file);
    }
    const eosTokenIds: number[] = [];
    const eos = config.eos_token;
    const eosText = typeof eos === 'string' ? eos : isObj(eos) && typeof eos.content === 'string' ? eos.content : null;
    if (eosText !== null) {
      const id = tok.token_to_id(eosText);
      if (id === undefined) throw new TokenizerError(`tokenizer_config.json names eos_token ${JSON.stringify(eosText)}, which is not in the vocabulary`, file);
      eosTokenIds.push(id);
    }
    let maxId = -1;
    for (const [token, id] of tok.get_vocab(true)) {
      if (!Number.isSafeInteger(id) || id < 0 || id > 0x7fffffff) throw new TokenizerError(`token ${JSON.stringify(token.slice(0, 40))} has id ${id}, not an integer in 0..2^31-1`, file);
      maxId = Math.max(maxId, id);
    }
    if (maxId < 0) throw new TokenizerError('has an empty vocabulary', file);
    // The post-processor's own BOS: what encoding with special tokens puts in front of the plain encoding.
    let bosForText: number | null = null;
    try {
      const plain = tok.encode('a', { add_special_tokens: false }).ids;
      const special = tok.encode('a', { add_special_tokens: true }).ids;
      if (special.length === plain.length + 1 && special.slice(1).every((v, i) => v === plain[i])) bosForText = special[0]!;
    } catch {
      bosForText = null; // a post-processor that fails on this input adds nothing the lab relies on
    }
    return new LabTokenizer(tok, eosTokenIds, maxId + 1, bosForText);
  }

  /** Token ids of `text`; no special tokens are added. */
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of `ids` (special tokens kept, no clean-up of spaces, so decode(encode(x)) == x for byte-level BPE). */
  decode(ids: number[]): string {
    if (!ids.length) return '';
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
}
