// Import and export of whole sessions from the sessions view. Import validates the entire file first
// (importBlob: typed errors naming the first bad field) and stores nothing unless it passes; a file whose id is
// already stored (e.g. re-importing an export) comes in as a copy under a fresh id.

import { exportCsv } from '../../bench/csv';
import type { Session } from '../../bench/schema';
import { copySession, exportFileName, exportJson, importBlob } from '../../bench/session';
import { download } from './describe';
import { current, loadSession, refreshList, store } from './recording';

const COPY = ' (copy)';

async function idTaken(id: string): Promise<boolean> {
  if (current.value?.id === id) return true;
  try {
    return (await store.get(id)) !== undefined;
  } catch {
    return true; // a stored record under that id exists but is unreadable: do not overwrite it
  }
}

/** Validate and store one session file; returns what was stored. Throws SessionImportError (nothing stored)
 *  or StorageError. */
export async function importSessionFile(file: Blob): Promise<{ session: Session; copied: boolean }> {
  const s = await importBlob(file);
  const copied = await idTaken(s.id);
  const session = copied ? copySession(s, { name: `${s.name.slice(0, 200 - COPY.length)}${COPY}` }) : s;
  await store.put(session);
  await refreshList();
  return { session, copied };
}

/** Download a session as JSON (the format, importable) or CSV (one row per run). */
export async function exportSession(id: string, kind: 'json' | 'csv'): Promise<void> {
  const s = await loadSession(id);
  if (!s) throw new Error('This session is no longer stored (deleted in another tab?).');
  if (kind === 'json') download(exportJson(s), exportFileName(s, 'json'), 'application/json');
  else download(exportCsv(s), exportFileName(s, 'csv'), 'text/csv');
}
