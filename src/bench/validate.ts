// validateSession: the hand-written check of a session file against docs/session.schema.json (no ajv, no eval).
// It follows the schema exactly, field by field, in the schema's property order (for each object: its known
// fields in order, a missing required one included, then unknown fields in the object's own order), and throws
// a SessionValidationError naming the FIRST offending field by its JSON path:
//   runs[3].metrics.decode_tok_s: expected a number, got "fast"
// Two rules the schema cannot state are checked too: numbers are finite (JSON.parse reads 1e999 as Infinity;
// in-memory objects may hold NaN) and `config` nests at most LIMITS.configDepth levels.
// tests/unit/session-schema.test.ts walks the schema and checks this file agrees with it.

import {
  BOUNDS,
  ENGINES,
  GPU_BYTES_FIELDS,
  ISO_TIME_PATTERN,
  LIMITS,
  SCALAR_METRICS,
  SESSION_FORMAT,
  SESSION_VERSION,
  STOP_REASONS,
  type Session,
  type SessionRun,
} from './schema';

/** Base class of every reason importJson/importBlob refuse a file. `message` is ready to show a user. */
export class SessionImportError extends Error {
  override name = 'SessionImportError';
}

/** The content does not follow the session format. `path` is the JSON path of the first offending field. */
export class SessionValidationError extends SessionImportError {
  override name = 'SessionValidationError';
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

type Check = (v: unknown, path: string) => void;

const ISO_TIME = new RegExp(ISO_TIME_PATTERN);
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function fail(path: string, detail: string): never {
  throw new SessionValidationError(path || '(root)', detail);
}

/** How a value reads in a message: strings quoted (and cut), containers by kind. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return isPlainObject(v) ? 'an object' : `a ${v.constructor?.name ?? 'non-plain'} object`;
  return `a ${typeof v}`;
}

export function childPath(path: string, key: string): string {
  if (!IDENT.test(key)) return `${path}[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}]`;
  return path ? `${path}.${key}` : key;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

// ---- primitives ---------------------------------------------------------------------------------------------

/** Length in Unicode code points, as JSON Schema's maxLength counts it (only computed when .length > max). */
function tooLong(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n > max;
}

function str(min: number, max: number, pattern?: RegExp, hint?: string): Check {
  return (v, path) => {
    if (typeof v !== 'string') fail(path, `expected a string, got ${describeValue(v)}`);
    if (tooLong(v, max)) fail(path, `longer than ${max} characters`);
    if (v.length < min) fail(path, 'must not be empty');
    if (pattern && !pattern.test(v)) fail(path, `expected ${hint}, got ${describeValue(v)}`);
  };
}

interface NumOpts {
  min?: number;
  max?: number;
  integer?: boolean;
  nullable?: boolean;
}

function num({ min, max, integer = false, nullable = false }: NumOpts): Check {
  return (v, path) => {
    if (v === null && nullable) return;
    if (typeof v !== 'number') fail(path, `expected ${integer ? 'an integer' : 'a number'}, got ${describeValue(v)}`);
    if (!Number.isFinite(v)) fail(path, `expected a finite number, got ${describeValue(v)}`);
    if (integer && !Number.isInteger(v)) fail(path, `expected an integer, got ${v}`);
    if (min !== undefined && v < min) fail(path, `must be >= ${min}, got ${v}`);
    if (max !== undefined && v > max) fail(path, `must be <= ${max}, got ${v}`);
  };
}

const bool: Check = (v, path) => {
  if (typeof v !== 'boolean') fail(path, `expected true or false, got ${describeValue(v)}`);
};

function oneOfValues(values: readonly unknown[]): Check {
  return (v, path) => {
    if (!values.includes(v)) fail(path, `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describeValue(v)}`);
  };
}

function arr(max: number, item: Check): Check {
  return (v, path) => {
    if (!Array.isArray(v)) fail(path, `expected an array, got ${describeValue(v)}`);
    if (v.length > max) fail(path, `more than ${max} items (got ${v.length})`);
    for (let i = 0; i < v.length; i++) item(v[i], `${path}[${i}]`);
  };
}

function nullOr(check: Check): Check {
  return (v, path) => (v === null ? undefined : check(v, path));
}

/** A closed object: known fields in order (`?` suffix = optional), then no unknown fields. */
function record(fields: Record<string, Check>): Check {
  const known = Object.keys(fields).map((k) => ({ key: k.replace(/\?$/, ''), optional: k.endsWith('?'), check: fields[k]! }));
  const names = new Set(known.map((f) => f.key));
  return (v, path) => {
    if (!isPlainObject(v)) fail(path, `expected an object, got ${describeValue(v)}`);
    for (const f of known) {
      if (!has(v, f.key)) {
        if (f.optional) continue;
        fail(childPath(path, f.key), 'required field is missing');
      }
      f.check(v[f.key], childPath(path, f.key));
    }
    for (const k of Object.keys(v)) if (!names.has(k)) fail(childPath(path, k), `unknown field (session format version ${SESSION_VERSION} has no such field)`);
  };
}

/** An open object: at most LIMITS.features keys of bounded length, each value checked. */
function map(value: Check): Check {
  return (v, path) => {
    if (!isPlainObject(v)) fail(path, `expected an object, got ${describeValue(v)}`);
    const keys = Object.keys(v);
    if (keys.length > LIMITS.features) fail(path, `more than ${LIMITS.features} entries (got ${keys.length})`);
    for (const k of keys) {
      if (tooLong(k, LIMITS.featureChars)) fail(path, `key ${describeValue(k)} is longer than ${LIMITS.featureChars} characters`);
      value(v[k], childPath(path, k));
    }
  };
}

/** Any JSON value, nested at most LIMITS.configDepth levels below `config`. */
function jsonValue(depth: number): Check {
  return (v, path) => {
    if (v === null || typeof v === 'boolean') return;
    if (typeof v === 'number') return num({})(v, path);
    if (typeof v === 'string') return str(0, LIMITS.textChars)(v, path);
    if (depth >= LIMITS.configDepth) fail(path, `nested deeper than ${LIMITS.configDepth} levels`);
    if (Array.isArray(v)) return arr(LIMITS.tokens, jsonValue(depth + 1))(v, path);
    if (isPlainObject(v)) return map(jsonValue(depth + 1))(v, path);
    fail(path, `expected a JSON value, got ${describeValue(v)}`);
  };
}

// ---- the format (mirrors docs/session.schema.json, in its order) --------------------------------------------

const id = str(1, LIMITS.idChars);
const isoTime = str(0, 64, ISO_TIME, 'an ISO 8601 date-time like "2025-01-31T12:00:00.000Z"');
const count = num({ min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
const tokenIds = arr(LIMITS.tokens, num({ min: 0, max: LIMITS.tokenId, integer: true }));
const measure = num({ min: 0, nullable: true });
const numberMap = map(num({ min: 0 }));

const adapter = record({
  vendor: str(0, LIMITS.infoChars),
  architecture: str(0, LIMITS.infoChars),
  device: str(0, LIMITS.infoChars),
  description: str(0, LIMITS.infoChars),
  is_fallback: bool,
  features: arr(LIMITS.features, str(0, LIMITS.featureChars)),
  limits: numberMap,
});

const environment = record({ user_agent: str(0, LIMITS.infoChars), adapter: nullOr(adapter) });

const model = record({
  name: str(1, LIMITS.nameChars),
  source: str(0, LIMITS.sourceChars),
  parameters: nullOr(count),
  bytes: nullOr(count),
  'architecture?': str(0, LIMITS.nameChars),
});

const gpuBytes = record(Object.fromEntries(GPU_BYTES_FIELDS.map((k) => [k, count])));

const metrics = record({
  decode_tok_s: measure,
  prefill_tok_s: measure,
  ttft_ms: measure,
  ms_per_token_p50: measure,
  ms_per_token_p95: measure,
  gpu_bytes: nullOr(gpuBytes),
  bytes_per_token: measure,
  achieved_gbps: measure,
  roofline_fraction: measure,
  'copy_gbps?': measure,
  'bound?': oneOfValues([...BOUNDS, null]),
  'dispatches_per_token?': measure,
  prompt_tokens: count,
  generated_tokens: count,
  stopped_by: oneOfValues([...STOP_REASONS, null]),
});

const spreadEntry = record({
  min: num({ min: 0 }),
  q1: num({ min: 0 }),
  q3: num({ min: 0 }),
  max: num({ min: 0 }),
  n: num({ min: 1, max: Number.MAX_SAFE_INTEGER, integer: true }),
});
const spread = record(Object.fromEntries(SCALAR_METRICS.map((k) => [`${k}?`, spreadEntry])));

const quality = record({
  perplexity: num({ min: 1, nullable: true }),
  top1_agreement: num({ min: 0, max: 1, nullable: true }),
  kl: measure,
  'nll?': measure,
  'tokens?': count,
  'reference?': str(0, LIMITS.nameChars),
});

const promptText = str(0, LIMITS.textChars);
const prompt: Check = (v, path) => {
  if (typeof v === 'string') return promptText(v, path);
  if (Array.isArray(v)) return tokenIds(v, path);
  fail(path, `expected a string or an array of token ids, got ${describeValue(v)}`);
};

const run = record({
  id,
  engine: oneOfValues(ENGINES),
  label: str(0, LIMITS.nameChars),
  started_at: isoTime,
  model,
  config: map(jsonValue(1)),
  prompt,
  prompt_ids: tokenIds,
  output_ids: tokenIds,
  text: str(0, LIMITS.textChars),
  token_times_ms: arr(LIMITS.tokens, num({ min: 0 })),
  metrics,
  'spread?': spread,
  'quality?': quality,
  'kernel_ns?': numberMap,
});

const session = record({
  format: (v, path) => {
    if (v !== SESSION_FORMAT) fail(path, `expected "${SESSION_FORMAT}", got ${describeValue(v)} (not an Efficiency Lab session file)`);
  },
  version: (v, path) => {
    if (v !== SESSION_VERSION) fail(path, `unsupported session format version ${describeValue(v)}: this build reads version ${SESSION_VERSION} only`);
  },
  id,
  name: str(1, LIMITS.nameChars),
  created_at: isoTime,
  updated_at: isoTime,
  'generator?': str(0, LIMITS.nameChars),
  environment,
  runs: arr(LIMITS.runs, run),
});

/** Check `json` (parsed, or an in-memory object) against the session format; returns it typed, or throws. */
export function validateSession(json: unknown): Session {
  if (isPlainObject(json) && !has(json, 'format')) fail('format', 'required field is missing (not an Efficiency Lab session file)');
  session(json, '');
  return json as Session;
}

/** Check one run (e.g. before addRun in a tool); `path` prefixes the error path. */
export function validateRun(json: unknown, path = 'run'): SessionRun {
  run(json, path);
  return json as SessionRun;
}
