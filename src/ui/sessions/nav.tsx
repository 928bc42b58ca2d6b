// The app's three views — the lab, the sessions list, the compare view — as tabs in the header. The view is
// kept in the URL hash (#/sessions, #/compare), so a reload or a shared link opens the same view.
import { signal } from '@preact/signals';

export type View = 'lab' | 'sessions' | 'compare';
const VIEWS: [View, string][] = [
  ['lab', 'Lab'],
  ['sessions', 'Sessions'],
  ['compare', 'Compare'],
];

const fromHash = (): View => {
  const h = location.hash.replace(/^#\/?/, '');
  return h === 'sessions' || h === 'compare' ? h : 'lab';
};

export const view = signal<View>(fromHash());
window.addEventListener('hashchange', () => (view.value = fromHash()));

export function go(v: View): void {
  view.value = v;
  const hash = v === 'lab' ? '' : `#/${v}`;
  if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
}

export function Nav() {
  return (
    <nav class="tabs" aria-label="views">
      {VIEWS.map(([v, label]) => (
        <button key={v} class={`tab${view.value === v ? ' active' : ''}`} aria-current={view.value === v ? 'page' : undefined} data-testid={`nav-${v}`} onClick={() => go(v)}>
          {label}
        </button>
      ))}
    </nav>
  );
}
