// `npm run bench -- --suite baseline --engine lab --repeat 1 --out <file>` end to end: the CLI starts its own
// Vite + Chromium, runs the suite on a small random Llama fixture (written here, with the embedded byte-level
// BPE tokenizer so the suite's text prompt and the held-out quality text tokenize) and must write a session
// file the app imports (importJson) and print the Markdown table. It uses no page of this test run.
import { expect, test } from '@playwright/test';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJson } from '../../src/bench/session';
import { makeLlamaFixture } from '../fixtures/llama';
import { ROOT, runCli } from './fixtures';

const run = (args: string[], timeoutMs: number) => runCli('bench.mjs', args, timeoutMs);

test('bench --suite baseline --engine lab writes a valid session and prints the table', async () => {
  test.setTimeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'lab-bench-cli-'));
  try {
    const model = join(dir, 'model');
    const { configJson, safetensors } = makeLlamaFixture({ seed: 3, vocabSize: 1024, maxSeq: 256 });
    mkdirSync(model);
    writeFileSync(join(model, 'config.json'), JSON.stringify(configJson));
    writeFileSync(join(model, 'model.safetensors'), safetensors);
    copyFileSync(join(ROOT, 'models/lab-target/tokenizer.json'), join(model, 'tokenizer.json'));
    const out = join(dir, 'session.json');

    const r = await run(['--suite', 'baseline', '--engine', 'lab', '--repeat', '1', '--model', model, '--out', out], 100_000);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const s = importJson(readFileSync(out, 'utf8')); // throws, naming the field, if the file is not schema-valid
    expect(s.runs).toHaveLength(1);
    const run0 = s.runs[0]!;
    expect(run0).toMatchObject({ engine: 'lab', label: 'lab f32', prompt: 'ROMEO:\nBut soft, what light' });
    expect(run0.output_ids).toHaveLength(32);
    expect(run0.metrics.decode_tok_s).toBeGreaterThan(0);
    expect(run0.spread?.decode_tok_s?.n).toBe(1);
    expect(run0.quality?.perplexity).toBeGreaterThan(1); // held-out text, dense model: no agreement/KL
    expect(run0.config).toMatchObject({ suite: 'baseline', quant: { precision: 'f32' }, output_agreement: { match: 1 } });
    expect(s.environment.adapter).not.toBeNull();

    // the Markdown table on stdout: header and the one lab row
    expect(r.stdout).toMatch(/\| config \| engine \| decode_tok_s \|/);
    expect(r.stdout).toMatch(/\n\| lab f32 \| lab \| [0-9.]+ \|/);
    expect(r.stdout).not.toMatch(/ort-webgpu|ort-wasm/); // --engine lab
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench --suite with an unknown name is a usage error naming the suites', async () => {
  const r = await run(['--suite', 'nope'], 30_000);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/UsageError: no suite 'nope': the suites are baseline, precision, sparsity, early-exit, speculative/);
});
