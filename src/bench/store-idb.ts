// The IndexedDB side of SessionStore (via `idb`). Database 'efficiency-lab-sessions', schema version 1:
//   store 'sessions'  (keyPath 'id'): whole Session objects, as structured clones
//   store 'summaries' (keyPath 'id'): SessionSummary, so the list never loads runs
// put/delete write both stores in one readwrite transaction: a quota failure aborts both.
// Browser-only (the CLI writes files instead); the logic above it is tested in Node with an in-memory SessionDb.

import { openDB, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type { Session } from './schema';
import { SessionStore, StorageUnavailableError, type SessionDb, type SessionSummary } from './store';

export const SESSION_DB_NAME = 'efficiency-lab-sessions';
const DB_VERSION = 1;

export interface IdbOptions {
  name?: string;
  /** How long to wait once the open is reported blocked by another tab (ms, default 3000). */
  blockedTimeoutMs?: number;
}

/** Open (creating or upgrading) the sessions database. Rejects with StorageUnavailableError when IndexedDB
 *  is missing or the open stays blocked by another tab holding an older version open. */
export function openIdbSessionDb(o: IdbOptions = {}): Promise<SessionDb> {
  if (typeof indexedDB === 'undefined') {
    return Promise.reject(new StorageUnavailableError('missing', 'This browser offers no IndexedDB here (private window or disabled storage): sessions cannot be saved, only exported.'));
  }
  let conn: IDBPDatabase | null = null;
  return new Promise<SessionDb>((resolve, reject) => {
    let settled = false;
    let blockedTimer: ReturnType<typeof setTimeout> | undefined;
    const opening = openDB(o.name ?? SESSION_DB_NAME, DB_VERSION, {
      upgrade(db) {
        if (!db.objectStoreNames.contains('sessions')) db.createObjectStore('sessions', { keyPath: 'id' });
        if (!db.objectStoreNames.contains('summaries')) db.createObjectStore('summaries', { keyPath: 'id' });
      },
      blocked() {
        blockedTimer = setTimeout(() => {
          if (settled) return;
          settled = true;
          reject(new StorageUnavailableError('blocked', 'Session storage is blocked by another tab of the lab running an older version: close it and try again. The session is still in memory: export it to keep it.'));
        }, o.blockedTimeoutMs ?? 3000);
      },
      blocking() {
        conn?.close(); // let the newer tab upgrade; our next call reopens (InvalidStateError → 'closed')
      },
    });
    opening.then(
      (db) => {
        clearTimeout(blockedTimer);
        if (settled) return db.close(); // we already gave up on it
        settled = true;
        conn = db;
        resolve(wrap(db));
      },
      (e: unknown) => {
        clearTimeout(blockedTimer);
        if (!settled) (settled = true), reject(e);
      },
    );
  });
}

type WriteTx = IDBPTransaction<unknown, string[], 'readwrite'>;

/** Writes in one transaction; on failure report tx.error (e.g. QuotaExceededError), not the AbortError that
 *  the individual requests reject with. */
async function write(db: IDBPDatabase, f: (tx: WriteTx) => Promise<unknown>[]): Promise<void> {
  const tx = db.transaction(['sessions', 'summaries'], 'readwrite');
  try {
    await Promise.all([...f(tx), tx.done]);
  } catch (e) {
    throw tx.error ?? e;
  }
}

function wrap(db: IDBPDatabase): SessionDb {
  return {
    getSession: (id) => db.get('sessions', id),
    getSummaries: () => db.getAll('summaries'),
    put: (session: Session, summary: SessionSummary) => write(db, (tx) => [tx.objectStore('sessions').put(session), tx.objectStore('summaries').put(summary)]),
    delete: (id) => write(db, (tx) => [tx.objectStore('sessions').delete(id), tx.objectStore('summaries').delete(id)]),
  };
}

/** The app's store: IndexedDB, opened lazily on first use. */
export function idbSessionStore(o: IdbOptions = {}): SessionStore {
  return new SessionStore(() => openIdbSessionDb(o));
}
