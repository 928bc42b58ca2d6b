// Benchmark sessions on the real IndexedDB of the app's origin (the Node unit tests use an in-memory SessionDb):
// saved sessions survive a reload, rename and delete persist, a full quota is a StorageQuotaError that leaves
// the in-memory session exportable and the stored copy at its last good state. The modules are loaded from the
// Vite dev server, as the app loads them; no model is loaded.
import { expect, test, type Page } from '@playwright/test';

type Any = any;
const MODULES = { idb: '/src/bench/store-idb.ts', session: '/src/bench/session.ts', example: '/src/bench/example.ts' };

/** A page on the app's origin that does not start the app (so no model loads). */
async function openOrigin(page: Page): Promise<void> {
  await page.goto('/README.md');
}

/** Run `f(modules, arg)` in the page with the session modules imported. */
function inPage<T>(page: Page, f: (m: Any, arg: Any) => Promise<T>, arg: unknown = null): Promise<T> {
  return page.evaluate(
    async ({ src, urls, arg }) => {
      const m: Any = {};
      for (const [k, url] of Object.entries(urls)) m[k] = await import(/* @vite-ignore */ url);
      return new Function('m', 'arg', `return (${src})(m, arg)`)(m, arg);
    },
    { src: f.toString(), urls: MODULES, arg },
  );
}

test('sessions survive a reload; rename and delete persist', async ({ page }) => {
  await openOrigin(page);
  const db = `e2e-sessions-${Date.now()}`;
  await inPage(
    page,
    async (m, db) => {
      const store = m.idb.idbSessionStore({ name: db });
      const s = m.example.exampleSession();
      await store.put(s);
      await store.put(m.session.renameSession(m.session.copySession(s, { id: 'second' }), 'second', '2030-01-01T00:00:00.000Z'));
    },
    db,
  );
  await page.reload();
  const after = await inPage(
    page,
    async (m, db) => {
      const store = m.idb.idbSessionStore({ name: db });
      const list = await store.list();
      const same = JSON.stringify(await store.get(m.example.exampleSession().id)) === JSON.stringify(m.example.exampleSession());
      await store.rename('second', 'renamed');
      await store.delete(m.example.exampleSession().id);
      return { ids: list.map((x: Any) => x.id), runCounts: list.map((x: Any) => x.run_count), same };
    },
    db,
  );
  expect(after).toEqual({ ids: ['second', 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d'], runCounts: [2, 2], same: true });
  await page.reload();
  const final = await inPage(page, async (m, db) => (await m.idb.idbSessionStore({ name: db }).list()).map((x: Any) => x.name), db);
  expect(final).toEqual(['renamed']);
});

test('a full quota is a StorageQuotaError; the in-memory session stays exportable and the stored copy intact', async ({ page }) => {
  await openOrigin(page);
  const origin = new URL(page.url()).origin;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 2 * 1024 * 1024 });
  const r = await inPage(page, async (m) => {
    const store = m.idb.idbSessionStore({ name: 'e2e-quota' });
    const small = m.example.exampleSession();
    await store.put(small);
    const run = { ...small.runs[0], id: 'big', text: 'x'.repeat(8_000_000) };
    const big = m.session.addRun(small, run, '2030-01-01T00:00:00.000Z');
    const before = JSON.stringify(big);
    let error: Any = null;
    try {
      await store.put(big);
    } catch (e: Any) {
      error = { name: e.name, message: e.message, cause: e.cause?.name };
    }
    const exported = m.session.exportJson(big);
    const reimported = JSON.stringify(m.session.importJson(exported)) === before;
    const stored = await store.get(small.id);
    return { error, intact: JSON.stringify(big) === before, reimported, storedRuns: stored?.runs.length };
  });
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  expect(r.error?.name).toBe('StorageQuotaError');
  expect(r.error?.cause).toBe('QuotaExceededError');
  expect(r.error?.message).toContain('export it to keep it');
  expect(r).toMatchObject({ intact: true, reimported: true, storedRuns: 2 });
});

test('another tab upgrading the database: this tab lets it (closes) and then reports a typed error', async ({ page, context }) => {
  await openOrigin(page);
  await inPage(page, async (m) => {
    (window as Any).store = m.idb.idbSessionStore({ name: 'e2e-tabs' });
    await (window as Any).store.put(m.example.exampleSession());
  });
  const other = await context.newPage();
  await openOrigin(other);
  // A newer version of the lab opens the database at version 2: it would wait forever if this tab held on.
  await other.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open('e2e-tabs', 2);
        req.onsuccess = () => (req.result.close(), resolve());
        req.onerror = () => reject(req.error);
      }),
  );
  const e = await page.evaluate(async () => (window as Any).store.list().then(() => null, (x: Any) => ({ name: x.name, reason: x.reason })));
  expect(e).toEqual({ name: 'StorageUnavailableError', reason: 'version' });
});
