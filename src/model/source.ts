// Reads a model folder — served over HTTP or picked by the user — into host memory:
//   config.json (required)  model.safetensors (required)  tokenizer.json, tokenizer_config.json (optional:
//   without a tokenizer the model runs from token ids). config.json is read and validated first, so an
//   unsupported model fails before its weights are downloaded. Every failure names the file.

import type { ModelSource } from '../engine/types';
import { parseConfig, type ModelConfig } from './config';
import { ModelLoadError, TokenizerError } from './errors';
import { bytesSource, fileSource, readSafetensors, type ByteSource } from './safetensors';
import { LabTokenizer, type TextTokenizer } from './tokenizer';
import { loadWeights, type HostWeights } from './weights';

export interface LoadedModel {
  name: string;
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  weights: HostWeights;
  tokenizer: TextTokenizer | null;
  /** Size of model.safetensors in bytes. */
  weightFileBytes: number;
  /** Milliseconds: getting the bytes, then parsing them into weights and tokenizer. A picked file's tensors are
   *  read from disk one at a time while parsing (no second copy of the file), so that disk time counts as parse. */
  timings: { fetch: number; parse: number };
}

const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const TOKENIZER = 'tokenizer.json';
const TOKENIZER_CONFIG = 'tokenizer_config.json';

/** A model folder: small files as bytes (null when an optional one is absent), the weights as a ByteSource. */
interface Folder {
  name: string;
  bytes(file: string, required: boolean): Promise<Uint8Array | null>;
  weights(): Promise<ByteSource>;
}

export async function loadModel(source: ModelSource): Promise<LoadedModel> {
  const t0 = performance.now();
  const folder = source.kind === 'url' ? urlFolder(source.baseUrl, source.name) : filesFolder(source.files, source.name);
  const rawConfig = parseJson((await folder.bytes(CONFIG, true))!, (m) => new ModelLoadError(m, CONFIG)) as Record<string, unknown>;
  const config = parseConfig(rawConfig, CONFIG);
  const [weightsSrc, tokBytes, tokCfgBytes] = await Promise.all([folder.weights(), folder.bytes(TOKENIZER, false), folder.bytes(TOKENIZER_CONFIG, false)]);
  const t1 = performance.now();

  const st = await readSafetensors(weightsSrc);
  const weights = await loadWeights(config, st, weightsSrc);
  let tokenizer: TextTokenizer | null = null;
  if (tokBytes) {
    const tj = parseJson(tokBytes, (m) => new TokenizerError(m, TOKENIZER));
    const tc = tokCfgBytes ? parseJson(tokCfgBytes, (m) => new TokenizerError(m, TOKENIZER_CONFIG)) : null;
    tokenizer = LabTokenizer.fromJson(tj, tc, TOKENIZER);
    if (tokenizer.vocabSize > config.vocabSize)
      throw new TokenizerError(`produces ids up to ${tokenizer.vocabSize - 1} but config.json has vocab_size ${config.vocabSize}`, TOKENIZER);
  }
  return {
    name: folder.name, config, rawConfig, weights, tokenizer, weightFileBytes: weightsSrc.size,
    timings: { fetch: t1 - t0, parse: performance.now() - t1 },
  };
}

function parseJson(bytes: Uint8Array, err: (msg: string) => Error): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw err(`is not valid JSON (${(e as Error).message})`);
  }
}

// ---- 'url': a served folder ------------------------------------------------------------------------------------

function urlFolder(baseUrl: string, name?: string): Folder {
  const base = baseUrl.replace(/\/+$/, '');
  const bytes = (file: string, required: boolean) => fetchFile(`${base}/${file}`, file, required);
  return {
    name: name ?? (base.split('/').filter(Boolean).pop() || 'model'),
    bytes,
    weights: async () => bytesSource(WEIGHTS, (await bytes(WEIGHTS, true))!),
  };
}

/** GET url. A 404 (or a dev server's HTML fallback page: Vite answers a missing file with index.html) is null
 *  for an optional file and a ModelLoadError for a required one; other HTTP errors always name file and status. */
async function fetchFile(url: string, file: string, required: boolean): Promise<Uint8Array | null> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelLoadError(`fetching ${url} failed: ${(e as Error).message}`, file);
  }
  const html = (res.headers.get('content-type') ?? '').startsWith('text/html');
  if (res.status === 404 || (res.ok && html)) {
    if (!required) return null;
    throw new ModelLoadError(`not found at ${url} (HTTP ${res.status}${html ? ', an HTML page' : ''})`, file);
  }
  if (!res.ok) throw new ModelLoadError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} fetching ${url}`, file);
  return new Uint8Array(await res.arrayBuffer());
}

// ---- 'files': the user's picks (a folder via webkitdirectory, or loose files) ------------------------------------

function filesFolder(files: File[], name?: string): Folder {
  const path = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const byName = new Map<string, File[]>();
  for (const f of files) {
    const base = path(f).split('/').pop()!;
    byName.set(base, [...(byName.get(base) ?? []), f]);
  }
  const pick = (file: string, required: boolean): File | null => {
    const found = byName.get(file) ?? [];
    if (found.length > 1) throw new ModelLoadError(`several files are named ${file} (${found.map(path).join(', ')}); pick one model folder`, file);
    if (found.length === 0 && required) {
      const sharded = file === WEIGHTS && byName.has('model.safetensors.index.json') ? ' (sharded checkpoints are not supported yet)' : '';
      throw new ModelLoadError(`missing: pick a folder with ${CONFIG} and ${WEIGHTS}${sharded}`, file);
    }
    return found[0] ?? null;
  };
  pick(WEIGHTS, true); // fail on a missing weights file before anything is read
  const config = pick(CONFIG, true)!;
  return {
    name: name ?? (path(config).split('/').slice(0, -1).pop() || 'model'),
    async bytes(file, required) {
      const f = pick(file, required);
      return f ? new Uint8Array(await f.arrayBuffer()) : null;
    },
    weights: async () => fileSource(pick(WEIGHTS, true)!),
  };
}
