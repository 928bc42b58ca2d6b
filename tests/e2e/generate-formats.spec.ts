// `npm run generate -- --model <path>` detects the model's format from the files, never from a flag: a .gguf file
// (Q8_0/Q4_0/F16 tensors, its own gpt2-style vocabulary) and a folder holding a llama2.c checkpoint + tokenizer.bin
// are written here by the test-side writers, the CLI runs them on WebGPU in its own headless Chromium, and the
// greedy ids must equal the float64 CPU reference forward on the same loaded weights (loaded here in Node by the
// same loaders). A folder with an unknown mix of files is refused by name.
import { expect, test } from '@playwright/test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGguf } from '../../src/model/gguf-model';
import { loadLlama2c } from '../../src/model/llama2c';
import { bytesSource } from '../../src/model/safetensors';
import { refGreedy } from '../../src/ref/forward';
import { modelGguf } from '../fixtures/gguf-writer';
import { loadFixture } from '../fixtures/llama';
import { llama2cFromHf, makeLlama2cVocab, writeLlama2c, writeTokenizerBin } from '../fixtures/llama2c-writer';
import { runCli } from './fixtures';

const PROMPT = [1, 40, 7, 99, 12];
const NEW = 16;

function generate(model: string) {
  return runCli('generate.mjs', ['--model', model, '--prompt-ids', PROMPT.join(','), '--max-new-tokens', String(NEW), '--json'], 100_000);
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as { output_ids: number[]; model: string };

test.describe('generate --model detects the format', () => {
  let dir = '';
  test.beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab-formats-'));
  });
  test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a .gguf file with quantized tensors', async () => {
    test.setTimeout(120_000);
    const { weights } = await loadFixture({ seed: 21, hiddenSize: 64, intermediateSize: 96, nHeads: 4, nKvHeads: 2, vocabSize: 128 });
    const { bytes } = modelGguf(weights, {
      arch: 'llama', nHeads: 4, nKvHeads: 2, maxSeq: 128,
      types: { attn_q: 'Q4_0', attn_k: 'Q4_0', attn_v: 'F16', attn_output: 'Q8_0', ffn_gate: 'Q4_0', ffn_up: 'Q8_0', ffn_down: 'Q4_0', output: 'Q8_0' },
    });
    const file = join(dir, 'tiny.gguf');
    writeFileSync(file, bytes);
    const lm = await loadGguf(bytesSource('tiny.gguf', bytes), 'tiny');
    const want = refGreedy(lm.config, lm.weights, PROMPT, NEW);
    const r = await generate(file);
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.model).toBe('tiny');
    expect(out.output_ids).toEqual(want);
  });

  test('a folder with a llama2.c checkpoint and tokenizer.bin', async () => {
    test.setTimeout(120_000);
    const { cfg, weights } = await loadFixture({ seed: 31, vocabSize: 320 });
    const vocab = makeLlama2cVocab(320);
    const bin = writeLlama2c(llama2cFromHf(cfg, weights), 1);
    const tok = writeTokenizerBin(vocab.pieces, vocab.scores);
    const folder = join(dir, 'stories');
    mkdirSync(folder);
    writeFileSync(join(folder, 'stories.bin'), bin);
    writeFileSync(join(folder, 'tokenizer.bin'), tok);
    const lm = await loadLlama2c(bytesSource('stories.bin', bin), tok, 'stories');
    const want = refGreedy(lm.config, lm.weights, PROMPT, NEW);
    const r = await generate(folder);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout).output_ids).toEqual(want);
  });

  test('a folder that holds no model is refused by name', async () => {
    const folder = join(dir, 'empty');
    mkdirSync(folder);
    writeFileSync(join(folder, 'notes.txt'), 'nothing here');
    const r = await generate(folder);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.json/);
  });
});
