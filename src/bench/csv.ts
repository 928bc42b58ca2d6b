// exportCsv: one row per run, for spreadsheets and pandas. RFC 4180: CRLF line ends, a header row, a field
// quoted when it holds '"', ',', CR or LF, quotes doubled inside. null/absent → an empty field.
// Columns: fixed ones (session, run, model, metrics, gpu_bytes_*, quality_*), then the union over runs, each
// group sorted, of config.<dotted.path> (arrays as JSON), kernel_ns.<family> and spread.<metric>.<stat>.
// Token ids and times are left out (they are in the JSON export); the prompt is text, or its ids space-separated.
// Text fields that a spreadsheet would run as a formula (leading = + - @, tab, CR) get a leading ' unless
// { guardFormulas: false } (OWASP "CSV injection"); numbers are written as JavaScript prints them.

import { GPU_BYTES_FIELDS, SCALAR_METRICS, type JsonValue, type Session, type SessionRun } from './schema';

type Cell = string | number | boolean | null | undefined;

export interface CsvOptions {
  /** Prefix text cells that start like a formula with "'" (default true). */
  guardFormulas?: boolean;
}

/** One RFC 4180 field. */
export function csvField(v: Cell, guardFormulas = true): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const s = guardFormulas && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const SPREAD_STATS = ['min', 'q1', 'q3', 'max', 'n'] as const;

/** Flatten nested objects to dotted keys; arrays and scalars are leaves. */
function flatten(o: { [k: string]: JsonValue }, prefix: string, out: Map<string, Cell>): void {
  for (const [k, v] of Object.entries(o)) {
    const key = `${prefix}${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v, `${key}.`, out);
    else if (!out.has(key)) out.set(key, Array.isArray(v) ? JSON.stringify(v) : v);
  }
}

type Column = [name: string, get: (s: Session, r: SessionRun) => Cell];

const FIXED: Column[] = [
  ['session_id', (s) => s.id],
  ['session_name', (s) => s.name],
  ['run_id', (_, r) => r.id],
  ['started_at', (_, r) => r.started_at],
  ['engine', (_, r) => r.engine],
  ['label', (_, r) => r.label],
  ['model_name', (_, r) => r.model.name],
  ['model_source', (_, r) => r.model.source],
  ['model_architecture', (_, r) => r.model.architecture],
  ['model_parameters', (_, r) => r.model.parameters],
  ['model_bytes', (_, r) => r.model.bytes],
  ['prompt', (_, r) => (typeof r.prompt === 'string' ? r.prompt : r.prompt.join(' '))],
  ['prompt_tokens', (_, r) => r.metrics.prompt_tokens],
  ['generated_tokens', (_, r) => r.metrics.generated_tokens],
  ['stopped_by', (_, r) => r.metrics.stopped_by],
  ...SCALAR_METRICS.map((k): Column => [k, (_, r) => r.metrics[k]]),
  ['copy_gbps', (_, r) => r.metrics.copy_gbps],
  ['bound', (_, r) => r.metrics.bound],
  ['dispatches_per_token', (_, r) => r.metrics.dispatches_per_token],
  ...GPU_BYTES_FIELDS.map((k): Column => [`gpu_bytes_${k}`, (_, r) => r.metrics.gpu_bytes?.[k]]),
  ['quality_perplexity', (_, r) => r.quality?.perplexity],
  ['quality_top1_agreement', (_, r) => r.quality?.top1_agreement],
  ['quality_kl', (_, r) => r.quality?.kl],
  ['quality_nll', (_, r) => r.quality?.nll],
  ['quality_tokens', (_, r) => r.quality?.tokens],
  ['quality_reference', (_, r) => r.quality?.reference],
  ['adapter', (s) => s.environment.adapter?.description || s.environment.adapter?.vendor],
  ['text', (_, r) => r.text],
];

/** The fixed column names, in order (the open config./kernel_ns./spread. columns follow). */
export const CSV_FIXED_COLUMNS: readonly string[] = FIXED.map(([k]) => k);

function openColumns(r: SessionRun): Map<string, Cell> {
  const out = new Map<string, Cell>();
  flatten(r.config, 'config.', out);
  for (const [k, v] of Object.entries(r.kernel_ns ?? {})) out.set(`kernel_ns.${k}`, v);
  for (const metric of SCALAR_METRICS) {
    const e = r.spread?.[metric];
    if (e) for (const stat of SPREAD_STATS) out.set(`spread.${metric}.${stat}`, e[stat]);
  }
  return out;
}

/** The session as CSV text (header row + one row per run, CRLF line ends, trailing CRLF). */
export function exportCsv(s: Session, o: CsvOptions = {}): string {
  const guard = o.guardFormulas ?? true;
  const open = s.runs.map(openColumns);
  const group = (prefix: string) => [...new Set(open.flatMap((m) => [...m.keys()]).filter((k) => k.startsWith(prefix)))].sort();
  const openNames = [...group('config.'), ...group('kernel_ns.'), ...group('spread.')];
  const lines = [[...CSV_FIXED_COLUMNS, ...openNames].map((k) => csvField(k, guard)).join(',')];
  s.runs.forEach((r, i) => {
    const cells = [...FIXED.map(([, get]) => get(s, r)), ...openNames.map((k) => open[i]!.get(k))];
    lines.push(cells.map((v) => csvField(v, guard)).join(','));
  });
  return lines.join('\r\n') + '\r\n';
}

/** Parse RFC 4180 text into rows of fields (for tests and for reading exports back in tools). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += c;
  }
  if (field !== '' || row.length) row.push(field), rows.push(row);
  return rows;
}
