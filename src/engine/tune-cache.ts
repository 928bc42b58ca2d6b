// Per-adapter cache of measured choices (autotuned kernel variants, copy bandwidth) in IndexedDB, which
// workers can reach (localStorage they cannot). A missing or blocked IndexedDB only means re-measuring.
import { openDB, type IDBPDatabase } from 'idb';

const DB = 'efficiency-lab-adapter-cache';
const STORE = 'choices';
let dbPromise: Promise<IDBPDatabase> | null = null;

function db(): Promise<IDBPDatabase> | null {
  if (typeof indexedDB === 'undefined') return null;
  dbPromise ??= openDB(DB, 1, { upgrade: (d) => void d.createObjectStore(STORE) });
  return dbPromise;
}

export async function readAdapterCache<T>(adapterKey: string, what: string): Promise<T | undefined> {
  try {
    return (await (await db())?.get(STORE, `${what}:${adapterKey}`)) as T | undefined;
  } catch {
    return undefined;
  }
}

export async function writeAdapterCache(adapterKey: string, what: string, value: unknown): Promise<void> {
  try {
    await (await db())?.put(STORE, value, `${what}:${adapterKey}`);
  } catch {
    /* not persisted: measured again next time */
  }
}
