// Shared launch/serve logic for the headless CLIs (generate.mjs, bench.mjs):
//   1. Vite in-process (createServer, 127.0.0.1, a free port) with the repo's vite.config.ts, plus a middleware
//      that serves one model folder under /__model/;
//   2. Chromium via Playwright with WebGPU on (tests/browser.ts decides the executable and flags: LAB_CHROMIUM,
//      else /usr/bin/chromium, else Playwright's own browser);
//   3. tools/cli/runner.html, which runs the real LabEngine in the page and answers window.labRunner calls.
// Progress goes to stderr; results come back as plain objects.

import { createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MODEL_PREFIX = '/__model/';
/** The CLIs' own Vite dependency cache: sharing one with the dev/e2e server makes each re-optimise the other's. */
export const CLI_CACHE = join(ROOT, 'node_modules/.vite-cli');
export const DRAFT_PREFIX = '/__draft/';

const TYPES = { '.json': 'application/json', '.safetensors': 'application/octet-stream', '.txt': 'text/plain; charset=utf-8' };

/** A Vite plugin serving each of `folders` (URL prefix → folder) read-only (404 for anything missing, never
 *  index.html), and each of `files` (URL path → file) at its path. */
function serveFolders(folders, files = {}) {
  const send = (res, file) => {
    const ext = file.slice(file.lastIndexOf('.'));
    res.setHeader('content-type', TYPES[ext] ?? 'application/octet-stream');
    res.setHeader('content-length', String(statSync(file).size));
    res.setHeader('cache-control', 'no-store');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'lab-cli-model-folder',
    configureServer(server) {
      for (const [path, file] of Object.entries(files)) {
        server.middlewares.use(path, (req, res, next) => {
          if ((req.url ?? '/').split('?')[0] !== '/') return next();
          if (!existsSync(file)) {
            res.statusCode = 404;
            res.end(`not found: ${file}`);
            return;
          }
          send(res, resolve(file));
        });
      }
      for (const [prefix, dir] of Object.entries(folders)) {
        const base = resolve(dir);
        server.middlewares.use(prefix, (req, res) => {
          const rel = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
          const file = resolve(base, rel);
          if ((file !== base && !file.startsWith(base + sep)) || !existsSync(file) || !statSync(file).isFile()) {
            res.statusCode = 404;
            res.setHeader('content-type', 'text/plain');
            res.end(`not found: ${rel}`);
            return;
          }
          send(res, file);
        });
      }
    },
  };
}

/**
 * What `--model <path>` names: an HF folder (config.json + safetensors), a folder holding a llama2.c checkpoint
 * (*.bin + tokenizer.bin), or a .gguf file (or a folder holding one). Returns the folder to serve, the names of
 * the files in it (the runner detects the format from them) and a display name.
 */
export function modelPath(path) {
  if (!existsSync(path)) throw new CliError('ModelLoadError', `${path}: no such file or folder`);
  if (statSync(path).isFile()) {
    const dir = dirname(path);
    return { dir, files: [basename(path)], name: basename(path).replace(/\.gguf$/i, '') };
  }
  const files = readdirSync(path).filter((f) => statSync(join(path, f)).isFile());
  return { dir: path, files, name: path.split(/[\\/]/).filter(Boolean).pop() };
}

export function log(msg) {
  process.stderr.write(`${msg}\n`);
}

/** An error the CLI reports as "name: message" and exit code 1. */
export class CliError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

/**
 * Start Vite + Chromium and open the runner page. `modelDir` may be null (nothing served under /__model/);
 * `draftDir` (a draft model for speculative decoding) is served under /__draft/; `files` maps extra URL paths
 * to files (e.g. { '/__heldout.txt': 'models/heldout.txt' }).
 * Returns { page, server, origin, runner: (method, ...args) => Promise, close, modelUrl, draftUrl }.
 */
export async function startLab({ modelDir = null, draftDir = null, files = {}, onProgress = (m) => log(m) } = {}) {
  if (modelDir && !(existsSync(modelDir) && statSync(modelDir).isDirectory()))
    throw new CliError('ModelLoadError', `${modelDir}: no such folder`);
  const { createServer } = await import('vite');
  const server = await createServer({
    cacheDir: CLI_CACHE,
    root: ROOT,
    configFile: join(ROOT, 'vite.config.ts'),
    logLevel: 'error',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null, open: false },
    plugins: [serveFolders({ ...(modelDir ? { [MODEL_PREFIX]: modelDir } : {}), ...(draftDir ? { [DRAFT_PREFIX]: draftDir } : {}) }, files)],
  });
  let browser = null;
  const close = async () => {
    await browser?.close().catch(() => {});
    await server.close().catch(() => {});
  };
  try {
    await server.listen();
    const addr = server.httpServer.address();
    const origin = `http://127.0.0.1:${addr.port}`;
    const { chromiumLaunch } = await server.ssrLoadModule('/tests/browser.ts');
    const { chromium } = await import('@playwright/test');
    const launch = chromiumLaunch();
    onProgress(`launching ${launch.executablePath ?? "Playwright's Chromium"} (WebGPU on)`);
    browser = await chromium.launch({ headless: true, ...launch });
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`[page] ${e.message}`));
    page.on('console', (m) => {
      // A 404 is how an optional file (tokenizer.json) is found missing; the engine names required ones itself.
      if (/Failed to load resource: .* 404/.test(m.text())) return;
      if (m.type() === 'error' || m.type() === 'warning') log(`[page ${m.type()}] ${m.text()}`);
    });
    const loadErrors = [];
    page.on('response', (r) => {
      if (r.status() >= 500) loadErrors.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    await page.exposeFunction('labProgress', (msg) => onProgress(String(msg)));
    await page.goto(`${origin}/tools/cli/runner.html`);
    for (let t0 = Date.now(); !(await page.evaluate(() => window.labRunner?.ready === true)); ) {
      if (loadErrors.length) throw new CliError('RunnerLoadError', `the runner page failed to load: ${loadErrors.join('; ')} (see the [page] lines above)`);
      if (Date.now() - t0 > 120_000) throw new CliError('RunnerLoadError', 'the runner page did not start within 120 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    /** Call window.labRunner[method](...args) in the page; a typed engine error becomes a CliError. */
    const runner = async (method, ...args) => {
      const r = await page.evaluate(([m, a]) => window.labRunner[m](...a), [method, args]);
      if (r && r.error) throw new CliError(r.error.name, r.error.message);
      return r;
    };
    return { page, server, origin, runner, close, modelUrl: `${origin}${MODEL_PREFIX}`, draftUrl: draftDir ? `${origin}${DRAFT_PREFIX}` : null };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Load a TypeScript module of the repo in Node (Vite's SSR loader), e.g. loadModule('/src/bench/suites.ts'). */
export async function loadModule(path) {
  const { createServer } = await import('vite');
  const server = await createServer({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), cacheDir: CLI_CACHE, logLevel: 'error', server: { middlewareMode: true, hmr: false, ws: false, watch: null } });
  try {
    return await server.ssrLoadModule(path);
  } finally {
    await server.close();
  }
}

/**
 * makeLlamaFixture options for a random-weight model with the SHAPE of a known model: `name` is a repo id of
 * models/manifest.json's `known` table or its last part, case-insensitive ('smollm2-135m'); the entry's `config`
 * (config.json as the Hub publishes it) gives the shape. `maxSeq` replaces max_position_embeddings (a bench keeps
 * the context, hence the KV cache, small). Llama and Qwen2 configs only; CliError naming the known names otherwise.
 */
export function knownFixtureOptions(name, { maxSeq = 256, seed = 1, manifest = null } = {}) {
  const m = manifest ?? JSON.parse(readFileSync(join(ROOT, 'models', 'manifest.json'), 'utf8'));
  const known = Array.isArray(m.known) ? m.known : [];
  const withConfig = known.filter((k) => k.config && typeof k.config === 'object');
  const key = String(name).toLowerCase();
  const entry = known.find((k) => k.repo.toLowerCase() === key || k.repo.split('/').pop().toLowerCase() === key);
  const names = withConfig.map((k) => k.repo.split('/').pop().toLowerCase()).join(', ') || 'none';
  if (!entry) throw new CliError('UsageError', `--fixture ${name}: not in models/manifest.json "known" (fixtures can be made for: ${names})`);
  const c = entry.config;
  if (!c) throw new CliError('UsageError', `--fixture ${name}: models/manifest.json "known" entry ${entry.repo} has no "config" (fixtures can be made for: ${names})`);
  const type = c.model_type;
  if (type !== 'llama' && type !== 'qwen2') throw new CliError('UsageError', `--fixture ${name}: model_type ${type} of ${entry.repo}: only llama and qwen2 fixtures can be written`);
  const need = (field) => {
    const v = c[field];
    if (!Number.isInteger(v) || v < 1) throw new CliError('ConfigError', `models/manifest.json known ${entry.repo} config.${field}: expected a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  if (c.rope_scaling) throw new CliError('UsageError', `--fixture ${name}: ${entry.repo} uses rope_scaling, which the fixture writer does not reproduce`);
  if (!Number.isInteger(maxSeq) || maxSeq < 2) throw new CliError('UsageError', `--max-seq must be an integer >= 2 (got ${maxSeq})`);
  return {
    seed,
    hiddenSize: need('hidden_size'),
    intermediateSize: need('intermediate_size'),
    nLayers: need('num_hidden_layers'),
    nHeads: need('num_attention_heads'),
    nKvHeads: c.num_key_value_heads === undefined ? need('num_attention_heads') : need('num_key_value_heads'),
    vocabSize: need('vocab_size'),
    maxSeq: Math.min(maxSeq, need('max_position_embeddings')),
    tie: c.tie_word_embeddings === true,
    qwen2: type === 'qwen2',
    ropeTheta: typeof c.rope_theta === 'number' ? c.rope_theta : 10000,
    repo: entry.repo,
  };
}

/** Write a small random Llama fixture (tests/fixtures/llama.ts, loaded through Vite) into a temp folder. */
export async function writeFixtureModel(opts = {}) {
  const { createServer } = await import('vite');
  const server = await createServer({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), cacheDir: CLI_CACHE, logLevel: 'error', server: { middlewareMode: true, hmr: false, watch: null } });
  try {
    const { makeLlamaFixture } = await server.ssrLoadModule('/tests/fixtures/llama.ts');
    const { repo: _, ...fixture } = opts; // knownFixtureOptions' repo is a label, not a fixture option
    const { configJson, safetensors } = makeLlamaFixture({ seed: 1, vocabSize: 1024, maxSeq: 512, ...fixture });
    const dir = mkdtempSync(join(tmpdir(), 'lab-fixture-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson, null, 2));
    writeFileSync(join(dir, 'model.safetensors'), safetensors);
    return dir;
  } finally {
    await server.close();
  }
}

/** Print "name: message" to stderr (and, with --json, {"error": ...} as the last stdout line); exit 1. */
export function exitWithError(e, json) {
  const name = e && typeof e === 'object' && typeof e.name === 'string' ? e.name : 'Error';
  const message = e && typeof e === 'object' && 'message' in e ? String(e.message) : String(e);
  log(`${name}: ${message}`);
  if (json) process.stdout.write(`${JSON.stringify({ error: { name, message } })}\n`);
  process.exit(1);
}

/** Metrics in the CLI's JSON shape (snake_case, as the bench sessions store them). */
export function metricsJson(m) {
  return {
    prompt_tokens: m.promptTokens,
    generated_tokens: m.generatedTokens,
    ttft_ms: m.ttft_ms,
    prefill_tok_s: m.prefill_tok_s,
    decode_tok_s: m.decode_tok_s,
    ms_per_token_p50: m.ms_per_token_p50,
    ms_per_token_p95: m.ms_per_token_p95,
    token_ms: m.tokenMs,
    gpu_bytes: m.gpu_bytes,
    bytes_per_token: m.bytes_per_token,
    achieved_gbps: m.achieved_gbps,
    copy_gbps: m.copy_gbps,
    roofline_fraction: m.roofline_fraction,
    bound: m.bound,
    dispatches_per_token: m.dispatches_per_token,
    stopped_by: m.stoppedBy,
    ...(m.kernelNs ? { kernel_ns: m.kernelNs } : {}),
  };
}

export function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
