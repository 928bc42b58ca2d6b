// The Hub loader against the local stand-in Hub (tests/hub/server.ts, started by the gpu project's globalSetup):
// weights equal the fixture's, a second load of main makes one request (the HEAD of config.json) and with refresh
// 'never' none (Cache API), revisions are cached apart, sharded == unsharded, 404 / 401 (and a token) / an
// interrupted download / cancel give typed errors naming the file and leave nothing partial in the cache; through
// LabEngine, greedy ids equal the CPU reference and cancelLoad works. Freshness (src/model/hub-cache.ts): a moved
// main downloads only the changed file; the server down or silent → the cached copy with a note; a commit-id
// revision is never re-checked; clearing the cache empties it and the next load downloads again.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LabEngine } from '../../src/engine/engine';
import { DEFAULT_SAMPLING, type LoadProgress, type ModelSource } from '../../src/engine/types';
import { HUB_CACHE, hubFileUrl } from '../../src/model/hub';
import { CHECK_MS, clearHubCache, hubCacheUsage } from '../../src/model/hub-cache';
import { loadModel } from '../../src/model/source';
import type { HostWeights } from '../../src/model/weights';
import { refGreedy } from '../../src/ref/forward';
import { loadFixture, makeLlamaFixture } from '../fixtures/llama';
import { HUB_COMMIT, HUB_SEED, HUB_VOCAB } from '../hub/fixtures';

const hub = `http://127.0.0.1:${inject('hubPort')}`;
const requests = async (): Promise<string[]> => ((await (await fetch(`${hub}/__requests`)).json()) as { paths: string[] }).paths;
/** Requests so far as "METHOD path". */
const log = async (): Promise<string[]> => ((await (await fetch(`${hub}/__requests`)).json()) as { log: string[] }).log;
const src = (repo: string, extra: Partial<Extract<ModelSource, { kind: 'hub' }>> = {}) => ({ kind: 'hub' as const, repo, endpoint: hub, ...extra });
const offline = async (mode: 'up' | 'down' | 'hang') => expect((await fetch(`${hub}/__offline?mode=${mode}`)).status).toBe(200);
async function put(path: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  expect((await fetch(`${hub}/__files/${path}`, { method: 'PUT', body: bytes })).status).toBe(200);
}

async function cachedUrls(): Promise<string[]> {
  const c = await caches.open(HUB_CACHE);
  return (await c.keys()).map((r) => r.url);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

function expectSameWeights(a: HostWeights, b: HostWeights): void {
  expect(a.embed).toEqual(b.embed);
  expect(a.lmHead).toEqual(b.lmHead);
  expect(a.finalNorm).toEqual(b.finalNorm);
  expect(a.layers.length).toBe(b.layers.length);
  a.layers.forEach((l, i) => expect(l).toEqual(b.layers[i]));
}

describe('Hugging Face Hub loading (local stand-in Hub)', () => {
  let fixture: Awaited<ReturnType<typeof loadFixture>>;
  beforeAll(async () => {
    await caches.delete(HUB_CACHE);
    fixture = await loadFixture({ seed: HUB_SEED, vocabSize: HUB_VOCAB });
  });

  it('loads by repo id with progress; the second load is the cache after one HEAD, with refresh never no request', async () => {
    const before = (await requests()).length;
    const events: LoadProgress[] = [];
    const a = await loadModel(src('lab/tiny'), { onProgress: (p) => events.push(p) });
    expectSameWeights(a.weights, fixture.weights);
    expect(a.name).toBe('lab/tiny');
    expect(a.tokenizer).toBeNull();
    expect(a.timings.fetchFrom).toBe('network');
    const made = (await requests()).slice(before);
    expect(made).toContain('/lab/tiny/resolve/main/config.json');
    expect(made).toContain('/__lfs/lab/tiny/main/model.safetensors'); // followed the LFS-style redirect
    const last = events.filter((e) => e.phase === 'download').at(-1)!;
    expect(last.loaded).toBe(last.total);
    expect(last.total).toBeGreaterThanOrEqual(a.weightFileBytes);
    expect(events.at(-1)!.phase).toBe('parse');

    let n = (await log()).length;
    const b = await loadModel(src('lab/tiny'));
    expect((await log()).slice(n)).toEqual(['HEAD /lab/tiny/resolve/main/config.json']); // main has not moved
    expect(b.timings.fetchFrom).toBe('cache');
    expect(b.timings.note).toBeUndefined();
    expectSameWeights(b.weights, fixture.weights);
    n = (await log()).length;
    const never = await loadModel(src('lab/tiny', { refresh: 'never' }));
    expect((await log()).length).toBe(n); // not even for the absent tokenizer files
    expect(never.timings.fetchFrom).toBe('cache');
    expectSameWeights(never.weights, fixture.weights);
    const urls = await cachedUrls();
    expect(urls).toContain(hubFileUrl(hub, 'lab/tiny', 'main', 'model.safetensors'));

    // another revision is another cache key
    const c = await loadModel(src('lab/tiny', { revision: 'v1' }));
    expect((await requests()).length).toBeGreaterThan(n);
    expect(c.name).toBe('lab/tiny@v1');
    expectSameWeights(c.weights, fixture.weights);
  });

  it('sharded checkpoint (index + 3 shards) loads the same weights, and is cached too', async () => {
    const s = await loadModel(src('lab/sharded'));
    expectSameWeights(s.weights, fixture.weights);
    expect((await requests()).filter((p) => p.includes('/lab/sharded/') && /model-0000\d-of-00003/.test(p)).length).toBeGreaterThanOrEqual(3);
    const n = (await log()).length;
    const again = await loadModel(src('lab/sharded'));
    expect((await log()).slice(n)).toEqual(['HEAD /lab/sharded/resolve/main/config.json']);
    expectSameWeights(again.weights, fixture.weights);
  });

  it('404, gated 401 (and the token that opens it), bad ids: typed errors naming the file', async () => {
    const nf = await rejection(loadModel(src('lab/nothing')));
    expect(nf.name).toBe('HubError');
    expect(nf.message).toMatch(/^config\.json: not found at http/);

    const gated = await rejection(loadModel(src('lab/gated')));
    expect(gated.name).toBe('HubError');
    expect(gated.message).toMatch(/^config\.json: HTTP 401 .*gated.*access token/);
    const ok = await loadModel(src('lab/gated', { token: 'lab-token' }));
    expectSameWeights(ok.weights, fixture.weights);

    const n = (await requests()).length;
    for (const repo of ['nothing', 'a/b/c', '../x', 'a/-b', 'a/b..c', '']) {
      const e = await rejection(loadModel(src(repo)));
      expect(e.name).toBe('HubError');
      expect(e.message).toMatch(/^repository id: .* is not a Hub repository id/);
    }
    const r = await rejection(loadModel(src('lab/tiny', { revision: '../main' })));
    expect(r.message).toMatch(/^revision: /);
    expect((await requests()).length).toBe(n); // refused before any request
  });

  it('an interrupted download is a typed error naming the file, and nothing of it is cached', async () => {
    const e = await rejection(loadModel(src('lab/cut')));
    expect(e.name).toBe('HubError');
    expect(e.message).toMatch(/^model\.safetensors: download interrupted/);
    const urls = await cachedUrls();
    expect(urls).not.toContain(hubFileUrl(hub, 'lab/cut', 'main', 'model.safetensors'));
    expect(urls).toContain(hubFileUrl(hub, 'lab/cut', 'main', 'config.json')); // complete files are kept
  });

  it('cancel mid-download: LoadCancelledError, no partial entry; a later load completes', async () => {
    const ac = new AbortController();
    let seen = 0;
    const e = await rejection(
      loadModel(src('lab/slow'), {
        signal: ac.signal,
        onProgress: (p) => {
          if (p.file === 'model.safetensors' && p.loaded > 0 && p.loaded < p.total) {
            seen = p.loaded;
            ac.abort();
          }
        },
      }),
    );
    expect(seen).toBeGreaterThan(0);
    expect(e.name).toBe('LoadCancelledError');
    expect(e.message).toMatch(/^model\.safetensors: loading was cancelled/);
    expect(await cachedUrls()).not.toContain(hubFileUrl(hub, 'lab/slow', 'main', 'model.safetensors'));
  });

  it('through LabEngine: greedy ids equal the CPU reference; cancelLoad stops a load and keeps the model', async () => {
    const engine = new LabEngine();
    const events: LoadProgress[] = [];
    const info = await engine.load(src('lab/tiny'), (p) => events.push(p));
    expect(info.name).toBe('lab/tiny');
    expect(info.loadMs.fetchFrom).toBe('cache'); // loaded in the first test
    const prompt = [3, 1, 4, 1, 5];
    const r = await engine.generate({ prompt, sampling: { ...DEFAULT_SAMPLING, maxNewTokens: 8 } }, () => {});
    expect(r.outputIds).toEqual(refGreedy(fixture.cfg, fixture.weights, prompt, 8));

    await caches.delete(HUB_CACHE);
    const pending = engine.load(src('lab/slow'), (p) => {
      if (p.file === 'model.safetensors' && p.loaded > 0) void engine.cancelLoad();
    });
    const e = await rejection(pending);
    expect(e.name).toBe('LoadCancelledError');
    expect((await engine.stats()).model?.name).toBe('lab/tiny'); // the previous model stays
    await engine.reset();
  });
});

describe('Hub cache freshness: a branch is re-checked when online, a commit id never', () => {
  const changed = { seed: HUB_SEED + 2, vocabSize: HUB_VOCAB };

  it('main moved: the HEAD, then only the changed file is downloaded; re-stamped, the next load is the HEAD only', async () => {
    const a = await loadModel(src('lab/fresh'));
    expect(a.timings.fetchFrom).toBe('network');
    await put('lab/fresh/main/model.safetensors', makeLlamaFixture(changed).safetensors); // config.json stays the same
    let n = (await log()).length;
    const b = await loadModel(src('lab/fresh'));
    expect((await log()).slice(n).sort()).toEqual([
      'GET /__lfs/lab/fresh/main/model.safetensors',
      'GET /lab/fresh/resolve/main/model.safetensors',
      'GET /lab/fresh/resolve/main/tokenizer.json', // absent files: asked again (still 404), no body
      'GET /lab/fresh/resolve/main/tokenizer_config.json',
      'HEAD /lab/fresh/resolve/main/config.json', // the check; its ETag also showed config.json unchanged
    ]);
    expect(b.timings.fetchFrom).toBe('mixed');
    expect(b.timings.note).toMatch(/^updated: main is now at [0-9a-f]{8} \(was [0-9a-f]{8}\)/);
    const next = await loadFixture(changed);
    expectSameWeights(b.weights, next.weights);
    expect(b.weights.embed).not.toEqual(a.weights.embed);

    n = (await log()).length;
    const c = await loadModel(src('lab/fresh'));
    expect((await log()).slice(n)).toEqual(['HEAD /lab/fresh/resolve/main/config.json']);
    expect(c.timings.fetchFrom).toBe('cache');
    expect(c.timings.note).toBeUndefined();
    expectSameWeights(c.weights, next.weights);

    n = (await log()).length;
    const d = await loadModel(src('lab/fresh', { refresh: 'always' }));
    const made = (await log()).slice(n);
    expect(made).toContain('GET /lab/fresh/resolve/main/config.json');
    expect(made).toContain('GET /__lfs/lab/fresh/main/model.safetensors');
    expect(made.some((p) => p.startsWith('HEAD'))).toBe(false);
    expect(d.timings.fetchFrom).toBe('network');
    expectSameWeights(d.weights, next.weights);
  });

  it('server down, or silent past the check timeout: the cached copy loads with a note; an uncached repo is a typed error', async () => {
    const a = await loadModel(src('lab/away'));
    await offline('down');
    try {
      const b = await loadModel(src('lab/away'));
      expect(b.timings.fetchFrom).toBe('cache');
      expect(b.timings.note).toMatch(/^offline: cached copy \(/);
      expectSameWeights(b.weights, a.weights);
      const e = await rejection(loadModel(src('lab/tiny', { revision: 'v2' })));
      expect(e.name).toBe('HubError');
      expect(e.message).toMatch(/^config\.json: fetching .* failed/);

      await offline('hang');
      const t0 = performance.now();
      const c = await loadModel(src('lab/away'));
      expect(performance.now() - t0).toBeGreaterThanOrEqual(CHECK_MS - 50);
      expect(c.timings.note).toBe(`offline: cached copy (no answer from the Hub within ${CHECK_MS / 1000} s)`);
      expectSameWeights(c.weights, a.weights);
    } finally {
      await offline('up');
    }
    const n = (await log()).length;
    const d = await loadModel(src('lab/away'));
    expect((await log()).slice(n)).toEqual(['HEAD /lab/away/resolve/main/config.json']);
    expect(d.timings.note).toBeUndefined();
  });

  it('a commit-id revision is never re-checked: the second load makes no request', async () => {
    const a = await loadModel(src('lab/tiny', { revision: HUB_COMMIT }));
    expect(a.name).toBe(`lab/tiny@${HUB_COMMIT}`);
    expect(a.timings.fetchFrom).toBe('network');
    const n = (await log()).length;
    const b = await loadModel(src('lab/tiny', { revision: HUB_COMMIT }));
    expect((await log()).length).toBe(n);
    expect(b.timings.fetchFrom).toBe('cache');
    expectSameWeights(b.weights, a.weights);
  });

  it('clear cached models: the usage (bytes, files) goes to zero and the next load downloads again', async () => {
    const a = await loadModel(src('lab/tiny'));
    const u = await hubCacheUsage();
    expect(u.files).toBeGreaterThanOrEqual(2);
    expect(u.bytes).toBeGreaterThan(a.weightFileBytes);
    expect(await clearHubCache()).toBe(true);
    expect(await hubCacheUsage()).toMatchObject({ files: 0, bytes: 0 });
    const n = (await log()).length;
    const b = await loadModel(src('lab/tiny'));
    expect((await log()).slice(n)).toContain('GET /__lfs/lab/tiny/main/model.safetensors');
    expect(b.timings.fetchFrom).toBe('network');
  });
});
