#!/usr/bin/env node
// npm run bench -- [--model <folder>] [--prompt "text" | --prompt-ids 1,2,3] [--max-new-tokens 32]
//                  [--repeats 5] [--warmup 1] [--json]
// Decode speed of one model on this machine's WebGPU (headless Chromium, the same runner as generate.mjs):
// greedy generation repeated, printing decode tok/s and ms/token as the median (and min..max) over the repeats.
// Default model: models/lab-target if present, else a small random Llama fixture written to a temp folder.
// A benchmark prints numbers; it never passes or fails on speed.

import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError, ROOT, exitWithError, fmt, log, median, startLab, writeFixtureModel } from './harness.mjs';

const USAGE = 'usage: npm run bench -- [--model <folder>] [--prompt "text" | --prompt-ids 1,2,3] [--max-new-tokens 32] [--repeats 5] [--warmup 1] [--json]';

function int(v, name, min) {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new CliError('UsageError', `--${name} must be an integer >= ${min} (got ${v})\n${USAGE}`);
  return x;
}

async function main() {
  let json = process.argv.includes('--json');
  let lab = null;
  let tempDir = null;
  try {
    let a;
    try {
      a = parseArgs({
        args: process.argv.slice(2),
        options: {
          model: { type: 'string' },
          prompt: { type: 'string' },
          'prompt-ids': { type: 'string' },
          'max-new-tokens': { type: 'string', default: '32' },
          repeats: { type: 'string', default: '5' },
          warmup: { type: 'string', default: '1' },
          json: { type: 'boolean', default: false },
        },
      }).values;
    } catch (e) {
      throw new CliError('UsageError', `${e.message}\n${USAGE}`);
    }
    json = a.json;
    let model = a.model ? resolve(a.model) : join(ROOT, 'models', 'lab-target');
    if (!a.model && !existsSync(join(model, 'model.safetensors'))) {
      tempDir = await writeFixtureModel();
      model = tempDir;
      log(`models/lab-target not found: benchmarking a random fixture Llama in ${tempDir}`);
    }
    const hasTokenizer = existsSync(join(model, 'tokenizer.json'));
    const prompt = a['prompt-ids'] !== undefined
      ? a['prompt-ids'].split(/[\s,]+/).filter(Boolean).map((s) => int(s, 'prompt-ids', 0))
      : a.prompt ?? (hasTokenizer ? 'ROMEO:\nBut soft, what light' : [1, 2, 3, 4, 5, 6, 7, 8]);
    const sampling = { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: int(a['max-new-tokens'], 'max-new-tokens', 2) };
    const repeats = int(a.repeats, 'repeats', 1);
    const warmup = int(a.warmup, 'warmup', 0);

    lab = await startLab({ modelDir: model });
    const loaded = await lab.runner('load', lab.modelUrl, tempDir ? 'fixture' : model.split(/[\\/]/).filter(Boolean).pop());
    const { runs, stats } = await lab.runner('bench', { prompt, sampling, warmup, repeats });
    const col = (k) => runs.map((r) => r[k]);
    const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
    const out = {
      model: loaded.model.name,
      parameters: loaded.model.parameters,
      weight_bytes: loaded.model.weightBytes,
      adapter: loaded.adapter,
      variants: stats.variants,
      prompt_tokens: runs[0]?.promptTokens,
      new_tokens: sampling.maxNewTokens,
      repeats,
      warmup,
      decode_tok_s: summary(col('decode_tok_s')),
      ms_per_token_p50: summary(col('ms_per_token_p50')),
      ms_per_token_p95: summary(col('ms_per_token_p95')),
      ttft_ms: summary(col('ttft_ms')),
      gpu_bytes: runs.at(-1)?.gpu_bytes,
    };
    if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else {
      const line = (label, s, d) => `${label.padEnd(18)} ${fmt(s.median, d).padStart(9)}   (${fmt(s.min, d)} .. ${fmt(s.max, d)})`;
      const ad = loaded.adapter;
      console.log(`model ${out.model} (${out.parameters} parameters), ${out.prompt_tokens} prompt + ${sampling.maxNewTokens} new tokens, median of ${repeats} (min .. max)`);
      console.log(`adapter ${[ad.vendor, ad.architecture, ad.description].filter(Boolean).join(' / ')}${ad.isFallback ? ' — fallback (CPU-emulated): timings are not GPU timings' : ''}`);
      console.log(line('decode tok/s', out.decode_tok_s, 2));
      console.log(line('ms/token p50', out.ms_per_token_p50, 3));
      console.log(line('ms/token p95', out.ms_per_token_p95, 3));
      console.log(line('ttft ms', out.ttft_ms, 2));
    }
    await lab.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    process.exit(0);
  } catch (e) {
    await lab?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    exitWithError(e, json);
  }
}

main();
