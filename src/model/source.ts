// Reads a model folder — on the Hugging Face Hub, served over HTTP, or picked by the user — into host memory:
//   config.json (required)
//   model.safetensors, or model.safetensors.index.json + the shards it names (src/model/sharded.ts)
//   tokenizer.json, tokenizer_config.json (optional: without a tokenizer the model runs from token ids).
// config.json is read and validated first, so an unsupported model fails before its weights are downloaded.
// Every failure names the file. Picked files holding a .gguf file or a llama2.c checkpoint (*.bin + tokenizer.bin)
// go to those loaders instead (src/model/detect.ts decides from the names). Hub downloads go through the Cache API (src/model/hub.ts); Hub and URL downloads
// report progress and stop on the AbortSignal with a LoadCancelledError.

import type { LoadProgress, ModelSource } from '../engine/types';
import { parseConfig, type ModelConfig } from './config';
import { HubError, LoadCancelledError, ModelLoadError, TokenizerError } from './errors';
import { blobSource, fetchBlob, type FetchOptions, fromCached, hubFileUrl, HUB_ENDPOINT, hubUnauthorized, openHubCache, ProgressTracker, receive, requestFile, validateRepoId, validateRevision } from './hub';
import { HubFreshness } from './hub-cache';
import { bytesSource, fileSource, readSafetensors, type ByteSource, type SafetensorsFile } from './safetensors';
import { openSharded, parseShardIndex, SHARD_INDEX } from './sharded';
import { detectFormat, pickLlama2cFiles } from './detect';
import { loadGguf } from './gguf-model';
import { loadLlama2c } from './llama2c';
import { LabTokenizer, type TextTokenizer } from './tokenizer';
import { loadWeights, type HostWeights } from './weights';
import type { Packed } from '../techniques/quantize';

export interface LoadedModel {
  name: string;
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  weights: HostWeights;
  tokenizer: TextTokenizer | null;
  /** Size of the weights in bytes (model.safetensors, or all shards together). */
  weightFileBytes: number;
  /** Milliseconds: getting the bytes (download, cache read, or for picked files the small files), then parsing
   *  them into weights and tokenizer. Tensors are read from a picked file or a cached Blob one at a time while
   *  parsing (no second copy of the file), so that read time counts as parse. `fetchFrom`: where the bytes came from;
   *  `note`: the Hub cache's word on freshness ("offline: cached copy (…)", "updated: main is now at …"). */
  timings: { fetch: number; parse: number; fetchFrom: 'network' | 'cache' | 'mixed' | 'local'; note?: string };
  /** Linears the file stores quantized (GGUF Q8_0/Q4_0), in their exact packed form, keyed by LinearWeight name
   *  (model.layers.N.self_attn.q_proj.weight, …, 'lm_head.weight' or 'lm_head (tied)'); `weights` holds their
   *  dequantized values. The engine uploads these as they are (precision 'file', src/techniques/quant-formats.ts). */
  prepacked?: Map<string, Packed>;
}

export interface LoadOptions {
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
}

const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const TOKENIZER = 'tokenizer.json';
const TOKENIZER_CONFIG = 'tokenizer_config.json';

/** A model folder: small files as bytes, any file as a ByteSource (null when absent and not required). */
interface Folder {
  name: string;
  bytes(file: string, required: boolean): Promise<Uint8Array | null>;
  source(file: string, required: boolean): Promise<ByteSource | null>;
  /** Where the bytes came from, once everything was read. */
  from(): LoadedModel['timings']['fetchFrom'];
  /** A word on how current a cached copy is (the Hub), or null. */
  note?(): string | null;
}

export async function loadModel(source: ModelSource, opts: LoadOptions = {}): Promise<LoadedModel> {
  if (source.kind === 'files') {
    const other = await loadOtherFormat(source.files, source.name);
    if (other) return other;
  }
  const t0 = performance.now();
  const progress = new ProgressTracker(opts.onProgress);
  const folder =
    source.kind === 'url' ? urlFolder(source.baseUrl, source.name, opts, progress)
    : source.kind === 'hub' ? await hubFolder(source, opts, progress)
    : filesFolder(source.files, source.name);
  const rawConfig = parseJson((await folder.bytes(CONFIG, true))!, (m) => new ModelLoadError(m, CONFIG)) as Record<string, unknown>;
  const config = parseConfig(rawConfig, CONFIG);
  const parts = [openWeights(folder), folder.bytes(TOKENIZER, false), folder.bytes(TOKENIZER_CONFIG, false)] as const;
  const [weights, tokBytes, tokCfgBytes] = await Promise.all(parts).catch(async (e: unknown) => {
    if (!(e instanceof LoadCancelledError)) throw e;
    // cancelled: every part stops on the signal; name the first one in file order (the weights, when they were still
    // downloading), not whichever happened to settle first
    const settled = await Promise.allSettled(parts);
    throw settled.map((r) => (r.status === 'rejected' ? (r.reason as unknown) : null)).find((r) => r instanceof LoadCancelledError) ?? e;
  });
  const t1 = performance.now();
  if (opts.signal?.aborted) throw new LoadCancelledError('loading was cancelled', folder.name);
  progress.phase('parse', weights.src.name);

  const hostWeights = await loadWeights(config, weights.st, weights.src);
  let tokenizer: TextTokenizer | null = null;
  if (tokBytes) {
    const tj = parseJson(tokBytes, (m) => new TokenizerError(m, TOKENIZER));
    const tc = tokCfgBytes ? parseJson(tokCfgBytes, (m) => new TokenizerError(m, TOKENIZER_CONFIG)) : null;
    tokenizer = LabTokenizer.fromJson(tj, tc, TOKENIZER);
    if (tokenizer.vocabSize > config.vocabSize)
      throw new TokenizerError(`produces ids up to ${tokenizer.vocabSize - 1} but config.json has vocab_size ${config.vocabSize}`, TOKENIZER);
  }
  const note = folder.note?.() ?? undefined;
  return {
    name: folder.name, config, rawConfig, weights: hostWeights, tokenizer, weightFileBytes: weights.src.size,
    timings: { fetch: t1 - t0, parse: performance.now() - t1, fetchFrom: folder.from(), ...(note ? { note } : {}) },
  };
}

/** model.safetensors, else model.safetensors.index.json and its shards (fetched in parallel), headers parsed. */
async function openWeights(folder: Folder): Promise<{ src: ByteSource; st: SafetensorsFile }> {
  const single = await folder.source(WEIGHTS, false);
  if (single) return { src: single, st: await readSafetensors(single) };
  const indexBytes = await folder.bytes(SHARD_INDEX, false);
  if (!indexBytes) throw new ModelLoadError(`missing: the folder has neither ${WEIGHTS} nor ${SHARD_INDEX}`, WEIGHTS);
  const index = parseShardIndex(parseJson(indexBytes, (m) => new ModelLoadError(m, SHARD_INDEX)));
  const shards = await Promise.all(index.shards.map(async (s) => (await folder.source(s, true))!));
  return openSharded(index, shards);
}

function parseJson(bytes: Uint8Array, err: (msg: string) => Error): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw err(`is not valid JSON (${(e as Error).message})`);
  }
}

// ---- 'hub': a Hugging Face Hub repository, through the Cache API --------------------------------------------------
// Whether a cached file is used as it is, re-checked or downloaded again: src/model/hub-cache.ts (HubFreshness).

async function hubFolder(s: Extract<ModelSource, { kind: 'hub' }>, opts: LoadOptions, progress: ProgressTracker): Promise<Folder> {
  const repo = validateRepoId(s.repo);
  const revision = validateRevision(s.revision?.trim() || 'main');
  const endpoint = s.endpoint?.trim() || HUB_ENDPOINT;
  const cache = await openHubCache();
  const token = s.token?.trim();
  const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
  const unauthorized = hubUnauthorized(repo, !!token);
  const fresh = new HubFreshness(revision, s.refresh, cache);
  await fresh.check(hubFileUrl(endpoint, repo, revision, CONFIG), headers, opts.signal);
  let hits = 0;
  let misses = 0;
  const blob = async (file: string, required: boolean) => {
    const url = hubFileUrl(endpoint, repo, revision, file);
    const o: FetchOptions = { required, cache, headers, signal: opts.signal, progress, unauthorized, stamp: (res) => fresh.stampFor(res) };
    if (opts.signal?.aborted) throw new LoadCancelledError('loading was cancelled', file);
    const hit = await cache?.match(url);
    let res: Response | null = null;
    if (hit) {
      const verdict = fresh.verdict(hit);
      let use = verdict === 'use';
      if (verdict === 'revalidate') {
        const head = fresh.known(url); // config.json: the check's HEAD already answered
        try {
          res = head ?? (await requestFile(url, file, o));
          use = fresh.unchanged(hit, res);
        } catch (e) {
          if (!(e instanceof HubError && e.reason === 'network')) throw e;
          fresh.offline(e.message);
          use = true;
        }
        if (head) res = null;
        if (use) {
          void res?.body?.cancel();
          res = null;
          await fresh.restamp(url, hit);
        }
      }
      const got = use ? await fromCached(hit, file, o) : undefined;
      if (got !== undefined) {
        hits++;
        return got;
      }
    }
    misses++;
    return receive(res ?? (await requestFile(url, file, o)), url, file, o);
  };
  return {
    name: s.name ?? (revision === 'main' ? repo : `${repo}@${revision}`),
    ...blobReaders(blob),
    from: () => (misses === 0 ? 'cache' : hits === 0 ? 'network' : 'mixed'),
    note: () => fresh.note,
  };
}

/** A Folder's two readers over a function that fetches (or finds in the cache) one file as a Blob or bytes. */
function blobReaders(blob: (file: string, required: boolean) => Promise<Blob | Uint8Array | null>): Pick<Folder, 'bytes' | 'source'> {
  return {
    async bytes(file, required) {
      const b = await blob(file, required);
      return b === null ? null : b instanceof Uint8Array ? b : new Uint8Array(await b.arrayBuffer());
    },
    async source(file, required) {
      const b = await blob(file, required);
      return b === null ? null : b instanceof Uint8Array ? bytesSource(file, b) : blobSource(file, b);
    },
  };
}

// ---- 'url': a served folder ------------------------------------------------------------------------------------

function urlFolder(baseUrl: string, name: string | undefined, opts: LoadOptions, progress: ProgressTracker): Folder {
  const base = baseUrl.replace(/\/+$/, '');
  const blob = (file: string, required: boolean) => fetchBlob(`${base}/${file}`, file, { required, cache: null, signal: opts.signal, progress });
  return {
    name: name ?? (base.split('/').filter(Boolean).pop() || 'model'),
    ...blobReaders(blob),
    from: () => 'network',
  };
}

/** Picked files holding a GGUF file or a llama2.c checkpoint (src/model/detect.ts): that loader; else null (HF). */
async function loadOtherFormat(files: File[], name?: string): Promise<LoadedModel | null> {
  const path = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const names = files.map(path);
  const format = detectFormat(names);
  const byPath = (p: string) => files[names.indexOf(p)]!;
  if (format === 'gguf') {
    const ggufs = files.filter((f) => f.name.toLowerCase().endsWith('.gguf'));
    if (ggufs.length > 1) throw new ModelLoadError(`several .gguf files (${ggufs.map(path).join(', ')}); pick one`, ggufs[0]!.name);
    return loadGguf(fileSource(ggufs[0]!), name ?? ggufs[0]!.name.replace(/\.gguf$/i, ''));
  }
  if (format === 'llama2c') {
    const pick = pickLlama2cFiles(names);
    const ckpt = byPath(pick.checkpoint);
    const tok = pick.tokenizer ? new Uint8Array(await byPath(pick.tokenizer).arrayBuffer()) : null;
    return loadLlama2c(fileSource(ckpt), tok, name ?? ckpt.name.replace(/\.bin$/i, ''));
  }
  return null;
}

// ---- 'files': the user's picks (a folder via webkitdirectory or drag and drop, or loose files) -------------------

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
      const what = file === CONFIG ? `pick a folder with ${CONFIG} and ${WEIGHTS} (or ${SHARD_INDEX} and its shards)` : `the folder lacks it${byName.has(SHARD_INDEX) ? ` (${SHARD_INDEX} lists it)` : ''}`;
      throw new ModelLoadError(`missing: ${what}`, file);
    }
    return found[0] ?? null;
  };
  // fail on missing weights before anything is read
  if (!pick(WEIGHTS, false) && !pick(SHARD_INDEX, false))
    throw new ModelLoadError(`missing: pick a folder with ${CONFIG} and ${WEIGHTS} (or ${SHARD_INDEX} and its shards)`, WEIGHTS);
  const config = pick(CONFIG, true)!;
  return {
    name: name ?? (path(config).split('/').slice(0, -1).pop() || 'model'),
    async bytes(file, required) {
      const f = pick(file, required);
      return f ? new Uint8Array(await f.arrayBuffer()) : null;
    },
    async source(file, required) {
      const f = pick(file, required);
      return f ? fileSource(f) : null;
    },
    from: () => 'local',
  };
}
