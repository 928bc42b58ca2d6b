#!/usr/bin/env node
// npm run bench -- [--model <folder>] [--prompt "text" | --prompt-ids 1,2,3] [--max-new-tokens 32]
//                  [--repeats 5] [--warmup 1] [--json]
// npm run bench -- --suite <name> [--model <folder>] [--engine lab|ort-webgpu|ort-wasm] [--repeat N]
//                  [--out <file.json>] [--heldout <file.txt>] [--draft <folder>] [--json]
//
// Without --suite: decode speed of one model on this machine's WebGPU (headless Chromium, the same runner as
// generate.mjs): greedy generation repeated, printing decode tok/s and ms/token as the median (and min..max)
// over the repeats; beside it the weight-reading floor (median ms of one submit of the decode step's GEMVs,
// src/engine/autotune.ts timeLinearsOnly) and decode ms/token ÷ floor (the target: within 1.5×); the
// adapter (and whether it is a fallback adapter), its copy-kernel bandwidth and the roofline fraction.
// Default model: models/lab-target if present, else a small random Llama fixture written to a temp folder.
// --fixture <name>: a random-weight model with the shape of a models/manifest.json "known" model that carries its
// config (e.g. smollm2-135m), written to a temp folder with max_position_embeddings = --max-seq (default 256, so
// the KV cache stays small); no tokenizer, so the prompt is token ids (default 1..8).
// --precision f32,f16,int8,int4 (int4z too; int* at --group-size, default 32): load the model once per precision
// (LabEngine.load packs each linear as it is uploaded) and bench each in the same page; prints each precision's
// figures, then a Markdown table with the load split and the ratios to the first precision. With --json the last
// stdout line is {"rows": [...]}.
//
// With --suite: runs a suite of src/bench/suites.ts (baseline, precision, sparsity, early-exit, speculative) in
// the runner page (src/bench/run-suite.ts with LabEngine and the ORT-web baseline), writes the session file
// (the format the app imports; default test-results/bench/<suite>-<time>.json) and prints the Markdown table.
// --engine (repeatable, or comma-separated) keeps only those rows; --model overrides the suite's model folder;
// --heldout is the quality text (default models/heldout.txt); --draft the draft model for speculative rows with
// draft 'model' (default: the suite's, models/lab-draft for 'speculative'). With --json the last stdout line is
// {"out": <file>, "runs": <count>, "notes": [...]} instead of the table.
// With --load-only: loads the model --repeats times and prints the load time split (fetch, parse, upload, compile).
// A benchmark prints numbers; it never passes or fails on speed.

import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError, ROOT, exitWithError, fmt, knownFixtureOptions, loadModule, log, median, startLab, writeFixtureModel } from './harness.mjs';

const USAGE = `usage: npm run bench -- [--model <folder> | --fixture <known name> [--max-seq 256]] [--precision f32,f16,int8,int4 [--group-size 32]] [--prompt "text" | --prompt-ids 1,2,3] [--max-new-tokens 32] [--repeats 5] [--warmup 1] [--floor-reps 9] [--json]
       npm run bench -- --load-only [--model <folder>] [--repeats 3] [--json]
       npm run bench -- --suite <name> [--model <folder>] [--engine lab|ort-webgpu|ort-wasm] [--repeat N] [--out <file.json>] [--heldout <file.txt>] [--draft <folder>] [--json]`;
const ENGINES = ['lab', 'ort-webgpu', 'ort-wasm'];
const PRECISIONS = ['f32', 'f16', 'int8', 'int4', 'int4z'];

function int(v, name, min) {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new CliError('UsageError', `--${name} must be an integer >= ${min} (got ${v})\n${USAGE}`);
  return x;
}

function parse() {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        model: { type: 'string' },
        prompt: { type: 'string' },
        'prompt-ids': { type: 'string' },
        'max-new-tokens': { type: 'string', default: '32' },
        repeats: { type: 'string' },
        repeat: { type: 'string' },
        warmup: { type: 'string', default: '1' },
        'floor-reps': { type: 'string', default: '9' },
        suite: { type: 'string' },
        engine: { type: 'string', multiple: true },
        out: { type: 'string' },
        heldout: { type: 'string' },
        draft: { type: 'string' },
        json: { type: 'boolean', default: false },
        'load-only': { type: 'boolean', default: false },
        fixture: { type: 'string' },
        'max-seq': { type: 'string' },
        precision: { type: 'string' },
        'group-size': { type: 'string', default: '32' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    throw new CliError('UsageError', `${e.message}\n${USAGE}`);
  }
}

/** --suite mode: run the suite in the page, write the session, print the table. */
async function runSuiteCli(a) {
  const { getSuite } = await loadModule('/src/bench/suites.ts');
  let suite;
  try {
    suite = getSuite(a.suite);
  } catch (e) {
    throw new CliError('UsageError', `${e.message}\n${USAGE}`);
  }
  for (const k of ['prompt', 'prompt-ids']) if (a[k] !== undefined) throw new CliError('UsageError', `--${k} does not apply to --suite (suites list their prompts)`);
  const engines = a.engine?.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  for (const e of engines ?? []) if (!ENGINES.includes(e)) throw new CliError('UsageError', `--engine must be one of ${ENGINES.join(', ')} (got ${e})\n${USAGE}`);
  const repeatArg = a.repeat ?? a.repeats;
  const repeat = repeatArg !== undefined ? int(repeatArg, 'repeat', 1) : undefined;
  const model = resolve(a.model ?? join(ROOT, suite.model));
  if (!existsSync(join(model, 'config.json'))) throw new CliError('ModelLoadError', `${model}: no config.json (a model folder holds config.json, model.safetensors[, tokenizer.json])`);
  // the draft model for speculative rows: --draft, else the suite's (absent ⇒ the engine refuses those rows)
  const draftArg = a.draft ?? (suite.draft ? join(ROOT, suite.draft) : null);
  const draft = draftArg ? resolve(draftArg) : null;
  if (a.draft && !existsSync(join(draft, 'config.json'))) throw new CliError('UsageError', `--draft ${a.draft}: no config.json there`);
  const heldout = resolve(a.heldout ?? join(ROOT, 'models', 'heldout.txt'));
  if (a.heldout && !existsSync(heldout)) throw new CliError('UsageError', `--heldout ${a.heldout}: no such file`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const out = resolve(a.out ?? join(ROOT, 'test-results', 'bench', `${suite.name}-${stamp}.json`));
  const rel = relative(ROOT, model);
  const modelLabel = rel && !rel.startsWith('..') ? rel.split('\\').join('/') : model;

  const hasDraft = draft !== null && existsSync(join(draft, 'config.json'));
  if (draft && !hasDraft) log(`no draft model in ${draft}: speculative rows with draft 'model' will be skipped`);
  const lab = await startLab({ modelDir: model, draftDir: hasDraft ? draft : null, files: existsSync(heldout) ? { '/__heldout.txt': heldout } : {} });
  try {
    const r = await lab.runner('suite', {
      suite: suite.name,
      baseUrl: lab.modelUrl,
      modelLabel,
      draftUrl: lab.draftUrl,
      ...(engines?.length ? { engines } : {}),
      ...(repeat !== undefined ? { repeat } : {}),
      heldoutUrl: existsSync(heldout) ? `${lab.origin}/__heldout.txt` : null,
      generator: 'efficiency-lab 0.1.0 (cli bench --suite)',
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, r.json);
    const runs = JSON.parse(r.json).runs.length;
    log(`wrote ${out} (${runs} runs)`);
    if (a.json) process.stdout.write(`${JSON.stringify({ out, runs, notes: r.notes })}\n`);
    else process.stdout.write(`${r.markdown}\nsession file: ${out}\n`);
  } finally {
    await lab.close();
  }
}

/** --load-only: load the model --repeats times (default 3) and print the load time split per load: fetch (the
 *  HTTP download from the local server; from the second load on the browser revalidates its HTTP cache), parse
 *  (safetensors + tokenizer), upload (GPU buffers) and compile (autotune + pipeline warm-up; the first load measures
 *  and caches the autotune, later loads reuse it and the compiled pipelines). */
async function runLoadOnly(a) {
  const model = resolve(a.model ?? join(ROOT, 'models', 'lab-target'));
  if (!existsSync(join(model, 'config.json'))) throw new CliError('ModelLoadError', `${model}: no config.json`);
  const repeats = int(a.repeats ?? a.repeat ?? '3', 'repeats', 1);
  const lab = await startLab({ modelDir: model });
  try {
    const loads = [];
    for (let i = 0; i < repeats; i++) {
      const r = await lab.runner('load', lab.modelUrl, model.split(/[\\/]/).filter(Boolean).pop());
      loads.push({ ...r.model.loadMs, total: r.model.loadMs.fetch + r.model.loadMs.parse + r.model.loadMs.upload + r.model.loadMs.compile, adapter: r.adapter, name: r.model.name, bytes: r.model.weightBytes });
    }
    const ad = loads[0].adapter;
    const adapter = [ad.vendor, ad.architecture, ad.description].filter(Boolean).join(' / ') + (ad.isFallback ? ' (fallback, CPU-emulated)' : '');
    if (a.json) {
      process.stdout.write(`${JSON.stringify({ model: loads[0].name, weight_bytes: loads[0].bytes, adapter, loads: loads.map(({ adapter: _, ...l }) => l) })}\n`);
      return;
    }
    console.log(`model ${loads[0].name} (${loads[0].bytes} weight bytes), adapter ${adapter}`);
    console.log('| load | fetch ms | parse ms | upload ms | compile ms | total ms |');
    console.log('|---|---:|---:|---:|---:|---:|');
    loads.forEach((l, i) => console.log(`| ${i === 0 ? '1 (cold)' : String(i + 1)} | ${fmt(l.fetch, 1)} | ${fmt(l.parse, 1)} | ${fmt(l.upload, 1)} | ${fmt(l.compile, 1)} | ${fmt(l.total, 1)} |`));
  } finally {
    await lab.close();
  }
}

/** Load the served model (at `quant`, null = f32 as the engine's default), bench greedy generation and time the
 *  weight-reading floor; the figures in the CLI's JSON shape. */
async function benchOne(lab, { name, quant, prompt, sampling, warmup, repeats, floorReps }) {
  const loaded = await lab.runner('load', lab.modelUrl, name, null, quant);
  const { runs, stats } = await lab.runner('bench', { prompt, sampling, warmup, repeats });
  // the weight-reading floor: one submit of the decode step's GEMVs (no attention, norms or sampling)
  const floor = await lab.runner('floor', floorReps);
  const cal = floor.stats.calibration;
  const col = (k) => runs.map((r) => r[k]);
  const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
  const q = loaded.model.settings?.quant;
  return {
    model: loaded.model.name,
    precision: q ? (q.precision.startsWith('int') ? `${q.precision} g${q.groupSize}` : q.precision) : 'f32',
    parameters: loaded.model.parameters,
    weight_bytes: loaded.model.weightBytes,
    load_ms: loaded.model.loadMs,
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
    floor_ms: summary(floor.times),
    floor_reps: floorReps,
    /** decode ms/token (median p50) ÷ floor ms (median): the target is <= 1.5 */
    decode_over_floor: median(col('ms_per_token_p50')) / median(floor.times),
    bytes_per_token: median(col('bytes_per_token')),
    achieved_gbps: summary(col('achieved_gbps')),
    copy_gbps: cal?.copyGbps ?? null,
    dispatch_ms: cal?.dispatchMs ?? null,
    roofline_fraction: summary(col('roofline_fraction')),
    bound: runs.at(-1)?.bound,
    dispatches_per_token: runs.at(-1)?.dispatches_per_token,
  };
}

const adapterLine = (ad) => [ad.vendor, ad.architecture, ad.description].filter(Boolean).join(' / ') + (ad.isFallback ? ' — fallback (CPU-emulated): timings are not GPU timings' : '');

function printOne(out, sampling, repeats, floorReps) {
  const line = (label, s, d) => `${label.padEnd(18)} ${fmt(s.median, d).padStart(9)}   (${fmt(s.min, d)} .. ${fmt(s.max, d)})`;
  const l = out.load_ms;
  console.log(`model ${out.model} (${out.parameters} parameters) at ${out.precision}, ${out.prompt_tokens} prompt + ${sampling.maxNewTokens} new tokens, median of ${repeats} (min .. max)`);
  console.log(`adapter ${adapterLine(out.adapter)}`);
  console.log(`${'load ms'.padEnd(18)} fetch ${fmt(l.fetch, 0)} / parse ${fmt(l.parse, 0)} / upload ${fmt(l.upload, 0)} / compile ${fmt(l.compile, 0)}; ${out.weight_bytes} weight bytes on the GPU`);
  console.log(line('decode tok/s', out.decode_tok_s, 2));
  console.log(line('ms/token p50', out.ms_per_token_p50, 3));
  console.log(line('ms/token p95', out.ms_per_token_p95, 3));
  console.log(line('ttft ms', out.ttft_ms, 2));
  console.log(line('weight floor ms', out.floor_ms, 3) + `   one submit of the decode step's GEMVs (timeLinearsOnly), ${floorReps} reps`);
  console.log(`${'decode / floor'.padEnd(18)} ${fmt(out.decode_over_floor, 2).padStart(9)}×  decode ms/token p50 ÷ weight floor (target <= 1.5×)`);
  console.log(`${'bytes/token'.padEnd(18)} ${fmt(out.bytes_per_token / 1e6, 2).padStart(9)} MB (weights as stored + KV + activations)`);
  console.log(line('achieved GB/s', out.achieved_gbps, 3));
  console.log(`${'copy GB/s'.padEnd(18)} ${fmt(out.copy_gbps, 3).padStart(9)}   the adapter's copy-kernel bandwidth (dispatch cost ${fmt(out.dispatch_ms, 4)} ms, ${out.dispatches_per_token} dispatches/token)`);
  console.log(line('roofline fraction', out.roofline_fraction, 3) + `   bound: ${out.bound}`);
}

/** The per-precision rows as one Markdown table; ratios are to the first row (same run, same page). */
function printTable(rows) {
  const base = rows[0];
  console.log(`\n${base.model}, adapter ${adapterLine(base.adapter)}; ${base.prompt_tokens} prompt + ${base.new_tokens} new tokens, median of ${base.repeats}`);
  console.log(`| precision | fetch ms | parse ms | upload ms | compile ms | weight MB | decode ms/token p50 | tok/s | × ${base.precision} tok/s | MB/token | × ${base.precision} bytes | floor ms | decode/floor | roofline |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const l = r.load_ms;
    console.log(`| ${r.precision} | ${fmt(l.fetch, 0)} | ${fmt(l.parse, 0)} | ${fmt(l.upload, 0)} | ${fmt(l.compile, 0)} | ${fmt(r.weight_bytes / 1e6, 1)} | ${fmt(r.ms_per_token_p50.median, 1)} | ${fmt(r.decode_tok_s.median, 3)} | ${fmt(r.decode_tok_s.median / base.decode_tok_s.median, 2)} | ${fmt(r.bytes_per_token / 1e6, 1)} | ${fmt(r.bytes_per_token / base.bytes_per_token, 2)} | ${fmt(r.floor_ms.median, 1)} | ${fmt(r.decode_over_floor, 2)} | ${fmt(r.roofline_fraction.median, 3)} |`);
  }
}

async function main() {
  let json = process.argv.includes('--json');
  let lab = null;
  let tempDir = null;
  try {
    const a = parse();
    json = a.json;
    if (a.help) {
      console.log(USAGE);
      process.exit(0);
    }
    if (a.suite !== undefined) {
      await runSuiteCli(a);
      process.exit(0);
    }
    for (const k of ['engine', 'out', 'heldout', 'draft']) if (a[k] !== undefined) throw new CliError('UsageError', `--${k} needs --suite\n${USAGE}`);
    if (a['load-only']) for (const k of ['fixture', 'precision']) if (a[k] !== undefined) throw new CliError('UsageError', `--${k} does not apply to --load-only (the plain bench prints the load split)\n${USAGE}`);
    if (a['load-only']) {
      await runLoadOnly(a);
      process.exit(0);
    }
    if (a.fixture !== undefined && a.model !== undefined) throw new CliError('UsageError', `--fixture and --model exclude each other\n${USAGE}`);
    if (a['max-seq'] !== undefined && a.fixture === undefined) throw new CliError('UsageError', `--max-seq needs --fixture\n${USAGE}`);
    const groupSize = int(a['group-size'], 'group-size', 1);
    const precisions = a.precision === undefined ? null : a.precision.split(',').map((p) => p.trim()).filter(Boolean);
    for (const p of precisions ?? []) if (!PRECISIONS.includes(p)) throw new CliError('UsageError', `--precision must list ${PRECISIONS.join(', ')} (got ${p})\n${USAGE}`);
    if (precisions && !precisions.length) throw new CliError('UsageError', `--precision is empty\n${USAGE}`);
    let model = a.model ? resolve(a.model) : join(ROOT, 'models', 'lab-target');
    let label = null;
    if (a.fixture !== undefined) {
      const opts = knownFixtureOptions(a.fixture, { maxSeq: int(a['max-seq'] ?? '256', 'max-seq', 2) });
      const t0 = performance.now();
      tempDir = await writeFixtureModel(opts);
      model = tempDir;
      label = `${opts.repo}-shaped fixture`;
      log(`wrote a random-weight ${opts.repo}-shaped fixture (context ${opts.maxSeq}) to ${tempDir} in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    } else if (!a.model && !existsSync(join(model, 'model.safetensors'))) {
      tempDir = await writeFixtureModel();
      model = tempDir;
      label = 'fixture';
      log(`models/lab-target not found: benchmarking a random fixture Llama in ${tempDir}`);
    }
    const hasTokenizer = existsSync(join(model, 'tokenizer.json'));
    const prompt = a['prompt-ids'] !== undefined
      ? a['prompt-ids'].split(/[\s,]+/).filter(Boolean).map((s) => int(s, 'prompt-ids', 0))
      : a.prompt ?? (hasTokenizer ? 'ROMEO:\nBut soft, what light' : [1, 2, 3, 4, 5, 6, 7, 8]);
    const sampling = { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: int(a['max-new-tokens'], 'max-new-tokens', 2) };
    const repeats = int(a.repeats ?? a.repeat ?? '5', 'repeats', 1);
    const floorReps = int(a['floor-reps'], 'floor-reps', 1);
    const warmup = int(a.warmup, 'warmup', 0);

    lab = await startLab({ modelDir: model });
    const name = label ?? model.split(/[\\/]/).filter(Boolean).pop();
    const rows = [];
    for (const precision of precisions ?? [null]) {
      const quant = precision ? { precision, groupSize, lmHead: null } : null;
      const out = await benchOne(lab, { name, quant, prompt, sampling, warmup, repeats, floorReps });
      rows.push(out);
      if (!json) printOne(out, sampling, repeats, floorReps);
    }
    if (json) process.stdout.write(`${JSON.stringify(precisions ? { rows } : rows[0])}\n`);
    else if (precisions) printTable(rows);
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
