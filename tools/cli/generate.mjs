#!/usr/bin/env node
// npm run generate -- --model <folder | file.gguf> (--prompt "text" | --prompt-ids 1,2,3) --max-new-tokens N
//                     [--temperature 0] [--top-k K] [--top-p P] [--seed S] [--profile] [--json]
// Runs the real engine on WebGPU in headless Chromium (see harness.mjs). Progress goes to stderr. With --json the
// LAST stdout line is one JSON object: model, prompt_ids, output_ids, text, adapter, metrics {ttft_ms,
// prefill_tok_s, decode_tok_s, ms_per_token_p50, ms_per_token_p95, gpu_bytes, ...}, variants, load_ms.
// Without --json: the text (or the ids when the model has no tokenizer) and a short metrics summary.
// Errors: "Name: message" on stderr (and {"error": {...}} with --json), exit code 1.

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError, exitWithError, fmt, log, metricsJson, modelPath, startLab } from './harness.mjs';

const USAGE = `usage: npm run generate -- --model <folder | file.gguf> (--prompt "text" | --prompt-ids 1,2,3) --max-new-tokens N
       [--temperature 0] [--top-k 0] [--top-p 1] [--seed 1] [--profile] [--json]`;

function num(v, name, { int = false, min = -Infinity, max = Infinity } = {}) {
  const x = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min || x > max)
    throw new CliError('UsageError', `--${name} must be ${int ? 'an integer' : 'a number'} in [${min}, ${max}] (got ${v})\n${USAGE}`);
  return x;
}

function parse(argv) {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        prompt: { type: 'string' },
        'prompt-ids': { type: 'string' },
        'max-new-tokens': { type: 'string', default: '32' },
        temperature: { type: 'string', default: '0' },
        'top-k': { type: 'string', default: '0' },
        'top-p': { type: 'string', default: '1' },
        seed: { type: 'string', default: '1' },
        profile: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    throw new CliError('UsageError', `${e.message}\n${USAGE}`);
  }
  if (a.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!a.model) throw new CliError('UsageError', `--model is required\n${USAGE}`);
  if ((a.prompt === undefined) === (a['prompt-ids'] === undefined)) throw new CliError('UsageError', `give exactly one of --prompt and --prompt-ids\n${USAGE}`);
  let prompt = a.prompt;
  if (a['prompt-ids'] !== undefined) {
    prompt = a['prompt-ids'].split(/[\s,]+/).filter(Boolean).map((s) => num(s, 'prompt-ids', { int: true, min: 0 }));
    if (prompt.length === 0) throw new CliError('UsageError', '--prompt-ids is empty');
  }
  return {
    json: a.json,
    model: resolve(a.model),
    req: {
      prompt,
      profile: a.profile,
      sampling: {
        maxNewTokens: num(a['max-new-tokens'], 'max-new-tokens', { int: true, min: 1 }),
        temperature: num(a.temperature, 'temperature', { min: 0 }),
        topK: num(a['top-k'], 'top-k', { int: true, min: 0 }),
        topP: num(a['top-p'], 'top-p', { min: 0, max: 1 }),
        seed: num(a.seed, 'seed', { int: true, min: 0 }),
      },
    },
  };
}

async function main() {
  let json = process.argv.includes('--json');
  let lab = null;
  try {
    const opts = parse(process.argv.slice(2));
    json = opts.json;
    const { dir, files, name } = modelPath(opts.model);
    lab = await startLab({ modelDir: dir });
    const loaded = await lab.runner('load', lab.modelUrl, name, files);
    const { result, stats } = await lab.runner('generate', opts.req);
    const m = result.metrics;
    const out = {
      model: loaded.model.name,
      parameters: loaded.model.parameters,
      prompt_ids: result.promptIds,
      output_ids: result.outputIds,
      ...(loaded.model.hasTokenizer ? { text: result.text } : {}),
      sampling: opts.req.sampling,
      adapter: loaded.adapter,
      metrics: metricsJson(m),
      variants: stats.variants,
      load_ms: loaded.model.loadMs,
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
      process.stdout.write(loaded.model.hasTokenizer ? `${result.text}\n` : `${result.outputIds.join(' ')}\n`);
      log(`\n${m.generatedTokens} tokens (stopped by ${m.stoppedBy}) · ttft ${fmt(m.ttft_ms, 1)} ms · prefill ${fmt(m.prefill_tok_s, 1)} tok/s · ` +
        `decode ${fmt(m.decode_tok_s, 1)} tok/s · ms/token p50 ${fmt(m.ms_per_token_p50)} p95 ${fmt(m.ms_per_token_p95)}` +
        `${loaded.adapter.isFallback ? ' · fallback adapter: timings are not GPU timings' : ''}`);
    }
    await lab.close();
    process.exit(0);
  } catch (e) {
    await lab?.close();
    exitWithError(e, json);
  }
}

main();
