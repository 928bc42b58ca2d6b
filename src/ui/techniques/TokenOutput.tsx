// Token colouring in the output (exit layer, accepted draft vs target-corrected tokens) and the "Dynamic
// compute" panel under it: the legend, a live histogram of exit layers, the speculative acceptance rate and
// tokens per target forward.
import { fmtNum } from '../format';
import { finalMetrics, outputText } from '../state';
import { modelLayers, techniqueSettings, tokenMarks } from './state';
import { DRAFT_COLOURS, draftCounts, exitHistogram, hasTechniqueMarks, layerColour, meanLayers, segments } from './tokens';

const DRAFT_TITLE = { accepted: 'accepted draft token', corrected: 'target token (correction or bonus)' } as const;

/** The output text; coloured per token when the tokens carry technique marks. Its text is always outputText. */
export function TokenOutput() {
  const text = outputText.value;
  const marks = tokenMarks.value;
  if (!hasTechniqueMarks(marks)) return <>{text}</>;
  const L = modelLayers();
  return (
    <>
      {segments(text, marks).map(({ text: t, mark }) => {
        const title = [mark.exitLayer != null ? `left at layer ${mark.exitLayer}` : '', mark.drafted ? DRAFT_TITLE[mark.drafted] : ''].filter(Boolean).join(' · ');
        const bg = mark.exitLayer != null ? layerColour(mark.exitLayer, L) : mark.drafted ? DRAFT_COLOURS[mark.drafted] : undefined;
        return (
          <span
            key={mark.index}
            class={`tok${mark.drafted ? ` tok-${mark.drafted}` : ''}`}
            style={bg ? { background: bg } : undefined}
            title={title}
            data-testid="token"
            data-exit-layer={mark.exitLayer}
            data-drafted={mark.drafted}
          >
            {t}
          </span>
        );
      })}
    </>
  );
}

function ExitHistogram({ hist, L }: { hist: number[]; L: number }) {
  const max = Math.max(1, ...hist);
  const total = hist.reduce((a, b) => a + b, 0);
  const fin = finalMetrics.value?.early_exit;
  const avg = fin ? fin.avg_layers : meanLayers(hist);
  return (
    <div data-testid="exit-histogram">
      <h3>
        Exit layer · mean <span data-testid="exit-avg-layers">{fmtNum(avg)}</span> of {L || '?'} layers
      </h3>
      <div class="exit-hist">
        {hist.map((c, i) => (
          <div class="exit-bar" key={i} data-testid="exit-bar" data-layer={i + 1} data-count={c} title={`${c} of ${total} tokens left at layer ${i + 1}`}>
            <span class="exit-count">{c || ''}</span>
            <span class="exit-fill" style={{ height: `${(100 * c) / max}%`, background: layerColour(i + 1, L || hist.length) }} />
            <span class="exit-layer">{i + 1}</span>
          </div>
        ))}
      </div>
    </div>
  );
}

export function TechniqueEffects() {
  const marks = tokenMarks.value;
  const fin = finalMetrics.value;
  const s = techniqueSettings.value;
  const L = modelLayers();
  const hist = exitHistogram(marks, L, fin);
  const hasExit = marks.some((m) => m.exitLayer != null) || !!fin?.early_exit;
  const drafts = draftCounts(marks);
  const hasSpec = drafts.accepted + drafts.corrected > 0 || !!fin?.speculative;
  if (!hasExit && !hasSpec && !s.earlyExit.enabled && !s.speculative.enabled) return null;
  const spec = fin?.speculative;
  return (
    <section class="panel" data-testid="technique-effects">
      <h2>Dynamic compute</h2>
      {!hasExit && !hasSpec && <p class="muted small">Generate to see which layer each token left at, or which tokens the draft got right.</p>}
      {hasExit && (
        <>
          <div class="legend" data-testid="exit-legend">
            <span>token colour = layer it left at:</span>
            {Array.from({ length: L || hist.length }, (_, i) => (
              <span key={i}>
                <span class="swatch" style={{ background: layerColour(i + 1, L || hist.length) }} />
                {i + 1 === L ? `${L} (all layers)` : i + 1}
              </span>
            ))}
          </div>
          <ExitHistogram hist={hist} L={L} />
        </>
      )}
      {hasSpec && (
        <>
          <div class="legend" data-testid="draft-legend">
            <span>
              <span class="swatch tok-accepted" style={{ background: DRAFT_COLOURS.accepted }} />
              accepted draft token
            </span>
            <span>
              <span class="swatch tok-corrected" style={{ background: DRAFT_COLOURS.corrected }} />
              target token (correction or bonus)
            </span>
          </div>
          <div class="metrics tf-q" data-testid="spec-stats">
            <div class="metric" title="Fraction of drafted tokens the target accepted">
              <span class="label">acceptance rate</span>
              <span class="value" data-testid="spec-acceptance">
                {spec ? `${fmtNum(100 * spec.acceptance_rate)}%` : '–'}
              </span>
            </div>
            <div class="metric" title="Tokens emitted per forward pass of the target">
              <span class="label">tokens / target forward</span>
              <span class="value" data-testid="spec-tpf">
                {spec ? fmtNum(spec.tokens_per_target_forward) : '–'}
              </span>
            </div>
            <div class="metric">
              <span class="label">accepted / emitted</span>
              <span class="value" data-testid="spec-accepted">
                {drafts.accepted}/{drafts.accepted + drafts.corrected}
              </span>
            </div>
          </div>
        </>
      )}
    </section>
  );
}
