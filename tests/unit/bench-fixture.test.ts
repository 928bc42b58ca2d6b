// `npm run bench -- --fixture <name>` (tools/cli/harness.mjs knownFixtureOptions): a random-weight model with the
// shape of a models/manifest.json "known" model. Checked here: the manifest's config for SmolLM2-135M parses to the
// entry's parameter count; the options the lookup derives write a fixture (tests/fixtures/llama.ts) whose config
// parses to the same shape as the source config (max_position_embeddings replaced by the bench context); name
// matching and the typed refusals. Small synthetic manifests stand in for the 135M model where weights are built.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/model/config';
import { countParameters } from '../../src/model/weights';
// @ts-expect-error: a plain .mjs module of the CLI, without type declarations
import { knownFixtureOptions } from '../../tools/cli/harness.mjs';
import { makeLlamaFixture } from '../fixtures/llama';

interface KnownEntry {
  repo: string;
  parameters: number;
  config?: Record<string, unknown>;
}
const manifest = JSON.parse(readFileSync(new URL('../../models/manifest.json', import.meta.url), 'utf8')) as { known: KnownEntry[] };

const small = (o: Record<string, unknown> = {}) => ({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', rms_norm_eps: 1e-5,
  hidden_size: 48, intermediate_size: 80, num_hidden_layers: 3, num_attention_heads: 6, num_key_value_heads: 2,
  vocab_size: 61, max_position_embeddings: 4096, rope_theta: 100000, tie_word_embeddings: true, ...o,
});
const fake = (config: Record<string, unknown> | undefined, repo = 'Org/Tiny-Model') => ({ known: [{ repo, parameters: 0, ...(config ? { config } : {}) }] });

/** The shape fields of a parsed config, maxSeq aside. */
function shape(c: ReturnType<typeof parseConfig>) {
  const { maxSeq: _, bosTokenId: _b, eosTokenIds: _e, ...rest } = c;
  return rest;
}

describe('bench --fixture: known-model shapes', () => {
  it('SmolLM2-135M: the manifest config parses to the listed parameter count, and the lookup keeps its shape', () => {
    const entry = manifest.known.find((k) => k.repo === 'HuggingFaceTB/SmolLM2-135M')!;
    expect(entry.config).toBeDefined();
    const cfg = parseConfig(entry.config!);
    expect(countParameters(cfg)).toBe(entry.parameters);
    const o = knownFixtureOptions('smollm2-135m', { maxSeq: 256 });
    expect(o).toMatchObject({ hiddenSize: 576, intermediateSize: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, vocabSize: 49152, maxSeq: 256, tie: true, qwen2: false, ropeTheta: 100000 });
    expect(knownFixtureOptions('HuggingFaceTB/SmolLM2-135M').hiddenSize).toBe(576); // the full repo id works too
  });

  it('the written fixture has the source config shape (context = the bench maxSeq, capped by the model)', () => {
    for (const c of [small(), small({ tie_word_embeddings: false, rope_theta: 12345, num_key_value_heads: 3 })]) {
      const o = knownFixtureOptions('tiny-model', { maxSeq: 40, manifest: fake(c) });
      const { repo: _, ...opts } = o;
      const got = parseConfig(makeLlamaFixture(opts).configJson);
      const want = parseConfig(c);
      expect(shape(got)).toEqual(shape(want));
      expect(got.maxSeq).toBe(40);
      expect(countParameters(got)).toBe(countParameters(want));
    }
    expect(knownFixtureOptions('tiny-model', { maxSeq: 9000, manifest: fake(small()) }).maxSeq).toBe(4096);
    expect(knownFixtureOptions('tiny-model', { manifest: fake(small({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] })) }).qwen2).toBe(true);
  });

  it('refuses unknown names, entries without a config, other architectures, rope scaling and bad fields', () => {
    const err = (name: string, m: unknown, maxSeq = 256) => {
      try {
        knownFixtureOptions(name, { manifest: m, maxSeq });
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
      return 'no error';
    };
    expect(err('nope', fake(small()))).toMatch(/UsageError: --fixture nope: not in models\/manifest\.json "known" \(fixtures can be made for: tiny-model\)/);
    expect(err('tiny-model', fake(undefined))).toMatch(/UsageError: .*Org\/Tiny-Model has no "config"/);
    expect(err('tiny-model', fake(small({ model_type: 'gpt2' })))).toMatch(/UsageError: .*model_type gpt2/);
    expect(err('tiny-model', fake(small({ rope_scaling: { rope_type: 'llama3', factor: 8 } })))).toMatch(/rope_scaling/);
    expect(err('tiny-model', fake(small({ hidden_size: 0 })))).toMatch(/ConfigError: .*config\.hidden_size: expected a positive integer, got 0/);
    expect(err('tiny-model', fake(small()), 1)).toMatch(/--max-seq must be an integer >= 2/);
    expect(err('gpt2', manifest)).toMatch(/has no "config"/);
  });
});
