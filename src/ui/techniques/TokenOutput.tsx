// Token colouring in the output (exit layer, accepted draft vs target-corrected tokens) and the "Dynamic
// compute" panel under it: the legend, a live histogram of exit layers with the early-exit quality under forced
// decoding beside it, the speculative acceptance rate, tokens per target forward and mean γ, and the A/B against
// the target alone (./ab.ts).
import { fmtNum } from '../format';
import { busy, finalMetrics, model, outputText } from '../state';
import { abError, abResult, abRunning, abStep, runAb } from './ab';
import { measureQuality } from './actions';
import { measuring, modelLayers, quality, sameSettings, techniqueSettings, tokenMarks } from './state';
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
    <div data-testid="exit-histogram" style={{ flex: '1 1 220px' }}>
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

/** Early exit's quality under forced decoding (engine.evaluate with exits on), beside the histogram. */
function ExitQuality() {
  const q = quality.value;
  const r = q?.report;
  const shown = r?.early_exit && sameSettings(r.settings, techniqueSettings.value) ? r : null;
  return (
    <div class="tf-quality" data-testid="exit-quality" style={{ flex: '1 1 220px' }}>
      <div class="row spread">
        <h3>Quality with exits (forced decoding)</h3>
        <button class="secondary" data-testid="exit-measure-quality" disabled={!model.value || measuring.value || busy.value || !techniqueSettings.value.earlyExit.enabled} onClick={() => void measureQuality()}>
          {measuring.value ? 'Measuring…' : 'Measure'}
        </button>
      </div>
      {shown ? (
        <div class="metrics tf-q">
          <div class="metric" title="Top-1 agreement with the full-depth dense f32 model, each position leaving where the rule says">
            <span class="label">top-1 vs full</span>
            <span class="value" data-testid="exit-q-top1">
              {shown.top1_agreement == null ? '–' : `${fmtNum(100 * shown.top1_agreement)}%`}
            </span>
          </div>
          <div class="metric" title="Mean KL(full model ‖ with exits) per token, nats">
            <span class="label">KL vs full</span>
            <span class="value" data-testid="exit-q-kl">
              {shown.kl == null ? '–' : fmtNum(shown.kl)}
            </span>
          </div>
          <div class="metric">
            <span class="label">perplexity</span>
            <span class="value" data-testid="exit-q-ppl">
              {fmtNum(shown.perplexity)}
            </span>
          </div>
          <div class="metric" title="Mean layers run per predicted token under forced decoding">
            <span class="label">layers / token</span>
            <span class="value" data-testid="exit-q-layers">
              {fmtNum(shown.early_exit!.avg_layers)}
            </span>
          </div>
        </div>
      ) : (
        <p class="muted small">Top-1 agreement, KL and perplexity on {q ? q.source : 'the held-out text'} with tokens exiting as the rule says.</p>
      )}
    </div>
  );
}

/** The A/B against the target alone: button, progress, the decode tok/s ratio and output agreement. */
function AbPanel() {
  const r = abResult.value;
  const err = abError.value;
  const s = r?.summary;
  return (
    <div class="tf-ab" data-testid="ab-panel">
      <div class="row spread">
        <h3>A/B vs target alone</h3>
        <button class="secondary" data-testid="ab-run" disabled={!model.value || busy.value || abRunning.value} onClick={() => void runAb()} title="Same prompt, sampling and seed, alternating with and without the technique (3 rounds); every run is recorded">
          {abRunning.value ? `Running ${abStep.value}` : 'A/B vs target alone'}
        </button>
      </div>
      {err && (
        <p class="warn" data-testid="ab-error">
          <strong>{err.name}</strong>: {err.message}
        </p>
      )}
      {s && (
        <div class="metrics tf-q" data-testid="ab-result">
          <div class="metric" title="Median decode tok/s with the technique ÷ median decode tok/s of the target alone">
            <span class="label">speed-up ({r!.technique})</span>
            <span class="value" data-testid="ab-speedup" data-speedup={s.speedup}>
              {fmtNum(s.speedup)}×
            </span>
          </div>
          <div class="metric">
            <span class="label">decode tok/s</span>
            <span class="value" data-testid="ab-toks">
              {fmtNum(s.technique.decodeTokS)} vs {fmtNum(s.target.decodeTokS)}
            </span>
          </div>
          <div class="metric" title="Median ms/token p50, target ÷ technique">
            <span class="label">p50 latency ratio</span>
            <span class="value" data-testid="ab-p50">
              {fmtNum(s.p50Speedup)}×
            </span>
          </div>
          <div class="metric" title="Output ids equal to the target's at the same index">
            <span class="label">{r!.greedy ? 'ids vs target' : 'agreement (sampling)'}</span>
            <span class="value" data-testid="ab-identical" data-identical={s.identical}>
              {s.identical ? 'identical' : `${fmtNum(100 * s.agreement)}% agree`}
            </span>
          </div>
        </div>
      )}
      {s && <p class="muted small">median of {s.repeats} runs per side, alternating; both recorded in the session</p>}
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
          <div class="row" style={{ alignItems: 'flex-start', gap: '16px' }}>
            <ExitHistogram hist={hist} L={L} />
            <ExitQuality />
          </div>
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
            <div class="metric" title="Mean γ the rounds drafted (the setting, or what adaptive γ chose)">
              <span class="label">γ used (mean)</span>
              <span class="value" data-testid="spec-gamma-mean">
                {spec?.gamma_mean != null ? fmtNum(spec.gamma_mean) : '–'}
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
      {(s.earlyExit.enabled || s.speculative.enabled || abResult.value) && <AbPanel />}
    </section>
  );
}
