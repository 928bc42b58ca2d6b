// Golden end-to-end for llama2.c checkpoints: a small random Llama written as a llama2.c .bin (legacy with an
// unshared classifier; version 1 with a shared one; version 2 Q8_0, dequantized on load) plus a tokenizer.bin is loaded by loadLlama2c, the prompt is
// encoded by its SpmTokenizer (BOS prepended, as llama2.c's run does), and greedy decoding on WebGPU gives exactly
// the token ids of the float64 CPU reference forward (refGreedy) on the loaded weights: >= 24 new ids.
import { describe, expect, it } from 'vitest';
import { generateLoop } from '../../src/engine/generate';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { loadLlama2c } from '../../src/model/llama2c';
import { bytesSource } from '../../src/model/safetensors';
import { GpuModel } from '../../src/model/transformer';
import { refGreedy } from '../../src/ref/forward';
import { loadFixture } from '../fixtures/llama';
import { llama2cFromHf, makeLlama2cVocab, writeLlama2c, writeTokenizerBin } from '../fixtures/llama2c-writer';
import { getGpu } from './harness';

const VOCAB = 330;
const NEW = 28;
const CASES = [
  { label: 'legacy (version 0), unshared classifier, GQA', version: 0, opts: { seed: 31, vocabSize: VOCAB, tie: false } },
  { label: 'version 1, shared classifier, MHA', version: 1, opts: { seed: 32, vocabSize: VOCAB, tie: true, nKvHeads: 4 } },
  { label: 'version 2 (Q8_0, group 8), unshared classifier, GQA', version: 2, opts: { seed: 33, vocabSize: VOCAB, tie: false } },
] as const;

describe('golden: a llama2.c checkpoint decodes on WebGPU to the CPU reference', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      const gpu = await getGpu();
      const { cfg, weights } = await loadFixture(c.opts);
      const vocab = makeLlama2cVocab(VOCAB);
      const bin = writeLlama2c(llama2cFromHf(cfg, weights), c.version, 8);
      const lm = await loadLlama2c(bytesSource('stories.bin', bin), writeTokenizerBin(vocab.pieces, vocab.scores), 'stories');
      const tok = lm.tokenizer!;
      const text = 'Once upon a time, the little girl was happy.\nThe end';
      const prompt = [lm.config.bosTokenId!, ...tok.encode(text)];
      expect(tok.decode(prompt)).toBe(`\n<s>\n${text}`);
      const want = refGreedy(lm.config, lm.weights, prompt, NEW);
      const model = new GpuModel(gpu, lm.config, lm.weights, 96);
      try {
        const got = await generateLoop(gpu, model, prompt, { sampling: { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: NEW } });
        expect(got.ids).toEqual(want);
        expect(got.ids.length).toBeGreaterThanOrEqual(24);
        expect(new Set(want).size, 'fixture output is not degenerate').toBeGreaterThan(5);
        expect(typeof tok.decode(got.ids)).toBe('string');
      } finally {
        model.destroy();
      }
    });
  }
});
