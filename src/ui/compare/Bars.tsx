// The compare view's bar charts, drawn as plain CSS bars (divs whose width is the value's share of the row's
// maximum): decode tok/s per run, GPU memory by purpose per run (stacked), and the quality figures per run.
// Simpler than uPlot's bars path builder for a handful of horizontal bars, and they read well at any width.
import { GPU_BYTES_FIELDS } from '../../bench/schema';
import { fmtBytes, fmtNum } from '../format';
import { gpuTotal, type Picked } from './data';

function BarList({ picked, get, fmt, testId, hint }: { picked: Picked[]; get: (p: Picked) => number | null | undefined; fmt: (v: number) => string; testId: string; hint: string }) {
  const rows = picked.flatMap((p) => {
    const v = get(p);
    return v == null ? [] : [{ p, v }];
  });
  if (rows.length === 0) return <p class="muted small" data-testid={`${testId}-none`}>{hint}</p>;
  const max = Math.max(...rows.map((r) => r.v)) || 1;
  return (
    <div class="hbars" data-testid={testId}>
      {rows.map(({ p, v }) => (
        <div class="hbar" key={p.key} title={p.name}>
          <span class="hbar-label">{p.name}</span>
          <span class="hbar-track">
            <span class="hbar-fill" data-testid={`${testId}-bar`} data-value={v} style={{ width: `${(100 * v) / max}%`, background: p.color }} />
          </span>
          <span class="hbar-value">{fmt(v)}</span>
        </div>
      ))}
    </div>
  );
}

export function DecodeBars({ picked }: { picked: Picked[] }) {
  return (
    <figure class="panel chart-card">
      <figcaption>Decode speed <span class="muted">(tok/s, higher is better)</span></figcaption>
      <BarList picked={picked} get={(p) => p.run.metrics.decode_tok_s} fmt={(v) => fmtNum(v)} testId="decode-bars" hint="None of the picked runs decoded (quality runs have no speed)." />
    </figure>
  );
}

const MEM_COLORS: Record<(typeof GPU_BYTES_FIELDS)[number], string> = { weights: '#2563eb', kv: '#7c3aed', activations: '#0891b2', staging: '#ca8a04', uniforms: '#9ca3af' };

export function MemoryBars({ picked }: { picked: Picked[] }) {
  const rows = picked.filter((p) => p.run.metrics.gpu_bytes);
  const max = Math.max(1, ...rows.map((p) => gpuTotal(p.run) ?? 0));
  return (
    <figure class="panel chart-card">
      <figcaption>GPU memory by purpose</figcaption>
      {rows.length === 0 ? (
        <p class="muted small">None of the picked runs reports GPU memory.</p>
      ) : (
        <>
          <div class="hbars" data-testid="memory-bars">
            {rows.map((p) => {
              const b = p.run.metrics.gpu_bytes!;
              return (
                <div class="hbar" key={p.key}>
                  <span class="hbar-label" title={p.name}>
                    <span class="swatch" style={{ background: p.color }} />
                    {p.name}
                  </span>
                  <span class="hbar-track stacked">
                    {GPU_BYTES_FIELDS.map((k) => (
                      <span key={k} class="hbar-fill" data-testid={`memory-${k}`} title={`${k}: ${fmtBytes(b[k])}`} style={{ width: `${(100 * b[k]) / max}%`, background: MEM_COLORS[k] }} />
                    ))}
                  </span>
                  <span class="hbar-value">{fmtBytes(gpuTotal(p.run))}</span>
                </div>
              );
            })}
          </div>
          <div class="legend small">
            {GPU_BYTES_FIELDS.map((k) => (
              <span key={k}>
                <span class="swatch" style={{ background: MEM_COLORS[k] }} />
                {k === 'kv' ? 'KV cache' : k}
              </span>
            ))}
          </div>
        </>
      )}
    </figure>
  );
}

export function QualityBars({ picked }: { picked: Picked[] }) {
  const withQ = picked.filter((p) => p.run.quality);
  return (
    <figure class="panel chart-card" data-testid="quality-card">
      <figcaption>Quality <span class="muted">(held-out text; agreement and KL against dense f32)</span></figcaption>
      {withQ.length === 0 ? (
        <p class="muted small" data-testid="quality-none">
          None of the picked runs has quality figures: use “Measure quality” in the lab, then pick that run.
        </p>
      ) : (
        <div class="quality-groups" data-testid="quality-bars">
          <h4>perplexity ↓</h4>
          <BarList picked={withQ} get={(p) => p.run.quality?.perplexity} fmt={(v) => fmtNum(v)} testId="ppl" hint="not measured" />
          <h4>top-1 agreement ↑</h4>
          <BarList picked={withQ} get={(p) => p.run.quality?.top1_agreement} fmt={(v) => `${fmtNum(100 * v)}%`} testId="top1" hint="dense f32 is the reference: agreement is measured for other settings" />
          <h4>KL vs dense ↓</h4>
          <BarList picked={withQ} get={(p) => p.run.quality?.kl} fmt={(v) => fmtNum(v)} testId="kl" hint="dense f32 is the reference: KL is measured for other settings" />
        </div>
      )}
    </figure>
  );
}
