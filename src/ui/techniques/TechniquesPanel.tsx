// The techniques panel: edit settings, Apply (engine.configure re-packs the weights from the master copy; it
// waits for a running generation), see what the switch did (re-pack time, weight bytes by format, the kernel
// notes) or why it was refused, and measure quality (perplexity, top-1 agreement and KL against dense f32).
import { DEFAULT_TECHNIQUES } from '../../engine/types';
import { fmtBytes, fmtNum } from '../format';
import { model, phase } from '../state';
import { applySettings, measureQuality, settingsLabel } from './actions';
import { TechniqueForm } from './TechniqueForm';
import {
  applyError,
  applySeq,
  applying,
  draftSettings,
  f16Unavailable,
  lastApply,
  measuring,
  modelLayers,
  quality,
  qualityError,
  sameSettings,
  techniqueSettings,
} from './state';

function ApplyResult() {
  const r = lastApply.value;
  if (applying.value)
    return (
      <p class="tf-status" data-testid="tech-status" data-state="repacking">
        re-packing…{phase.value === 'generating' ? ' (after the running generation)' : ''}
      </p>
    );
  const err = applyError.value;
  if (err)
    return (
      <p class="warn" data-testid="tech-error" role="alert">
        <strong>{err.name}</strong>: {err.message}
      </p>
    );
  if (!r) return null;
  const formats = Object.entries(r.bytesByFormat).sort((a, b) => b[1] - a[1]);
  return (
    <div class="tf-result" data-testid="tech-result">
      <p class="tf-status" data-testid="tech-status" data-state="applied">
        <b>{settingsLabel(r.settings)}</b> · re-packed in <b data-testid="tech-repack-ms">{fmtNum(r.repackMs)}</b> ms · weights{' '}
        <b data-testid="tech-weight-bytes" data-bytes={r.weightBytes}>
          {fmtBytes(r.weightBytes)}
        </b>
      </p>
      <table class="mem tf-formats" data-testid="tech-formats" title="Bytes of the linear layers by storage format (the embedding table is not included)">
        <tbody>
          {formats.map(([f, b]) => (
            <tr key={f}>
              <td>{f}</td>
              <td class="num" data-testid={`tech-format-${f}`} data-bytes={b}>
                {fmtBytes(b)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {r.notes.length > 0 && (
        <ul class="tf-notes" data-testid="tech-notes">
          {r.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Quality() {
  const q = quality.value;
  const err = qualityError.value;
  const stale = q && !sameSettings(q.report.settings, techniqueSettings.value);
  return (
    <div class="tf-quality" data-testid="tech-quality">
      <div class="row spread">
        <h3>Quality</h3>
        <button class="secondary" data-testid="tech-measure-quality" disabled={!model.value || measuring.value || applying.value} onClick={() => void measureQuality()}>
          {measuring.value ? 'Measuring…' : 'Measure quality'}
        </button>
      </div>
      {err && (
        <p class="warn" data-testid="tech-quality-error">
          <strong>{err.name}</strong>: {err.message}
        </p>
      )}
      {q ? (
        <>
          <div class="metrics tf-q">
            <div class="metric">
              <span class="label">perplexity</span>
              <span class="value" data-testid="tech-ppl">
                {fmtNum(q.report.perplexity)}
              </span>
            </div>
            <div class="metric" title="Top-1 agreement with dense f32 under forced decoding of the same text">
              <span class="label">top-1 vs f32</span>
              <span class="value" data-testid="tech-top1">
                {q.report.top1_agreement == null ? '–' : `${fmtNum(100 * q.report.top1_agreement)}%`}
              </span>
            </div>
            <div class="metric" title="Mean KL(dense f32 ‖ this) per token, nats">
              <span class="label">KL vs f32</span>
              <span class="value" data-testid="tech-kl">
                {q.report.kl == null ? '–' : fmtNum(q.report.kl)}
              </span>
            </div>
          </div>
          <p class="muted small" data-testid="tech-quality-info">
            {settingsLabel(q.report.settings)} on {q.report.tokens} tokens of {q.source} · {Math.round(q.ms)} ms
            {q.report.top1_agreement == null && ' · dense f32 is the reference itself'}
            {stale && <span class="tf-stale"> · settings changed since</span>}
          </p>
        </>
      ) : (
        <p class="muted small">Perplexity under the settings in effect; agreement and KL against dense f32 on the same text.</p>
      )}
    </div>
  );
}

export function TechniquesPanel() {
  const draft = draftSettings.value;
  const inEffect = techniqueSettings.value;
  const changed = !sameSettings(draft, inEffect);
  const m = model.value;
  return (
    <section class="panel" data-testid="techniques-panel" data-apply-seq={applySeq.value}>
      <div class="row spread">
        <h2>Techniques</h2>
        <span class="muted small" data-testid="tech-in-effect" title="The settings in effect on the engine">
          in effect: <b data-testid="tech-in-effect-label">{settingsLabel(inEffect)}</b>
        </span>
      </div>
      <TechniqueForm
        id="tech-"
        value={draft}
        onChange={(v) => (draftSettings.value = v)}
        disabled={!m || applying.value}
        f16Reason={f16Unavailable()} fileCodes={model.value?.settings.quant.precision === 'file'}
        layers={modelLayers()}
      />
      <div class="row">
        <button data-testid="tech-apply" disabled={!m || applying.value || !changed} onClick={() => void applySettings(draftSettings.value)}>
          Apply
        </button>
        <button class="secondary" data-testid="tech-revert" disabled={applying.value || !changed} title="Back to the settings in effect" onClick={() => (draftSettings.value = structuredClone(inEffect))}>
          Revert
        </button>
        <button
          class="secondary"
          data-testid="tech-dense"
          disabled={!m || applying.value || sameSettings(inEffect, DEFAULT_TECHNIQUES)}
          title="Apply dense f32 with every technique off"
          onClick={() => {
            draftSettings.value = structuredClone(DEFAULT_TECHNIQUES);
            void applySettings(DEFAULT_TECHNIQUES);
          }}
        >
          Dense f32
        </button>
        {changed && <span class="muted small">not applied</span>}
      </div>
      <ApplyResult />
      <Quality />
    </section>
  );
}
