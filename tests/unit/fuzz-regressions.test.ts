// Cases the fuzz harness (npm run fuzz) found, kept as regressions.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/model/config';
import { ConfigError, TokenizerError } from '../../src/model/errors';
import { LabTokenizer } from '../../src/model/tokenizer';
import { makeLlamaFixture } from '../fixtures/llama';

describe('fuzz regressions', () => {
  it('a deeply nested config value is a ConfigError, not a stack overflow in the message', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const cfg = { ...makeLlamaFixture({ seed: 1 }).configJson, num_hidden_layers: deep };
    expect(() => parseConfig(cfg)).toThrow(ConfigError);
    expect(() => parseConfig(cfg)).toThrow(/num_hidden_layers.*an array of 1/);
  });

  it('a tokenizer whose vocabulary is not a token→id map is a TokenizerError', () => {
    const tok = { version: '1.0', model: { type: 'BPE', vocab: 2 ** 53, merges: [] }, pre_tokenizer: null, decoder: null };
    expect(() => LabTokenizer.fromJson(tok, null)).toThrow(TokenizerError);
  });
});
