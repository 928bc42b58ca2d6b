// Picking runs to compare, from any session: one checkbox per run, one per session (all of its runs). The
// picks survive switching views (module-level signals); sessions are (re)loaded whenever the store changes.
import { computed, signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type { Session } from '../../bench/schema';
import { errorInfo } from '../../engine/client';
import { fmtNum } from '../format';
import { fmtTime, runTitle } from '../sessions/describe';
import { current, loadSession, storeVersion, summaries } from '../sessions/recording';
import { PALETTE, pickKey, type Picked } from './data';

/** Picked run keys (session id :: run id), in the order they were picked (which fixes their colours). */
export const picks = signal<string[]>([]);
/** Every listed session, loaded: the current one (in memory, maybe unsaved) first, then the stored ones. */
export const sessions = signal<Session[]>([]);
export const loadError = signal<string | null>(null);
/** Sessions whose run list is folded away. */
const collapsed = signal<Set<string>>(new Set());
const fold = (id: string) => {
  const c = new Set(collapsed.value);
  if (!c.delete(id)) c.add(id);
  collapsed.value = c;
};

export const picked = computed<Picked[]>(() => {
  const byKey = new Map<string, { session: Session; run: Session['runs'][number] }>();
  for (const session of sessions.value) for (const run of session.runs) byKey.set(pickKey(session.id, run.id), { session, run });
  return picks.value.flatMap((key) => {
    const hit = byKey.get(key);
    return hit ? [{ key, ...hit }] : [];
  }).map((p, i) => ({ ...p, color: PALETTE[i % PALETTE.length]!, name: `#${i + 1} ${runTitle(p.run)}` }));
});

async function loadAll(): Promise<void> {
  const cur = current.value;
  const ids = [...(cur ? [cur.id] : []), ...summaries.value.map((s) => s.id).filter((id) => id !== cur?.id)];
  const out: Session[] = [];
  const errors: string[] = [];
  for (const id of ids) {
    try {
      const s = await loadSession(id);
      if (s) out.push(s);
    } catch (e) {
      errors.push(errorInfo(e).message);
    }
  }
  sessions.value = out;
  loadError.value = errors.length ? errors.join('\n') : null;
}

function toggle(keys: string[], on: boolean): void {
  const set = new Set(keys);
  picks.value = on ? [...picks.value, ...keys.filter((k) => !picks.value.includes(k))] : picks.value.filter((k) => !set.has(k));
}

export function RunPicker() {
  const version = storeVersion.value;
  const cur = current.value;
  useEffect(() => void loadAll(), [version, cur]);
  const colors = new Map(picked.value.map((p) => [p.key, p.color]));
  const list = sessions.value;
  return (
    <aside class="panel picker" data-testid="run-picker">
      <div class="row spread">
        <h2>Runs</h2>
        <button class="link" data-testid="pick-none" disabled={picks.value.length === 0} onClick={() => (picks.value = [])}>
          clear ({picks.value.length})
        </button>
      </div>
      {loadError.value && <p class="warn small">{loadError.value}</p>}
      {list.length === 0 && <p class="muted small">No sessions yet: runs recorded in the lab, or imported on the Sessions page, show up here.</p>}
      {list.map((s) => {
        const keys = s.runs.map((r) => pickKey(s.id, r.id));
        const n = keys.filter((k) => colors.has(k)).length;
        return (
          <div key={s.id} class="pick-session">
            <div class="pick-head">
              <input
                type="checkbox"
                data-testid="pick-session"
                data-session-id={s.id}
                aria-label={`all runs of ${s.name}`}
                disabled={keys.length === 0}
                checked={n > 0 && n === keys.length}
                ref={(el) => {
                  if (el) el.indeterminate = n > 0 && n < keys.length;
                }}
                onChange={(e) => toggle(keys, (e.currentTarget as HTMLInputElement).checked)}
              />
              <button class="link strong" title={collapsed.value.has(s.id) ? 'Show runs' : 'Hide runs'} onClick={() => fold(s.id)}>
                <span class="caret">{collapsed.value.has(s.id) ? '▸' : '▾'}</span> {s.name}
              </button>
              <span class="muted small">{s.runs.length} runs</span>
            </div>
            {!collapsed.value.has(s.id) && s.runs.map((r) => <PickRun key={r.id} run={r} pick={pickKey(s.id, r.id)} color={colors.get(pickKey(s.id, r.id))} />)}
          </div>
        );
      })}
    </aside>
  );
}

function PickRun({ run: r, pick, color }: { run: Session['runs'][number]; pick: string; color: string | undefined }) {
  const q = r.quality?.perplexity;
  return (
    <label class="pick-run" title={`${r.model.name} · ${r.started_at}`}>
      <input type="checkbox" data-testid="pick-run" data-key={pick} checked={!!color} onChange={(e) => toggle([pick], (e.currentTarget as HTMLInputElement).checked)} />
      <span class="swatch" style={{ background: color ?? 'transparent' }} />
      <span class="pick-text">
        {runTitle(r)}
        <span class="muted small">
          {' '}
          · {fmtTime(r.started_at).slice(11)}
          {r.metrics.decode_tok_s != null && ` · ${fmtNum(r.metrics.decode_tok_s)} tok/s`}
          {q != null && ` · ppl ${fmtNum(q)}`}
        </span>
      </span>
    </label>
  );
}
