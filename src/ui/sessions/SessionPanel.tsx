// The lab's view of the session being recorded: its name, how many runs, whether it is saved, the last run;
// "New session" and "Export". SaveBanner is the app-wide notice of a failed save, with the Export button that
// keeps the in-memory session.
import { exportFileName, exportJson } from '../../bench/session';
import { fmtNum } from '../format';
import { download, runTitle } from './describe';
import { go } from './nav';
import { current, saveState, startNewSession } from './recording';

export function exportCurrent(): void {
  const s = current.value;
  if (s) download(exportJson(s), exportFileName(s, 'json'), 'application/json');
}

const SAVE_TEXT = { idle: 'not saved yet', saving: 'saving…', saved: 'saved', error: 'NOT SAVED' } as const;

export function SessionPanel() {
  const s = current.value;
  const st = saveState.value;
  const last = s?.runs[s.runs.length - 1];
  const q = last?.quality;
  return (
    <section class="panel" data-testid="session-panel">
      <div class="row spread">
        <h2>Session</h2>
        <button class="link" data-testid="open-sessions" onClick={() => go('sessions')}>
          all sessions →
        </button>
      </div>
      {s ? (
        <dl class="kv">
          <dt>name</dt>
          <dd data-testid="current-session-name">{s.name}</dd>
          <dt>runs</dt>
          <dd>
            <span data-testid="current-session-runs">{s.runs.length}</span>{' '}
            <span class={`small save-${st.state}`} data-testid="save-status" data-state={st.state}>
              ({SAVE_TEXT[st.state]})
            </span>
          </dd>
          {last && (
            <>
              <dt>last run</dt>
              <dd data-testid="last-run">
                {runTitle(last)}
                <span class="muted">
                  {last.metrics.decode_tok_s != null && ` · ${fmtNum(last.metrics.decode_tok_s)} tok/s`}
                  {q?.perplexity != null && ` · perplexity ${fmtNum(q.perplexity)}`}
                  {q?.top1_agreement != null && ` · top-1 ${fmtNum(100 * q.top1_agreement)}%`}
                </span>
              </dd>
            </>
          )}
        </dl>
      ) : (
        <p class="muted small" data-testid="current-session-none">
          Every Generate and every quality measurement is recorded here automatically, and saved in this browser.
        </p>
      )}
      <div class="row gap-top">
        <button class="secondary" data-testid="new-session-lab" disabled={!s || s.runs.length === 0} onClick={() => void startNewSession()}>
          New session
        </button>
        <button class="secondary" data-testid="export-current" disabled={!s} onClick={exportCurrent}>
          Export
        </button>
      </div>
    </section>
  );
}

export function SaveBanner() {
  const st = saveState.value;
  if (st.state !== 'error') return null;
  return (
    <div class="banner error" role="alert" data-testid="save-error">
      <span class="banner-text">
        <strong>Session not saved</strong>: <span data-testid="save-error-message">{st.message}</span>
      </span>
      <button data-testid="save-error-export" disabled={!current.value} onClick={exportCurrent}>
        Export JSON
      </button>
    </div>
  );
}
