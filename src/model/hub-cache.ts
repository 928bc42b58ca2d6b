// The Hub cache (Cache API store of src/model/hub.ts): entry stamps, freshness of a revision, size and clearing.
//   entry:   key = the resolve URL ({endpoint}/{repo}/resolve/{revision}/{file}); value = the file's bytes with
//              x-lab-commit  the commit the revision pointed to when the file was fetched (the Hub's X-Repo-Commit;
//                            an LFS file's answer comes from the CDN without it: then the load's commit)
//              x-lab-etag    the file's ETag then (X-Linked-Etag when the browser sees it, else ETag)
//              x-lab-size    its bytes (the cache's size without reading bodies)
//              x-lab-absent  on a 404 entry: an optional file the Hub did not have
//   refresh 'auto' (default): a revision that is a full 40-hex commit id never changes: served from the cache with
//            no request. A branch or tag (main, v1) is re-checked when the config is cached: one HEAD of config.json
//            (CHECK_MS timeout) → X-Repo-Commit. A cached file stamped with that commit is used as it is (so an
//            unchanged repo costs that one request). A file stamped otherwise is fetched again; when the answer's
//            ETag equals the stamp (or it is still 404) the body is dropped, the cached copy used and re-stamped;
//            else the answer is the new download. A network failure or timeout of the check, a non-2xx answer or
//            one without X-Repo-Commit → every cached file used as it is, and the load's note says why
//            ("offline: cached copy ..."). A network failure while re-fetching a cached file → its cached copy.
//          'never': the cache first, no check (fully offline when everything is cached).
//          'always': every file downloaded again, replacing its entry.
//   size:    hubCacheUsage() sums the entries' x-lab-size (an entry without it: its body's size), plus the
//            origin's navigator.storage.estimate(); clearHubCache() deletes the whole store.

import { LoadCancelledError } from './errors';

export const HUB_CACHE = 'efficiency-lab-hub-v1';
export const ABSENT = 'x-lab-absent';
const COMMIT = 'x-lab-commit';
const ETAG = 'x-lab-etag';
const SIZE = 'x-lab-size';
/** How long the check of a branch waits for the Hub before using the cached copy. */
export const CHECK_MS = 5000;

export type HubRefresh = 'auto' | 'never' | 'always';

export const isCommitId = (revision: string): boolean => /^[0-9a-f]{40}$/i.test(revision);

/** The Hub's ETag for a file: X-Linked-Etag (an LFS file's sha256, on the Hub's answer) when visible, else ETag. */
export function etagOf(res: Response): string | null {
  return res.headers.get('x-linked-etag') ?? res.headers.get('etag');
}

/** The commit a resolve answer came from (X-Repo-Commit), or null. */
export function commitOf(res: Response): string | null {
  const c = res.headers.get('x-repo-commit')?.trim();
  return c && /^[0-9A-Za-z]{1,100}$/.test(c) ? c.toLowerCase() : null;
}

/** Headers of a new cache entry for answer `res` (null: an absent file) stamped with `commit`. */
export function entryHeaders(res: Response | null, commit: string | null, size: number): Record<string, string> {
  const h: Record<string, string> = { [SIZE]: String(size) };
  if (commit) h[COMMIT] = commit;
  const etag = res ? etagOf(res) : null;
  if (etag) h[ETAG] = etag;
  if (!res) h[ABSENT] = '1';
  else h['content-type'] = 'application/octet-stream';
  return h;
}

export async function openHubCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(HUB_CACHE);
  } catch {
    return null; // e.g. an insecure origin or storage disabled: download every time
  }
}

/** Deletes every cached Hub file. False without the Cache API. */
export async function clearHubCache(): Promise<boolean> {
  try {
    return typeof caches === 'undefined' ? false : await caches.delete(HUB_CACHE);
  } catch {
    return false;
  }
}

export interface HubCacheUsage {
  /** Cached files (absent-file entries not counted) and their bytes. */
  files: number;
  bytes: number;
  /** The whole origin's storage use and quota (navigator.storage.estimate()), when the browser tells. */
  originUsage: number | null;
  originQuota: number | null;
}

export async function hubCacheUsage(): Promise<HubCacheUsage> {
  let files = 0;
  let bytes = 0;
  const cache = typeof caches !== 'undefined' && (await caches.has(HUB_CACHE).catch(() => false)) ? await openHubCache() : null;
  for (const req of (await cache?.keys()) ?? []) {
    const r = await cache!.match(req);
    if (!r || r.headers.has(ABSENT)) continue;
    const size = Number(r.headers.get(SIZE));
    files++;
    bytes += r.headers.has(SIZE) && Number.isSafeInteger(size) ? size : (await r.blob()).size;
  }
  let est: StorageEstimate | null = null;
  try {
    est = (await navigator.storage?.estimate?.()) ?? null;
  } catch {
    /* not available (an insecure origin) */
  }
  return { files, bytes, originUsage: est?.usage ?? null, originQuota: est?.quota ?? null };
}

/** One load's view of whether its cached files are current (see the header). */
export class HubFreshness {
  /** The commit the revision points to, once known (the check, or the first answer carrying X-Repo-Commit). */
  commit: string | null;
  /** Words for the load's info: offline / could not check / updated; null when nothing to say. */
  note: string | null = null;
  private mode: 'check' | 'cache' | 'reload';
  private checked: { url: string; res: Response } | null = null;

  constructor(private readonly revision: string, refresh: HubRefresh = 'auto', private readonly cache: Cache | null) {
    this.mode = refresh === 'always' ? 'reload' : refresh === 'never' || isCommitId(revision) ? 'cache' : 'check';
    this.commit = isCommitId(revision) ? revision.toLowerCase() : null;
  }

  /** Once, before the first file: where does the revision point now (only when config.json is cached)? */
  async check(configUrl: string, headers: Record<string, string> | undefined, signal?: AbortSignal): Promise<void> {
    if (this.mode !== 'check' || !this.cache) return;
    const hit = await this.cache.match(configUrl);
    if (!hit || hit.headers.has(ABSENT)) return; // nothing to check against: the downloads tell the commit
    const ac = new AbortController();
    const stop = () => ac.abort();
    signal?.addEventListener('abort', stop);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, CHECK_MS);
    let res: Response;
    try {
      res = await fetch(configUrl, { method: 'HEAD', headers, signal: ac.signal, cache: 'no-store' });
    } catch (e) {
      if (signal?.aborted) throw new LoadCancelledError('loading was cancelled', 'config.json');
      return this.useCache(`offline: cached copy (${timedOut ? `no answer from the Hub within ${CHECK_MS / 1000} s` : (e as Error).message})`);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    }
    if (!res.ok) return this.useCache(`could not check for updates (HTTP ${res.status}): cached copy`);
    const commit = commitOf(res);
    if (!commit) return this.useCache('could not check for updates (no X-Repo-Commit from the Hub): cached copy');
    this.commit = commit;
    this.checked = { url: configUrl, res };
    const was = hit.headers.get(COMMIT);
    if (was !== commit) this.note = `updated: ${this.revision} is now at ${commit.slice(0, 8)}${was ? ` (was ${was.slice(0, 8)})` : ''}; changed files downloaded`;
  }

  private useCache(why: string): void {
    this.mode = 'cache';
    this.note = why;
  }

  /** A cached entry: 'use' it as it is, 'revalidate' it (fetch, then `unchanged`), or 'reload' it. */
  verdict(hit: Response): 'use' | 'revalidate' | 'reload' {
    if (this.mode !== 'check') return this.mode === 'cache' ? 'use' : 'reload';
    const stamp = hit.headers.get(COMMIT);
    return stamp !== null && stamp === this.commit ? 'use' : 'revalidate';
  }

  /** The check's own HEAD answer for `url` (config.json), so that file needs no second request. */
  known(url: string): Response | null {
    return this.checked?.url === url ? this.checked.res : null;
  }

  /** Whether answer `res` is the file of entry `hit`: the same ETag, or still absent. */
  unchanged(hit: Response, res: Response): boolean {
    if (hit.headers.has(ABSENT)) return res.status === 404;
    const was = hit.headers.get(ETAG);
    return res.ok && !!was && was === etagOf(res);
  }

  /** Re-fetching a cached file failed on the network: its cached copy is used. */
  offline(why: string): void {
    this.note ??= `offline: cached copy (${why})`;
  }

  /** The commit to stamp answer `res` with: its own X-Repo-Commit, else the load's (learnt from the first one). */
  stampFor(res: Response): string | null {
    const c = commitOf(res);
    this.commit ??= c;
    return c ?? this.commit;
  }

  /** Re-put an unchanged entry stamped with the current commit (so the next load needs no request for it). */
  async restamp(url: string, hit: Response): Promise<void> {
    if (!this.cache || !this.commit) return;
    try {
      const copy = hit.clone();
      const body = copy.headers.has(ABSENT) ? null : await copy.blob();
      const headers = new Headers(copy.headers);
      headers.set(COMMIT, this.commit);
      await this.cache.put(url, new Response(body, { status: copy.status, headers }));
    } catch {
      /* quota or storage failure: the next load checks this file again */
    }
  }
}
