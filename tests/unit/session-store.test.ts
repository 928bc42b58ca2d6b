// SessionStore logic over an in-memory SessionDb (a test double for IndexedDB: structured clones in and out,
// atomic writes, injectable failures). The real IndexedDB path (store-idb.ts) needs a browser; in Node we check
// that it reports IndexedDB as missing with the typed error.
import { describe, expect, it } from 'vitest';
import { exampleSession } from '../../src/bench/example';
import type { Session } from '../../src/bench/schema';
import { addRun, exportJson, importJson, newSession, renameSession } from '../../src/bench/session';
import { idbSessionStore, openIdbSessionDb } from '../../src/bench/store-idb';
import { SessionStore, StorageError, StorageQuotaError, StorageUnavailableError, summarize, toStorageError, type SessionDb, type SessionSummary } from '../../src/bench/store';
import { SessionValidationError } from '../../src/bench/validate';

class MemoryDb implements SessionDb {
  sessions = new Map<string, unknown>();
  summaries = new Map<string, unknown>();
  /** Thrown by the next write (then cleared). */
  failNextWrite: unknown = null;
  failReads: unknown = null;
  private maybeFail(which: 'write' | 'read') {
    const e = which === 'write' ? this.failNextWrite : this.failReads;
    if (which === 'write') this.failNextWrite = null;
    if (e) throw e;
  }
  async getSession(id: string) {
    this.maybeFail('read');
    return structuredClone(this.sessions.get(id));
  }
  async getSummaries() {
    this.maybeFail('read');
    return [...this.summaries.values()].map((v) => structuredClone(v));
  }
  async put(session: Session, summary: SessionSummary) {
    this.maybeFail('write'); // atomic: a failed write changes nothing
    this.sessions.set(session.id, structuredClone(session));
    this.summaries.set(summary.id, structuredClone(summary));
  }
  async delete(id: string) {
    this.maybeFail('write');
    this.sessions.delete(id);
    this.summaries.delete(id);
  }
}

function setup() {
  const db = new MemoryDb();
  let opens = 0;
  let openError: unknown = null;
  const store = new SessionStore(async () => {
    opens++;
    if (openError) throw openError;
    return db;
  });
  return { db, store, opens: () => opens, failOpen: (e: unknown) => (openError = e) };
}

const at = (sec: number) => `2025-03-01T00:00:${String(sec).padStart(2, '0')}.000Z`;
const session = (id: string, updated: number): Session => ({ ...exampleSession(), id, name: `session ${id}`, updated_at: at(updated) });

describe('SessionStore', () => {
  it('puts, lists (newest first, summaries only), gets, renames and deletes', async () => {
    const { store } = setup();
    await store.put(session('a', 1));
    await store.put(session('b', 3));
    await store.put(session('c', 2));
    const list = await store.list();
    expect(list.map((s) => s.id)).toEqual(['b', 'c', 'a']);
    expect(list[0]).toEqual({ id: 'b', name: 'session b', created_at: '2025-01-31T12:00:00.000Z', updated_at: at(3), run_count: 2, engines: ['lab', 'ort-wasm'], models: ['lab-target'] });
    expect(await store.get('c')).toEqual(session('c', 2));
    expect(await store.get('nope')).toBeUndefined();

    const renamed = await store.rename('a', ' fastest ', at(9));
    expect(renamed).toMatchObject({ name: 'fastest', updated_at: at(9) });
    expect((await store.get('a'))!.name).toBe('fastest');
    expect((await store.list())[0]).toMatchObject({ id: 'a', name: 'fastest' });
    expect(await store.rename('nope', 'x')).toBeUndefined();
    await expect(store.rename('a', '')).rejects.toThrow('name: must not be empty');
    expect((await store.get('a'))!.name).toBe('fastest');

    await store.delete('b');
    await store.delete('b'); // absent: fine
    expect((await store.list()).map((s) => s.id)).toEqual(['a', 'c']);
    expect(await store.get('b')).toBeUndefined();
  });

  it('replaces a session on put with the same id (the app saves after every run)', async () => {
    const { store } = setup();
    let s = newSession({ environment: exampleSession().environment, id: 'live', now: at(0) });
    await store.put(s);
    s = addRun(s, exampleSession().runs[0]!, at(5));
    await store.put(s);
    expect(await store.list()).toMatchObject([{ id: 'live', run_count: 1, updated_at: at(5) }]);
    expect(await store.get('live')).toEqual(s);
  });

  it('refuses to store an invalid session (validation error, nothing written)', async () => {
    const { store, db } = setup();
    const bad = { ...session('x', 1), runs: [{ ...exampleSession().runs[0]!, text: 5 }] } as unknown as Session;
    await expect(store.put(bad)).rejects.toThrow('runs[0].text: expected a string, got 5');
    expect(db.sessions.size).toBe(0);
  });

  it('a full quota is a StorageQuotaError; the in-memory session stays intact and exportable; the stored copy is the last good one', async () => {
    const { store, db } = setup();
    const s1 = session('q', 1);
    await store.put(s1);
    const s2 = addRun(s1, { ...exampleSession().runs[0]!, id: 'run-3' }, at(2));
    const before = structuredClone(s2);
    db.failNextWrite = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const err = await store.put(s2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageQuotaError);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toMatch(/storage is full while saving "session q".*export it to keep it/);
    expect((err as Error).cause).toBeInstanceOf(DOMException);
    expect(s2).toEqual(before);
    expect(importJson(exportJson(s2))).toEqual(before);
    expect(await store.get('q')).toEqual(s1);
    await store.put(s2); // room again: the same in-memory session saves
    expect(await store.get('q')).toEqual(before);
  });

  it('maps browser errors to typed errors', () => {
    const map = (e: unknown) => toStorageError(e, 'testing');
    expect(map(new DOMException('x', 'QuotaExceededError'))).toBeInstanceOf(StorageQuotaError);
    expect(map({ name: 'NS_ERROR_DOM_QUOTA_REACHED', message: 'x' })).toBeInstanceOf(StorageQuotaError); // old Firefox
    expect(map({ name: 'Error', code: 22, message: 'x' })).toBeInstanceOf(StorageQuotaError); // old Safari
    const reasons = ['SecurityError', 'VersionError', 'InvalidStateError', 'UnknownError', 'AbortError'].map((n) => (map(new DOMException('x', n)) as StorageUnavailableError).reason);
    expect(reasons).toEqual(['denied', 'version', 'closed', 'failed', 'failed']);
    const other = map(new TypeError('boom'));
    expect([other.constructor, other.message]).toEqual([StorageError, 'Storage failed while testing: boom. Nothing was saved; the session is still in memory: export it to keep it.']);
    const typed = new StorageUnavailableError('blocked', 'blocked!');
    expect(map(typed)).toBe(typed);
  });

  it('an open that fails (denied, blocked) is a StorageUnavailableError, and is retried on the next call', async () => {
    const { store, opens, failOpen } = setup();
    failOpen(new DOMException('denied', 'SecurityError'));
    const e1 = await store.list().catch((e: unknown) => e);
    expect([e1 instanceof StorageUnavailableError, (e1 as StorageUnavailableError).reason]).toEqual([true, 'denied']);
    failOpen(new StorageUnavailableError('blocked', 'another tab'));
    await expect(store.put(session('s', 1))).rejects.toMatchObject({ name: 'StorageUnavailableError', reason: 'blocked' });
    failOpen(null);
    await store.put(session('s', 1));
    expect(opens()).toBe(3);
    await store.list();
    expect(opens()).toBe(3); // connection kept once open
  });

  it('a closed connection (InvalidStateError) is reopened and the call retried once, then reported', async () => {
    const { store, db, opens } = setup();
    await store.list();
    db.failReads = new DOMException('The database connection is closing.', 'InvalidStateError');
    const reads = db.getSummaries.bind(db);
    db.getSummaries = async () => {
      const r = reads();
      db.failReads = null; // the first read fails, the retry on a fresh connection succeeds
      return r;
    };
    expect(await store.list()).toEqual([]);
    expect(opens()).toBe(2);
    db.getSummaries = async () => {
      throw new DOMException('closing', 'InvalidStateError');
    };
    await expect(store.list()).rejects.toMatchObject({ reason: 'closed' });
    expect(opens()).toBe(3); // one reopen per call, not a loop
  });

  it('validates what it reads back: a corrupt stored session names its id and path; malformed summaries are skipped', async () => {
    const { store, db } = setup();
    await store.put(session('ok', 1));
    db.sessions.set('bad', { ...exampleSession(), id: 'bad', version: 0 });
    db.summaries.set('bad', { id: 'bad' });
    await expect(store.get('bad')).rejects.toThrow(SessionValidationError);
    await expect(store.get('bad')).rejects.toThrow('stored session "bad": version: unsupported session format version 0');
    expect((await store.list()).map((s) => s.id)).toEqual(['ok']);
  });

  it('summarize lists distinct engines and models in first-seen order', () => {
    const s = renameSession(exampleSession(), 'x');
    s.runs.push({ ...s.runs[0]!, engine: 'transformersjs', model: { ...s.runs[0]!.model, name: 'draft' } });
    expect(summarize(s)).toMatchObject({ run_count: 3, engines: ['lab', 'ort-wasm', 'transformersjs'], models: ['lab-target', 'draft'] });
  });
});

describe('IndexedDB store outside a browser', () => {
  it('reports IndexedDB as missing with StorageUnavailableError', async () => {
    expect(typeof indexedDB).toBe('undefined');
    await expect(openIdbSessionDb()).rejects.toMatchObject({ name: 'StorageUnavailableError', reason: 'missing' });
    await expect(idbSessionStore().list()).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});
