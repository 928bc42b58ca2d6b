// The sessions view: every stored session (name, created, runs, models), with rename, delete (confirmed),
// JSON/CSV export and a look at its runs; "New session"; import of session files by file picker or by
// drag-and-drop anywhere on the view. A file that fails validation shows the validator's message (naming the
// first bad field) and nothing is imported.
import { useSignal } from '@preact/signals';
import { summarize, type SessionSummary } from '../../bench/store';
import { errorInfo } from '../../engine/client';
import { go } from './nav';
import { importSessionFile } from './io';
import { current, listError, saveState, startNewSession, summaries } from './recording';
import { SessionRow } from './SessionRow';

export interface Message {
  kind: 'error' | 'ok';
  text: string;
}

export function SessionsView() {
  const msg = useSignal<Message | null>(null);
  const dragging = useSignal(false);

  async function importFiles(files: File[]): Promise<void> {
    if (files.length === 0) return;
    const done: string[] = [];
    for (const f of files) {
      try {
        const { session, copied } = await importSessionFile(f);
        done.push(`"${session.name}" (${session.runs.length} runs${copied ? ', imported as a copy: that session is already here' : ''})`);
      } catch (e) {
        const { name, message } = errorInfo(e);
        const why = `${f.name}: ${name === 'Error' ? '' : `${name}: `}${message.replace(/([^.])$/, '$1.')}`;
        msg.value = { kind: 'error', text: `${why} ${done.length ? `Imported before it: ${done.join(', ')}.` : 'Nothing was imported.'}` };
        return;
      }
    }
    msg.value = { kind: 'ok', text: `Imported ${done.join(', ')}.` };
  }

  // The list: stored summaries, plus the current session when it is not stored (a save failed or is pending).
  // The current session's row comes from memory (it may be ahead of the store: saving, or a save failed).
  const cur = current.value;
  const unsaved = saveState.value.state === 'error';
  const list: (SessionSummary & { unsaved?: boolean })[] = summaries.value.filter((x) => x.id !== cur?.id);
  if (cur) list.unshift({ ...summarize(cur), unsaved: unsaved || !summaries.value.some((x) => x.id === cur.id) });
  const m = msg.value;
  return (
    <div
      class={`view sessions-view${dragging.value ? ' dragging' : ''}`}
      data-testid="sessions-view"
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        dragging.value = true;
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) dragging.value = false;
      }}
      onDrop={(e) => {
        e.preventDefault();
        dragging.value = false;
        void importFiles([...(e.dataTransfer?.files ?? [])]);
      }}
    >
      <div class="toolbar">
        <h2>Sessions</h2>
        <button data-testid="new-session" onClick={() => void startNewSession().then(() => (msg.value = saveState.value.state === 'error' ? { kind: 'error', text: saveState.value.message } : null))}>
          New session
        </button>
        <label class="button secondary" title="A session file exported from the lab or written by the bench CLI">
          Import JSON…
          <input
            type="file"
            accept=".json,application/json"
            multiple
            data-testid="import-file"
            onChange={(e) => {
              const input = e.currentTarget as HTMLInputElement;
              void importFiles([...(input.files ?? [])]).finally(() => (input.value = ''));
            }}
          />
        </label>
        <span class="muted small">or drop session files anywhere on this page</span>
        <span class="spacer" />
        <button class="secondary" data-testid="open-compare" onClick={() => go('compare')}>
          Compare runs →
        </button>
      </div>
      {m && (
        <div class={`banner ${m.kind === 'error' ? 'error' : 'notice'} inline`} role={m.kind === 'error' ? 'alert' : 'status'} data-testid={m.kind === 'error' ? 'import-error' : 'import-ok'}>
          <span class="banner-text">{m.text}</span>
          <button class="ghost" aria-label="Dismiss" onClick={() => (msg.value = null)}>
            ×
          </button>
        </div>
      )}
      {listError.value && (
        <p class="warn" data-testid="list-error">
          {listError.value}
        </p>
      )}
      {list.length === 0 ? (
        <p class="muted empty" data-testid="sessions-empty">
          No sessions yet. Generate in the lab and each run is recorded here, or import a session file.
        </p>
      ) : (
        <table class="sessions" data-testid="sessions-table">
          <thead>
            <tr>
              <th>name</th>
              <th>created</th>
              <th class="num">runs</th>
              <th>models</th>
              <th>engines</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <SessionRow key={s.id} s={s} isCurrent={cur?.id === s.id} unsaved={!!s.unsaved} onMessage={(x) => (msg.value = x)} />
            ))}
          </tbody>
        </table>
      )}
      <div class="drop-hint" aria-hidden="true">
        Drop to import
      </div>
    </div>
  );
}
