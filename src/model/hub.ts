// Hugging Face Hub downloads: a repository id (+ revision) → the model folder's files, through the Cache API.
//   URL:    {endpoint}/{owner}/{name}/resolve/{revision}/{file}   endpoint default https://huggingface.co
//           (revision URL-encoded, e.g. refs%2Fpr%2F1; the Hub answers LFS files with a redirect to its CDN)
//   cache:  caches.open('efficiency-lab-hub-v1'), keyed by that URL (so by revision); each entry is stamped with the
//           commit and ETag it was fetched at, and whether a cached branch is re-checked is src/model/hub-cache.ts's
//           (HubFreshness: a commit id never, a branch with one HEAD when online, 'never' / 'always'). An optional
//           file the Hub answered 404 is remembered as an "absent" entry (a 404 Response with header x-lab-absent),
//           so a later load skips it too. Only complete files are put (after the whole body arrived and matched
//           Content-Length); a cancelled or interrupted download leaves nothing. Without the Cache API (Node, an
//           insecure origin) files are downloaded every time.
//   memory: a body is streamed into Blob parts of at most PART_BYTES (the browser may keep large Blobs on disk),
//           put into the cache as new Response(blob), then read back as the cache's Blob; tensors are read as
//           slices of it (fileSource), so a big file is never held twice in JS memory.
//   errors: HubError naming the file and the URL — reason 'not-found' (404), 'unauthorized' (401/403: gated or
//           private, needs an access token; the Hub's X-Error-Code header refines it), 'network' (fetch failed,
//           e.g. offline or blocked by the page's Content-Security-Policy), 'interrupted' (fewer bytes than
//           Content-Length, or the stream failed), 'http' (any other status), 'invalid' (a bad repo id, revision
//           or endpoint); LoadCancelledError when the AbortSignal fires.
//   progress: bytes done / total over all files (total = the Content-Lengths known so far, cached files by their
//           size), and an ETA from the network rate, through a callback at most every PROGRESS_MS.

import type { LoadProgress } from '../engine/types';
import { HubError, LoadCancelledError } from './errors';
import { ABSENT, entryHeaders } from './hub-cache';
import { fileSource, type ByteSource } from './safetensors';

export { HUB_CACHE, openHubCache } from './hub-cache';
export const HUB_ENDPOINT = 'https://huggingface.co';
const PART_BYTES = 64 * 1024 * 1024;
const PROGRESS_MS = 100;

// The Hub's rules: owner and name of letters, digits, '-', '_', '.', not starting or ending with '-' or '.',
// no '--' or '..', at most 96 characters each.
const NAME = /^(?![-.])(?!.*(--|\.\.))[A-Za-z0-9_.-]{1,96}(?<![-.])$/;

/** "owner/name" → the same string, or a HubError saying what is wrong. */
export function validateRepoId(repo: string): string {
  const parts = repo.trim().split('/');
  if (parts.length !== 2 || !parts.every((p) => NAME.test(p)))
    throw new HubError(`"${repo.slice(0, 100)}" is not a Hub repository id: expected owner/name (letters, digits, - _ . ; at most 96 each)`, 'repository id', 'invalid');
  return parts.join('/');
}

/** A branch, tag or commit: letters, digits, - _ . / (no "..", no leading '/'). */
export function validateRevision(rev: string): string {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_./-]{0,199}$/.test(rev) || rev.includes('..') || rev.endsWith('/'))
    throw new HubError(`"${rev.slice(0, 100)}" is not a revision (a branch, tag or commit: letters, digits, - _ . /)`, 'revision', 'invalid');
  return rev;
}

/** An http(s) origin + optional path prefix, without a trailing slash. */
export function normaliseEndpoint(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new HubError(`"${endpoint.slice(0, 100)}" is not a URL`, 'endpoint', 'invalid');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new HubError(`${u.protocol} is not http(s)`, 'endpoint', 'invalid');
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

export function hubFileUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${normaliseEndpoint(endpoint)}/${validateRepoId(repo)}/resolve/${encodeURIComponent(validateRevision(revision))}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** Bytes-so-far bookkeeping over every file of one load; calls `onProgress` (throttled). */
export class ProgressTracker {
  private files = new Map<string, { loaded: number; total: number; done: boolean; cached: boolean }>();
  private net = 0;
  private netStart = 0;
  private last = 0;

  constructor(private readonly onProgress?: (p: LoadProgress) => void) {}

  start(file: string, total: number): void {
    this.files.set(file, { loaded: 0, total, done: false, cached: false });
    this.emit(file, true);
  }
  add(file: string, n: number): void {
    const f = this.files.get(file)!;
    f.loaded += n;
    if (!this.netStart) this.netStart = performance.now();
    this.net += n;
    this.emit(file, false);
  }
  finish(file: string, size: number, cached: boolean): void {
    this.files.set(file, { loaded: size, total: size, done: true, cached });
    this.emit(file, true);
  }
  drop(file: string): void {
    this.files.delete(file);
  }

  snapshot(file: string): LoadProgress {
    let loaded = 0;
    let total = 0;
    let done = 0;
    let cachedBytes = 0;
    for (const f of this.files.values()) {
      loaded += f.loaded;
      total += Math.max(f.total, f.loaded);
      if (f.done) done++;
      if (f.cached) cachedBytes += f.loaded;
    }
    const elapsed = performance.now() - this.netStart;
    const rate = this.netStart && elapsed > 200 ? this.net / elapsed : 0; // bytes per ms
    return { phase: 'download', file, loaded, total, filesDone: done, files: this.files.size, cachedBytes, etaMs: rate > 0 ? (total - loaded) / rate : null };
  }

  private emit(file: string, force: boolean): void {
    if (!this.onProgress) return;
    const now = performance.now();
    if (!force && now - this.last < PROGRESS_MS) return;
    this.last = now;
    this.send(this.snapshot(file));
  }

  /** Report a later phase (parse, ...) with the download totals. */
  phase(phase: LoadProgress['phase'], file: string): void {
    if (this.onProgress) this.send({ ...this.snapshot(file), phase, etaMs: null });
  }

  private send(p: LoadProgress): void {
    try {
      // across the worker the listener is a comlink proxy: its call returns a promise that may reject
      void Promise.resolve(this.onProgress!(p) as unknown).catch(() => undefined);
    } catch {
      /* a progress listener never breaks a load */
    }
  }
}

export interface FetchOptions {
  /** Whether a missing file is an error (else null). */
  required: boolean;
  /** Cache to read from and put into, or null. */
  cache: Cache | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  progress: ProgressTracker;
  /** Words for a 401/403 (the Hub's: gated or private). */
  unauthorized?: (status: number, code: string | null) => string;
  /** The commit to stamp a cache entry from answer `res` with (src/model/hub-cache.ts), or none. */
  stamp?: (res: Response) => string | null;
}

const cancelled = (file: string) => new LoadCancelledError('loading was cancelled', file);

/** One file: from the cache, or downloaded (then cached when `o.cache` is set, and returned as the cache's Blob);
 *  without a cache the bytes come back as one Uint8Array. null for an absent optional file. */
export async function fetchBlob(url: string, file: string, o: FetchOptions): Promise<Blob | Uint8Array | null> {
  if (o.signal?.aborted) throw cancelled(file);
  const hit = await o.cache?.match(url);
  if (hit) {
    const got = await fromCached(hit, file, o);
    if (got !== undefined) return got;
  }
  return receive(await requestFile(url, file, o), url, file, o);
}

/** A cache entry's Blob (counted as cached progress), null for a remembered-absent optional file, undefined for a
 *  remembered-absent required one (the caller fetches it, to get the Hub's error). */
export async function fromCached(hit: Response, file: string, o: FetchOptions): Promise<Blob | null | undefined> {
  if (hit.headers.has(ABSENT)) return o.required ? undefined : null;
  const blob = await hit.blob();
  o.progress.finish(file, blob.size, true);
  return blob;
}

/** GET `url`; a network failure is a HubError 'network' (LoadCancelledError when the signal fired). */
export async function requestFile(url: string, file: string, o: FetchOptions): Promise<Response> {
  if (o.signal?.aborted) throw cancelled(file);
  try {
    return await fetch(url, { headers: o.headers, signal: o.signal });
  } catch (e) {
    if (o.signal?.aborted) throw cancelled(file);
    throw new HubError(`fetching ${url} failed (${(e as Error).message}): offline, or the server is unreachable or not allowed by this page`, file, 'network');
  }
}

/** An answer → the file (cached when `o.cache` is set), null for an absent optional file, or a typed HubError. */
export async function receive(res: Response, url: string, file: string, o: FetchOptions): Promise<Blob | Uint8Array | null> {
  const html = (res.headers.get('content-type') ?? '').startsWith('text/html') && !file.endsWith('.html');
  if (res.status === 404 || (res.ok && html)) {
    void res.body?.cancel();
    if (!o.required) {
      await putQuietly(o.cache, url, new Response(null, { status: 404, headers: entryHeaders(null, o.stamp?.(res) ?? null, 0) }));
      return null;
    }
    throw new HubError(`not found at ${url} (HTTP ${res.status}${html ? ', an HTML page' : ''})`, file, 'not-found', res.status);
  }
  if (res.status === 401 || res.status === 403) {
    void res.body?.cancel();
    const code = res.headers.get('x-error-code');
    const why = o.unauthorized?.(res.status, code) ?? 'needs an access token';
    throw new HubError(`HTTP ${res.status} from ${url}: ${why}`, file, 'unauthorized', res.status);
  }
  if (!res.ok) {
    void res.body?.cancel();
    throw new HubError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} fetching ${url}`, file, 'http', res.status);
  }
  if (!o.cache) {
    // Nothing to cache (a served folder): one ArrayBuffer, never the browser's blob storage, whose in-memory limit
    // (what off-the-record and headless profiles have) a several-hundred-MB model can exceed (NotReadableError).
    const bytes = await readBody(res, url, file, o, true);
    if (o.signal?.aborted) throw cancelled(file);
    return bytes;
  }
  const blob = await readBody(res, url, file, o, false);
  if (o.signal?.aborted) throw cancelled(file);
  if (await putQuietly(o.cache, url, new Response(blob, { headers: entryHeaders(res, o.stamp?.(res) ?? null, blob.size) }))) {
    const back = await o.cache.match(url); // the cache's copy (disk-backed); the downloaded parts can go
    if (back) return back.blob();
  }
  return blob;
}

/** The body as one Uint8Array (`asBytes`), or as a Blob built from 64 MiB parts (to be cached). */
async function readBody(res: Response, url: string, file: string, o: FetchOptions, asBytes: true): Promise<Uint8Array>;
async function readBody(res: Response, url: string, file: string, o: FetchOptions, asBytes: false): Promise<Blob>;
async function readBody(res: Response, url: string, file: string, o: FetchOptions, asBytes: boolean): Promise<Blob | Uint8Array> {
  const length = Number(res.headers.get('content-length'));
  const total = Number.isSafeInteger(length) && length > 0 ? length : 0;
  o.progress.start(file, total);
  let buf = asBytes ? new Uint8Array(total || 1 << 20) : null;
  const parts: Blob[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let got = 0;
  const reader = res.body?.getReader();
  try {
    if (!reader) throw new Error('the response has no body');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (buf) {
        if (got + value.length > buf.length) {
          const grown = new Uint8Array(Math.max(got + value.length, buf.length * 2));
          grown.set(buf.subarray(0, got));
          buf = grown;
        }
        buf.set(value, got);
        got += value.length;
        o.progress.add(file, value.length);
        continue;
      }
      pending.push(value);
      pendingBytes += value.length;
      got += value.length;
      o.progress.add(file, value.length);
      if (pendingBytes >= PART_BYTES) {
        parts.push(new Blob(pending as BlobPart[]));
        pending = [];
        pendingBytes = 0;
      }
    }
  } catch (e) {
    o.progress.drop(file);
    void reader?.cancel().catch(() => undefined);
    if (o.signal?.aborted) throw cancelled(file);
    throw new HubError(`download interrupted after ${got}${total ? ` of ${total}` : ''} bytes from ${url} (${(e as Error).message}); nothing was cached`, file, 'interrupted');
  }
  // A compressed response can decode to more bytes than its Content-Length, never to fewer.
  if (total && got < total) {
    o.progress.drop(file);
    throw new HubError(`download interrupted: got ${got} of ${total} bytes from ${url}; nothing was cached`, file, 'interrupted');
  }
  if (buf) {
    o.progress.finish(file, got, false);
    return got === buf.length ? buf : buf.slice(0, got);
  }
  parts.push(new Blob(pending as BlobPart[]));
  const blob = new Blob(parts, { type: 'application/octet-stream' });
  o.progress.finish(file, blob.size, false);
  return blob;
}

/** cache.put, ignoring quota and storage failures (the load then simply is not cached). True when it was put. */
async function putQuietly(cache: Cache | null, url: string, res: Response): Promise<boolean> {
  if (!cache) return false;
  try {
    await cache.put(url, res);
    return true;
  } catch {
    return false;
  }
}

export function blobSource(name: string, blob: Blob): ByteSource {
  return fileSource(Object.assign(blob, { name }));
}

/** Words for a Hub 401/403, refined by its X-Error-Code header when the Hub sends one. */
export function hubUnauthorized(repo: string, hasToken: boolean) {
  return (_status: number, code: string | null): string => {
    if (code === 'RepoNotFound') return `repository ${repo} was not found, or it is private: ${hasToken ? 'the access token has no access to it' : 'needs an access token'}`;
    if (code === 'GatedRepo') return `${repo} is gated: accept its terms on the Hub, then give an access token${hasToken ? ' (this token has no access yet)' : ''}`;
    return hasToken ? `the access token was refused (gated or private: it needs a token with access to ${repo})` : `gated or private: needs an access token (${repo})`;
  };
}
