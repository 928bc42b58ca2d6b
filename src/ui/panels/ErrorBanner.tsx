// The error banner: the typed error's name and message, as the engine (or the UI) raised it. Two recoveries
// live here: after a DeviceLostError mid-generation, "Continue" resumes the interrupted run (prompt + the tokens
// generated before the loss, the rest of the budget, the same sampling); while the engine worker shows no sign
// of life during a call (the client's hang watchdog), "the engine is not responding" with a Restart button.
import { continueRun, engine, restartEngine } from '../actions';
import { busy, error, notice, resumable, unresponsive } from '../state';

function Unresponsive({ ms }: { ms: number }) {
  const auto = engine.watchdog.autoRestartMs;
  return (
    <div class="banner error" role="alert" data-testid="unresponsive-banner">
      <span class="banner-text">
        <strong>The engine is not responding</strong>: no answer for {Math.round(ms / 1000)} s.{' '}
        {auto > 0 ? `It will be restarted automatically after ${Math.round(auto / 1000)} s without an answer. ` : ''}
        Restart it now: the current call is abandoned, the model is reloaded and the technique settings re-applied.
      </span>
      <button data-testid="restart-engine" onClick={restartEngine}>
        Restart
      </button>
    </div>
  );
}

export function ErrorBanner() {
  const e = error.value;
  const n = notice.value;
  const r = resumable.value;
  const silent = unresponsive.value;
  return (
    <>
      {silent !== null && <Unresponsive ms={silent} />}
      {e && (
        <div class="banner error" role="alert" data-testid="error-banner">
          <span class="banner-text">
            <strong data-testid="error-name">{e.name}</strong>: <span data-testid="error-message">{e.message}</span>
            {r && e.name === 'DeviceLostError' && (
              <span data-testid="resume-info">
                {' '}
                {r.before.length} of {r.sampling.maxNewTokens} tokens were generated before the loss.
              </span>
            )}
          </span>
          {r && e.name === 'DeviceLostError' && (
            <button data-testid="continue-run" disabled={busy.value} onClick={() => void continueRun()}>
              Continue
            </button>
          )}
          <button class="ghost" title="Dismiss" aria-label="Dismiss" data-testid="error-dismiss" onClick={() => (error.value = null)}>
            ×
          </button>
        </div>
      )}
      {n && (
        <div class="banner notice" data-testid="notice">
          <span class="banner-text">{n}</span>
          <button class="ghost" title="Dismiss" aria-label="Dismiss" onClick={() => (notice.value = null)}>
            ×
          </button>
        </div>
      )}
    </>
  );
}
