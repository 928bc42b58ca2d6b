// The technique controls as one controlled form: precision (+ group size, lm_head), pruning, early exit and
// speculative decoding. Used by the techniques panel and, twice, by the side-by-side view (`id` prefixes every
// data-testid: "tech-precision", "sbs-b-precision", …).
import type { ComponentChildren } from 'preact';
import type { Precision, TechniqueSettings } from '../../engine/types';

type S = TechniqueSettings;

export interface FormProps {
  value: S;
  onChange: (next: S) => void;
  disabled?: boolean;
  /** data-testid prefix, e.g. "tech-". */
  id: string;
  /** Why this adapter has no native f16 ('shader-f16'), or null when it has it. f16 weights run either way (f16
   *  storage; unpack2x16float without the feature): the option's label says which. */
  f16Reason: string | null;
  /** Layers of the loaded model (0 = unknown). */
  layers: number;
  /** The loaded model file carried its own quantized codes: offer precision 'file'. */
  fileCodes?: boolean;
}

const PRECISIONS: [Precision, string][] = [
  ['f32', 'f32 (dense)'],
  ['f16', 'f16'],
  ['int8', 'int8'],
  ['int4', 'int4 (symmetric)'],
  ['int4z', 'int4 with zero-points'],
];
/** Offered when the loaded file carried its own quantized codes (GGUF Q8_0/Q4_0). */
const FILE_PRECISION: [Precision, string] = ['file', 'as in the file (its own int8/int4 codes)'];
const GROUPS = [32, 64, 128];
const PRUNE_KINDS: [S['prune']['kind'], string][] = [
  ['none', 'none'],
  ['unstructured', 'unstructured (magnitude)'],
  ['2:4', '2:4 semi-structured'],
  ['structured', 'structured (heads, FFN units)'],
];

const val = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;
const checked = (e: Event) => (e.currentTarget as HTMLInputElement).checked;

function Field(props: { label: string; title?: string; children: ComponentChildren; wide?: boolean }) {
  return (
    <label class={`tf-field${props.wide ? ' wide' : ''}`} title={props.title}>
      <span>{props.label}</span>
      {props.children}
    </label>
  );
}

/** A number input that only reports values inside [min, max]. */
function Num(props: { id: string; value: number; min: number; max: number; step: number; int?: boolean; disabled?: boolean; onValue: (v: number) => void }) {
  return (
    <input
      type="number"
      data-testid={props.id}
      min={props.min}
      max={props.max}
      step={props.step}
      value={props.value}
      disabled={props.disabled}
      onChange={(e) => {
        const v = Number(val(e));
        if (Number.isFinite(v) && v >= props.min && v <= props.max) props.onValue(props.int ? Math.round(v) : v);
      }}
    />
  );
}

export function TechniqueForm(p: FormProps) {
  const s = p.value;
  const set = <K extends keyof S>(k: K, part: Partial<S[K]>) => p.onChange({ ...s, [k]: { ...s[k], ...part } });
  const dis = p.disabled;
  const grouped = s.quant.precision.startsWith('int');
  const pr = s.prune;
  const sparsityFixed = pr.kind === 'none' || pr.kind === '2:4';
  const maxLayer = Math.max(1, p.layers || 1);
  return (
    <div class="tf">
      <fieldset class="tf-group" data-testid={`${p.id}quant`}>
        <legend>Precision</legend>
        <div class="tf-fields">
          <Field label="weights" wide>
            <select data-testid={`${p.id}precision`} value={s.quant.precision} disabled={dis} onChange={(e) => set('quant', { precision: val(e) as Precision })}>
              {(p.fileCodes || s.quant.precision === 'file' ? [...PRECISIONS, FILE_PRECISION] : PRECISIONS).map(([v, label]) => (
                <option key={v} value={v} title={v === 'f16' ? (p.f16Reason ?? 'native f16 loads') : ''}>
                  {v === 'f16' ? `f16 (storage; shader-f16: ${p.f16Reason ? 'no' : 'yes'})` : label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="group size" title="Weights per scale (int8/int4): smaller groups, better accuracy, more bytes">
            <select data-testid={`${p.id}group-size`} value={s.quant.groupSize} disabled={dis || !grouped} onChange={(e) => set('quant', { groupSize: Number(val(e)) })}>
              {GROUPS.map((g) => (
                <option key={g} value={g}>
                  {g}
                </option>
              ))}
            </select>
          </Field>
          <Field label="lm_head" title="The head's precision: the default keeps int4 bodies with an int8 head">
            <select data-testid={`${p.id}lm-head`} value={s.quant.lmHead ?? ''} disabled={dis} onChange={(e) => set('quant', { lmHead: (val(e) || null) as Precision | null })}>
              <option value="">same as body</option>
              <option value="f32">f32</option>
              <option value="int8">int8</option>
            </select>
          </Field>
        </div>
      </fieldset>

      <fieldset class="tf-group" data-testid={`${p.id}prune`}>
        <legend>Pruning</legend>
        <div class="tf-fields">
          <Field label="kind" wide>
            <select data-testid={`${p.id}prune-kind`} value={pr.kind} disabled={dis} onChange={(e) => set('prune', { kind: val(e) as S['prune']['kind'] })}>
              {PRUNE_KINDS.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <Field label={`sparsity ${pr.kind === '2:4' ? '50% (2 of 4)' : `${Math.round(pr.sparsity * 100)}%`}`} wide>
            <input
              type="range"
              data-testid={`${p.id}sparsity`}
              min={0}
              max={95}
              step={5}
              value={pr.kind === '2:4' ? 50 : Math.round(pr.sparsity * 100)}
              disabled={dis || sparsityFixed}
              onInput={(e) => set('prune', { sparsity: Number(val(e)) / 100 })}
            />
          </Field>
          <Field label="scope" title="Rank weights within each layer, or across the whole model">
            <select data-testid={`${p.id}prune-scope`} value={pr.scope} disabled={dis || sparsityFixed} onChange={(e) => set('prune', { scope: val(e) as 'layer' | 'global' })}>
              <option value="layer">per layer</option>
              <option value="global">global</option>
            </select>
          </Field>
          <div class="tf-field tf-checks">
            <span>targets</span>
            <label>
              <input type="checkbox" data-testid={`${p.id}prune-attn`} checked={pr.targets.attention} disabled={dis || pr.kind === 'none'} onChange={(e) => set('prune', { targets: { ...pr.targets, attention: checked(e) } })} /> attention
            </label>
            <label>
              <input type="checkbox" data-testid={`${p.id}prune-ffn`} checked={pr.targets.ffn} disabled={dis || pr.kind === 'none'} onChange={(e) => set('prune', { targets: { ...pr.targets, ffn: checked(e) } })} /> FFN
            </label>
          </div>
        </div>
        <p class="tf-note">Embeddings and the lm_head are never pruned.</p>
      </fieldset>

      <fieldset class="tf-group" data-testid={`${p.id}early-exit`}>
        <legend>
          <label>
            <input type="checkbox" data-testid={`${p.id}ee-enabled`} checked={s.earlyExit.enabled} disabled={dis} onChange={(e) => set('earlyExit', { enabled: checked(e) })} /> Early exit
          </label>
        </legend>
        <div class="tf-fields">
          <Field label="criterion" title="maxprob: leave when the top probability ≥ threshold; entropy: when entropy (nats) < threshold">
            <select
              data-testid={`${p.id}ee-criterion`}
              value={s.earlyExit.criterion}
              disabled={dis || !s.earlyExit.enabled}
              onChange={(e) => {
                const criterion = val(e) as 'maxprob' | 'entropy';
                set('earlyExit', { criterion, threshold: criterion === 'entropy' ? 1 : 0.9 });
              }}
            >
              <option value="maxprob">max prob</option>
              <option value="entropy">entropy</option>
            </select>
          </Field>
          <Field label={s.earlyExit.criterion === 'entropy' ? 'threshold (nats, <)' : 'threshold (prob, ≥)'}>
            <Num id={`${p.id}ee-threshold`} value={s.earlyExit.threshold} min={0} max={s.earlyExit.criterion === 'entropy' ? 20 : 1.01} step={0.05} disabled={dis || !s.earlyExit.enabled} onValue={(threshold) => set('earlyExit', { threshold })} />
          </Field>
          <Field label="min layer" title="First layer after which the head is tried">
            <Num id={`${p.id}ee-min-layer`} value={s.earlyExit.minLayer} min={1} max={Math.max(1, maxLayer - 1)} step={1} int disabled={dis || !s.earlyExit.enabled} onValue={(minLayer) => set('earlyExit', { minLayer })} />
          </Field>
        </div>
        <p class="tf-note">The full model always finishes a token that did not leave earlier; the prompt runs all layers.</p>
      </fieldset>

      <fieldset class="tf-group" data-testid={`${p.id}speculative`}>
        <legend>
          <label>
            <input type="checkbox" data-testid={`${p.id}spec-enabled`} checked={s.speculative.enabled} disabled={dis} onChange={(e) => set('speculative', { enabled: checked(e) })} /> Speculative decoding
          </label>
        </legend>
        <div class="tf-fields">
          <Field label="draft" wide title="model: the embedded draft model; self: the first k layers of the target">
            <select data-testid={`${p.id}spec-draft`} value={s.speculative.draft} disabled={dis || !s.speculative.enabled} onChange={(e) => set('speculative', { draft: val(e) as 'model' | 'self' })}>
              <option value="model">draft model (embedded lab-draft)</option>
              <option value="self">self (first k layers)</option>
            </select>
          </Field>
          <Field label={s.speculative.adaptive ? 'γ (start)' : 'γ (per round)'} title="Tokens the draft proposes per target forward">
            <Num id={`${p.id}spec-gamma`} value={s.speculative.gamma} min={1} max={16} step={1} int disabled={dis || !s.speculative.enabled} onValue={(gamma) => set('speculative', { gamma })} />
          </Field>
          <div class="tf-field tf-checks" title="Adaptive γ: +1 after a round whose proposals were all accepted (up to 2γ, at most 16), −1 when fewer than half were">
            <span>adaptive</span>
            <label>
              <input
                type="checkbox"
                data-testid={`${p.id}spec-adaptive`}
                checked={!!s.speculative.adaptive}
                disabled={dis || !s.speculative.enabled}
                onChange={(e) => set('speculative', { adaptive: checked(e) })}
              />{' '}
              adaptive γ
            </label>
          </div>
          <Field label="draft precision" title="same: the target's precision (the self-draft shares its layers); int8/int4: the draft gets its own packed copy">
            <select
              data-testid={`${p.id}spec-draft-precision`}
              value={s.speculative.draftPrecision ?? 'same'}
              disabled={dis || !s.speculative.enabled}
              onChange={(e) => set('speculative', { draftPrecision: val(e) as S['speculative']['draftPrecision'] })}
            >
              <option value="same">same as target</option>
              <option value="int8">int8</option>
              <option value="int4">int4</option>
            </select>
          </Field>
          <Field label="k (self layers)">
            <Num
              id={`${p.id}spec-k`}
              value={s.speculative.selfLayers}
              min={1}
              max={Math.max(1, maxLayer - 1)}
              step={1}
              int
              disabled={dis || !s.speculative.enabled || s.speculative.draft !== 'self'}
              onValue={(selfLayers) => set('speculative', { selfLayers })}
            />
          </Field>
        </div>
        {s.speculative.enabled && s.earlyExit.enabled && <p class="tf-note tf-warn">Early exit and speculative decoding run one at a time: turn one off.</p>}
      </fieldset>
    </div>
  );
}
