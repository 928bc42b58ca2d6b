// The error banner: the typed error's name and message, as the engine (or the UI) raised it.
import { error, notice } from '../state';

export function ErrorBanner() {
  const e = error.value;
  const n = notice.value;
  return (
    <>
      {e && (
        <div class="banner error" role="alert" data-testid="error-banner">
          <span class="banner-text">
            <strong data-testid="error-name">{e.name}</strong>: <span data-testid="error-message">{e.message}</span>
          </span>
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
