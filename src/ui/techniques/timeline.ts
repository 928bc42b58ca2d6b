// The latency chart's timeline: the last few finished runs side by side (x = decoded token, counted across
// those runs; a gap between runs), then the live run, with a vertical marker wherever the technique settings
// switched (a configure applies between runs: the engine waits for a running generation). Run boundaries get a
// faint line. Markers are DOM labels over the plot (class "switch-mark", data-testid "switch-marker").

import { computed, effect } from '@preact/signals';
import type uPlot from 'uplot';
import { tokenGaps } from '../format';
import { finalMetrics, tokenTimes } from '../state';
import { latencyRuns, runsDone, switchEvents } from './state';

/** Runs kept on the chart. */
const MAX_RUNS = 6;

// Every finished run joins the timeline (finalMetrics is set once per finished Generate).
let lastFinal: unknown = null;
effect(() => {
  const fin = finalMetrics.value;
  if (!fin || fin === lastFinal) return;
  lastFinal = fin;
  const seq = runsDone.peek() + 1;
  runsDone.value = seq;
  latencyRuns.value = [...latencyRuns.peek(), { seq, tokenMs: [...fin.tokenMs] }].slice(-MAX_RUNS);
});

export interface Mark {
  x: number;
  kind: 'switch' | 'run';
  label: string;
}

export interface Timeline {
  data: uPlot.AlignedData;
  marks: Mark[];
}

export const timeline = computed<Timeline>(() => {
  const runs: { seq: number; tokenMs: number[] }[] = [...latencyRuns.value];
  const done = runsDone.value;
  if (!finalMetrics.value && tokenTimes.value.length > 0) runs.push({ seq: done + 1, tokenMs: tokenGaps(tokenTimes.value) });
  const xs: number[] = [];
  const ys: (number | null)[] = [];
  const starts: { seq: number; x: number }[] = [];
  let offset = 0;
  for (const r of runs) {
    if (offset > 0) {
      xs.push(offset + 0.5); // a gap between runs
      ys.push(null);
    }
    starts.push({ seq: r.seq, x: offset + 0.5 });
    r.tokenMs.forEach((ms, i) => {
      xs.push(offset + i + 1);
      ys.push(ms);
    });
    offset += r.tokenMs.length + (r.tokenMs.length ? 1 : 0);
  }
  const end = offset + 0.5;
  const marks: Mark[] = starts.slice(1).map((s) => ({ x: s.x, kind: 'run' as const, label: '' }));
  const first = runs[0]?.seq ?? done + 1;
  for (const ev of switchEvents.value) {
    if (ev.runsBefore + 1 < first) continue; // before the oldest run shown
    const at = starts.find((s) => s.seq > ev.runsBefore);
    marks.push({ x: at ? at.x : end, kind: 'switch', label: ev.label });
  }
  // keep a marker placed after the last run inside the x range
  if (marks.some((m) => m.x >= end)) {
    xs.push(end);
    ys.push(null);
  }
  return { data: [xs, ys] as uPlot.AlignedData, marks };
});

/** A uPlot plugin drawing the timeline's markers as labelled vertical lines over the plot. */
export function switchMarkers(): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        for (const el of [...u.over.querySelectorAll('.tl-mark')]) el.remove();
        const marks = timeline.peek().marks;
        const width = u.over.clientWidth;
        const rows: [number, number][][] = []; // label extents already placed, per row
        for (const m of marks) {
          const left = u.valToPos(m.x, 'x');
          if (!Number.isFinite(left)) continue;
          const line = document.createElement('div');
          line.className = `tl-mark ${m.kind === 'switch' ? 'switch-mark' : 'run-mark'}`;
          line.style.left = `${left}px`;
          u.over.appendChild(line);
          if (m.kind !== 'switch') continue;
          line.dataset.testid = 'switch-marker';
          line.title = `settings switched to ${m.label}`;
          const label = document.createElement('span');
          label.className = 'switch-label';
          label.textContent = m.label;
          line.appendChild(label);
          // right of the line, shifted left as far as needed to stay inside the plot; a lower row on overlap
          const w = label.offsetWidth;
          const start = Math.max(0, Math.min(left + 3, width - w));
          const ext: [number, number] = [start, start + w + 4];
          let row = rows.findIndex((r) => r.every(([a, b]) => ext[1] <= a || ext[0] >= b));
          if (row < 0) row = rows.push([]) - 1;
          rows[row]!.push(ext);
          label.style.top = `${2 + row * 14}px`;
          label.style.left = `${start - left}px`;
        }
      },
    },
  };
}
