// One session in the sessions list: rename in place, delete with an inline confirmation, export JSON/CSV, and a
// fold-out table of its runs (loaded when opened).
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type { Session } from '../../bench/schema';
import type { SessionSummary } from '../../bench/store';
import { errorInfo } from '../../engine/client';
import { fmtNum } from '../format';
import { fmtTime, runTitle } from './describe';
import { exportSession } from './io';
import { deleteAny, loadSession, renameAny, storeVersion } from './recording';
import type { Message } from './SessionsView';

interface Props {
  s: SessionSummary;
  isCurrent: boolean;
  unsaved: boolean;
  onMessage: (m: Message | null) => void;
}

export function SessionRow({ s, isCurrent, unsaved, onMessage }: Props) {
  const editing = useSignal<string | null>(null);
  const confirming = useSignal(false);
  const open = useSignal(false);
  const fail = (e: unknown) => onMessage({ kind: 'error', text: errorInfo(e).message });

  async function commitRename(): Promise<void> {
    const name = editing.value;
    editing.value = null;
    if (name === null || name.trim() === s.name) return;
    await renameAny(s.id, name).catch(fail);
  }

  return (
    <>
      <tr data-testid="session-row" data-session-id={s.id} class={isCurrent ? 'current' : ''}>
        <td class="name">
          {editing.value !== null ? (
            <input
              type="text"
              data-testid="rename-input"
              value={editing.value}
              maxLength={200}
              ref={(el) => el?.focus()}
              onInput={(e) => (editing.value = (e.currentTarget as HTMLInputElement).value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') void commitRename();
                if (e.key === 'Escape') editing.value = null;
              }}
              onBlur={() => void commitRename()}
            />
          ) : (
            <button class="link strong" data-testid="session-name" title="Show runs" onClick={() => (open.value = !open.value)}>
              <span class="caret">{open.value ? '▾' : '▸'}</span> {s.name}
            </button>
          )}
          {isCurrent && <span class="chip" title="New runs are recorded into this session">recording</span>}
          {unsaved && <span class="chip warn" data-testid="session-unsaved">not saved</span>}
        </td>
        <td class="nowrap" title={s.created_at}>
          {fmtTime(s.created_at)}
        </td>
        <td class="num" data-testid="session-runs">
          {s.run_count}
        </td>
        <td data-testid="session-models">{s.models.join(', ') || '–'}</td>
        <td class="muted">{s.engines.join(', ') || '–'}</td>
        <td class="actions">
          {confirming.value ? (
            <span class="confirm">
              Delete “{s.name}” and its {s.run_count} runs?{' '}
              <button class="danger" data-testid="delete-confirm" onClick={() => void deleteAny(s.id).catch(fail).finally(() => (confirming.value = false))}>
                Delete
              </button>{' '}
              <button class="secondary" data-testid="delete-cancel" onClick={() => (confirming.value = false)}>
                Cancel
              </button>
            </span>
          ) : (
            <>
              <button class="secondary" data-testid="rename" onClick={() => (editing.value = s.name)}>
                Rename
              </button>
              <button class="secondary" data-testid="export-json" onClick={() => void exportSession(s.id, 'json').catch(fail)}>
                JSON
              </button>
              <button class="secondary" data-testid="export-csv" onClick={() => void exportSession(s.id, 'csv').catch(fail)}>
                CSV
              </button>
              <button class="danger" data-testid="delete" disabled={unsaved} onClick={() => (confirming.value = true)}>
                Delete
              </button>
            </>
          )}
        </td>
      </tr>
      {open.value && (
        <tr class="runs-row">
          <td colSpan={6}>
            <RunList id={s.id} />
          </td>
        </tr>
      )}
    </>
  );
}

function RunList({ id }: { id: string }) {
  const session = useSignal<Session | null>(null);
  const err = useSignal<string | null>(null);
  const version = storeVersion.value;
  useEffect(() => {
    loadSession(id).then(
      (s) => (session.value = s ?? null),
      (e) => (err.value = errorInfo(e).message),
    );
  }, [id, version]);
  if (err.value) return <p class="warn">{err.value}</p>;
  const s = session.value;
  if (!s) return <p class="muted small">loading…</p>;
  if (s.runs.length === 0) return <p class="muted small">No runs yet.</p>;
  return (
    <table class="runs" data-testid="session-runs-table">
      <thead>
        <tr>
          <th>started</th>
          <th>run</th>
          <th>model</th>
          <th class="num">prompt / generated</th>
          <th class="num">decode tok/s</th>
          <th class="num">perplexity</th>
          <th>output</th>
        </tr>
      </thead>
      <tbody>
        {s.runs.map((r) => (
          <tr key={r.id} data-testid="run-row">
            <td class="nowrap">{fmtTime(r.started_at)}</td>
            <td>{runTitle(r)}</td>
            <td>{r.model.name}</td>
            <td class="num">
              {r.metrics.prompt_tokens} / {r.metrics.generated_tokens}
            </td>
            <td class="num">{fmtNum(r.metrics.decode_tok_s)}</td>
            <td class="num">{fmtNum(r.quality?.perplexity)}</td>
            <td class="text" title={r.text}>
              {r.text.length > 80 ? `${r.text.slice(0, 80)}…` : r.text || '–'}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
