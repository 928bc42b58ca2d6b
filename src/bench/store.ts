// SessionStore: sessions that survive reloads. It talks to storage through SessionDb, a four-method interface
// (store-idb.ts implements it on IndexedDB with `idb`; tests inject an in-memory one), and adds what the app
// needs on top: typed errors, validation of what is read back, summaries for the list, rename.
//
// Storage can fail: a full quota, IndexedDB missing or blocked (private windows, another tab holding an older
// schema, a denied origin). The store never edits a Session it is given, so a failed put leaves the caller's
// in-memory session intact and exportable; the failure arrives as a StorageError subclass whose message can
// be shown as is ("…export the session to keep it").

import { LIMITS, type Session } from './schema';
import { SessionValidationError, validateSession } from './validate';
import { renameSession } from './session';

/** One line of the session list (kept beside each session, so listing never loads runs). */
export interface SessionSummary {
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
  run_count: number;
  /** Distinct engines and model names over the runs, in first-seen order. */
  engines: string[];
  models: string[];
}

/** The storage a SessionStore needs. put and delete are atomic over the session and its summary. */
export interface SessionDb {
  getSession(id: string): Promise<unknown>;
  getSummaries(): Promise<unknown[]>;
  put(session: Session, summary: SessionSummary): Promise<void>;
  delete(id: string): Promise<void>;
}

/** Base of every storage failure. `cause` holds the original DOMException/Error. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The origin's storage quota is full; nothing was written. */
export class StorageQuotaError extends StorageError {
  override name = 'StorageQuotaError';
}

export type UnavailableReason = 'missing' | 'blocked' | 'denied' | 'closed' | 'version' | 'failed';

/** IndexedDB cannot be used now (missing, blocked by another tab, denied, closed, newer schema, failed). */
export class StorageUnavailableError extends StorageError {
  override name = 'StorageUnavailableError';
  constructor(
    readonly reason: UnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const KEEP = 'Nothing was saved; the session is still in memory: export it to keep it.';

const errorName = (e: unknown): string => (e && typeof e === 'object' && 'name' in e ? String((e as { name: unknown }).name) : '');
const errorText = (e: unknown): string => (e instanceof Error || (e && typeof e === 'object' && 'message' in e) ? String((e as { message: unknown }).message) : String(e));

/** Map what IndexedDB (or anything under SessionDb) threw to a typed StorageError. */
export function toStorageError(e: unknown, doing: string): StorageError {
  if (e instanceof StorageError) return e;
  const name = errorName(e);
  const text = errorText(e);
  const code = e && typeof e === 'object' && 'code' in e ? (e as { code: unknown }).code : undefined;
  if (name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || code === 22 || code === 1014) {
    return new StorageQuotaError(`Browser storage is full while ${doing}. ${KEEP} Delete old sessions to make room.`, { cause: e });
  }
  const reason: UnavailableReason | null =
    name === 'SecurityError' || name === 'NotAllowedError'
      ? 'denied'
      : name === 'VersionError'
        ? 'version'
        : name === 'InvalidStateError'
          ? 'closed'
          : name === 'UnknownError' || name === 'AbortError' || name === 'TimeoutError' || name === 'NotFoundError' || name === 'DataError' || name === 'DataCloneError'
            ? 'failed'
            : null;
  if (reason) {
    const why =
      reason === 'version'
        ? 'session storage was upgraded by a newer version of the lab (in another tab?): reload this page'
        : reason === 'denied'
          ? 'this page may not use browser storage'
          : reason === 'closed'
            ? 'the storage connection was closed (by another tab upgrading it?)'
            : 'browser storage failed';
    return new StorageUnavailableError(reason, `Could not finish ${doing}: ${why} (${name}: ${text}). ${KEEP}`, { cause: e });
  }
  return new StorageError(`Storage failed while ${doing}: ${text}. ${KEEP}`, { cause: e });
}

export function summarize(s: Session): SessionSummary {
  const engines = [...new Set(s.runs.map((r) => r.engine))];
  const models = [...new Set(s.runs.map((r) => r.model.name))];
  return { id: s.id, name: s.name, created_at: s.created_at, updated_at: s.updated_at, run_count: s.runs.length, engines, models };
}

function isSummary(v: unknown): v is SessionSummary {
  const o = v as SessionSummary;
  return !!o && typeof o === 'object' && typeof o.id === 'string' && typeof o.name === 'string' && typeof o.updated_at === 'string' && typeof o.created_at === 'string' && Number.isInteger(o.run_count) && Array.isArray(o.engines) && Array.isArray(o.models);
}

export class SessionStore {
  private db: Promise<SessionDb> | null = null;

  /** `open` makes the SessionDb; it is retried on the next call after it fails (e.g. once the blocking tab closes). */
  constructor(private readonly open: () => Promise<SessionDb>) {}

  private async conn(doing: string): Promise<SessionDb> {
    this.db ??= this.open();
    try {
      return await this.db;
    } catch (e) {
      this.db = null;
      throw toStorageError(e, doing);
    }
  }

  /** Run `f` on the connection; a connection closed under us (another tab upgrading) is reopened and `f`
   *  retried once. */
  private async call<T>(doing: string, f: (db: SessionDb) => Promise<T>, retried = false): Promise<T> {
    const db = await this.conn(doing);
    try {
      return await f(db);
    } catch (e) {
      const err = toStorageError(e, doing);
      if (err instanceof StorageUnavailableError && err.reason === 'closed') {
        this.db = null;
        if (!retried) return this.call(doing, f, true);
      }
      throw err;
    }
  }

  /** Every stored session's summary, most recently updated first. Malformed records are skipped. */
  async list(): Promise<SessionSummary[]> {
    const all = await this.call('listing sessions', (db) => db.getSummaries());
    return all.filter(isSummary).sort((a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0));
  }

  /** The stored session, validated (undefined if absent). A record that fails validation throws
   *  SessionValidationError with the path prefixed by the session id. */
  async get(id: string): Promise<Session | undefined> {
    const raw = await this.call('reading a session', (db) => db.getSession(id));
    if (raw === undefined) return undefined;
    try {
      return validateSession(raw);
    } catch (e) {
      if (e instanceof SessionValidationError) throw new SessionValidationError(`stored session ${JSON.stringify(id)}: ${e.path}`, e.detail);
      throw e;
    }
  }

  /** Save (insert or replace) a session. Validates first, so the store only ever holds importable sessions. */
  async put(session: Session): Promise<void> {
    validateSession(session);
    await this.call(`saving "${session.name.slice(0, LIMITS.nameChars)}"`, (db) => db.put(session, summarize(session)));
  }

  /** Rename a stored session; returns the renamed copy (undefined if absent). */
  async rename(id: string, name: string, now?: Date | string): Promise<Session | undefined> {
    const s = await this.get(id);
    if (!s) return undefined;
    const renamed = renameSession(s, name, now);
    await this.put(renamed);
    return renamed;
  }

  /** Delete a session (no error if absent). */
  async delete(id: string): Promise<void> {
    await this.call('deleting a session', (db) => db.delete(id));
  }
}
