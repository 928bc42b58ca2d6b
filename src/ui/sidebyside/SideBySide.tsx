// The side-by-side view: A (dense f32 by default) and B (the settings in effect, until edited here) run on the
// same prompt, seed and sampling; two columns of output with the differing tokens highlighted and the first
// divergence marked; perplexity of each and B's top-1 agreement / KL against A.
import { DEFAULT_TECHNIQUES, type QualityReport } from '../../engine/types';
import { fmtNum } from '../format';
import { busy, model } from '../state';
import { settingsLabel } from '../techniques/actions';
import { f16Unavailable, modelLayers, techniqueSettings } from '../techniques/state';
import { TechniqueForm } from '../techniques/TechniqueForm';
import { segments } from '../techniques/tokens';
import { diffTokens, type TokenDiff } from './diff';
import { runSideBySide, SBS_QUALITY_TOKENS, sbsError, sbsResult, sbsRunning, sbsStep, settingsA, settingsB, type Side } from './run';

function Tokens({ side, diff }: { side: Side; diff: TokenDiff | null }) {
  const pieces = side.marks.length ? segments(side.text, side.marks).map((s) => s.text) : [side.text];
  return (
    <>
      {pieces.map((t, i) => {
        const d = side.marks.length > 0 && !!diff?.differs[i];
        const first = d && diff!.firstDivergence === i;
        return (
          <span
            key={i}
            class={`sbs-tok${d ? ' diff' : ''}${first ? ' first-div' : ''}`}
            data-testid={first ? 'sbs-first-divergence' : 'sbs-token'}
            data-diff={d ? 'true' : 'false'}
            title={d ? `token ${i + 1}: id ${side.ids[i]}${first ? ' — first divergence' : ''}` : undefined}
          >
            {t}
          </span>
        );
      })}
    </>
  );
}

function Column(props: { which: 'a' | 'b'; side: Side | null; diff: TokenDiff | null; prompt: string; q: QualityReport | null }) {
  const { which, side } = props;
  const settings = which === 'a' ? settingsA.value : (settingsB.value ?? techniqueSettings.value);
  const follows = which === 'b' && settingsB.value === null;
  const edit = (v: typeof settings) => (which === 'a' ? (settingsA.value = v) : (settingsB.value = v));
  return (
    <div class="sbs-col" data-testid={`sbs-col-${which}`}>
      <div class="row spread">
        <h3>
          <span class={`sbs-tag sbs-tag-${which}`}>{which.toUpperCase()}</span>
          <span data-testid={`sbs-label-${which}`}>{settingsLabel(settings)}</span>
          {follows && <span class="muted"> (settings in effect)</span>}
        </h3>
        {which === 'a' ? (
          <button class="link" data-testid="sbs-a-dense" disabled={sbsRunning.value} onClick={() => (settingsA.value = structuredClone(DEFAULT_TECHNIQUES))}>
            dense f32
          </button>
        ) : (
          <button class="link" data-testid="sbs-b-current" disabled={sbsRunning.value || follows} onClick={() => (settingsB.value = null)}>
            follow settings in effect
          </button>
        )}
      </div>
      <pre class="output sbs-out" data-testid={`sbs-output-${which}`}>
        <span class="prompt-echo">{props.prompt}</span>
        {side && <Tokens side={side} diff={props.diff} />}
      </pre>
      {side && (
        <p class="muted small" data-testid={`sbs-stats-${which}`}>
          {side.ids.length} tokens · {fmtNum(side.metrics.decode_tok_s)} tok/s · {fmtNum(side.metrics.ms_per_token_p50)} ms/token p50
          {props.q && (
            <>
              {' '}
              · perplexity <b data-testid={`sbs-ppl-${which}`}>{fmtNum(props.q.perplexity)}</b>
            </>
          )}
        </p>
      )}
      <details class="sbs-edit">
        <summary>edit {which.toUpperCase()}</summary>
        <TechniqueForm id={`sbs-${which}-`} value={settings} onChange={edit} disabled={sbsRunning.value} f16Reason={f16Unavailable()} fileCodes={model.value?.settings.quant.precision === 'file'} layers={modelLayers()} />
      </details>
    </div>
  );
}

function Summary({ diff }: { diff: TokenDiff | null }) {
  const r = sbsResult.value;
  if (!r?.a || !r.b || !diff) return null;
  const qb = r.qualityB;
  const n = Math.max(r.a.ids.length, r.b.ids.length);
  return (
    <div class="sbs-summary" data-testid="sbs-summary">
      <span data-testid="sbs-divergence">
        {diff.firstDivergence < 0 ? (
          <b>identical outputs</b>
        ) : (
          <>
            first divergence at token <b>{diff.firstDivergence + 1}</b> · {diff.count} of {n} positions differ
          </>
        )}
      </span>
      {qb && (
        <span title={r.aIsDense ? 'Forced decoding of the same text under B, against A (dense f32)' : 'A is not dense f32: both are measured against dense f32'}>
          B {r.aIsDense ? 'vs A' : 'vs dense f32'}: top-1 agreement <b data-testid="sbs-top1">{qb.top1_agreement == null ? '– (B is dense)' : `${fmtNum(100 * qb.top1_agreement)}%`}</b> · KL{' '}
          <b data-testid="sbs-kl">{qb.kl == null ? '–' : fmtNum(qb.kl)}</b> nats/token
          {!r.aIsDense && r.qualityA?.top1_agreement != null && ` (A vs dense f32: ${fmtNum(100 * r.qualityA.top1_agreement)}%)`}
        </span>
      )}
      {qb && <span class="muted">on {qb.tokens} tokens of {r.qualitySource}</span>}
    </div>
  );
}

export function SideBySide() {
  const r = sbsResult.value;
  const diff = r?.a && r.b ? diffTokens(r.a.ids, r.b.ids) : null;
  const err = sbsError.value;
  return (
    <section class="panel sbs" data-testid="sbs-panel">
      <div class="row">
        <h2>Side by side</h2>
        <span class="muted small">the prompt box's prompt, same seed and sampling, through A then B (one after the other); quality on up to {SBS_QUALITY_TOKENS} tokens</span>
        <span class="spacer" />
        <span class="status" data-testid="sbs-status">
          {sbsRunning.value ? sbsStep.value || 'running…' : ''}
        </span>
        <button data-testid="sbs-run" disabled={!model.value || busy.value || sbsRunning.value} onClick={() => void runSideBySide()}>
          {sbsRunning.value ? 'Running…' : 'Run A and B'}
        </button>
      </div>
      {err && (
        <p class="warn" data-testid="sbs-error">
          <strong>{err.name}</strong>: {err.message}
        </p>
      )}
      <Summary diff={diff} />
      <div class="sbs-grid">
        <Column which="a" side={r?.a ?? null} diff={diff} prompt={r?.prompt ?? ''} q={r?.qualityA ?? null} />
        <Column which="b" side={r?.b ?? null} diff={diff} prompt={r?.prompt ?? ''} q={r?.qualityB ?? null} />
      </div>
    </section>
  );
}
