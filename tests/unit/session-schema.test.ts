// Keeps src/bench/validate.ts and docs/session.schema.json in sync. A tiny interpreter of the JSON Schema subset
// the file uses ($ref, oneOf, const, enum, type, min/maxLength, pattern, minimum/maximum, maxItems, items,
// properties/required/additionalProperties, maxProperties, propertyNames) gives the schema's verdict; the test
// walks every location of a full example session (every schema property present), mutates it (delete, wrong
// types, each bound ±1, bad enum/const, unknown keys) and asserts the hand-written validator gives the same
// verdict: accept, or reject naming the same FIRST offending path.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exampleSession } from '../../src/bench/example';
import { childPath, SessionValidationError, validateSession } from '../../src/bench/validate';

type Schema = Record<string, any>;
const root: Schema = JSON.parse(readFileSync(new URL('../../docs/session.schema.json', import.meta.url), 'utf8'));

const deref = (s: Schema): Schema => (s.$ref ? deref(root.$defs[String(s.$ref).replace('#/$defs/', '')]) : s);

/** Code points, as JSON Schema counts string length (plain loop: the probes include 20M-unit strings). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) (n--, i++);
    }
  }
  return n;
}

function jsonType(v: unknown): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'boolean' || typeof v === 'string') return typeof v;
  if (typeof v === 'number') return !Number.isFinite(v) ? undefined : Number.isInteger(v) ? 'integer' : 'number';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return 'object';
  return undefined;
}

function typeMatches(s: Schema, v: unknown): boolean {
  s = deref(s);
  const t = jsonType(v);
  if ('const' in s) return s.const === v;
  if ('enum' in s) return s.enum.includes(v);
  const types: string[] = [].concat(s.type ?? []);
  return t !== undefined && (types.includes(t) || (t === 'integer' && types.includes('number')));
}

/** The schema's verdict: null = valid, else the first offending path. `seen` collects each path's schema. */
function check(s0: Schema, v: unknown, path: string, seen?: Map<string, Schema[]>): string | null {
  const s = deref(s0);
  if (seen) seen.set(path, [...(seen.get(path) ?? []), s]);
  const at = path || '(root)';
  if (s.oneOf) {
    const results = (s.oneOf as Schema[]).map((b) => check(b, v, path, seen));
    const passing = results.filter((r) => r === null).length;
    if (passing === 1) return null;
    const matching = (s.oneOf as Schema[]).map((b, i) => (typeMatches(b, v) ? i : -1)).filter((i) => i >= 0);
    return passing === 0 && matching.length === 1 ? results[matching[0]!]! : at;
  }
  if (!typeMatches(s, v)) return at;
  if ('const' in s || 'enum' in s) return null;
  if (typeof v === 'string') {
    if (s.maxLength !== undefined && codePoints(v) > s.maxLength) return at;
    if (s.minLength !== undefined && codePoints(v) < s.minLength) return at;
    if (s.pattern && !new RegExp(s.pattern, 'u').test(v)) return at;
  } else if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) return at;
    if (s.maximum !== undefined && v > s.maximum) return at;
  } else if (Array.isArray(v)) {
    if (s.maxItems !== undefined && v.length > s.maxItems) return at;
    for (let i = 0; i < v.length; i++) {
      const r = check(s.items, v[i], `${path}[${i}]`, seen);
      if (r) return r;
    }
  } else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (s.maxProperties !== undefined && keys.length > s.maxProperties) return at;
    const props: Record<string, Schema> = s.properties ?? {};
    for (const [k, ps] of Object.entries(props)) {
      if (!(k in o)) {
        if ((s.required ?? []).includes(k)) return childPath(path, k);
        continue;
      }
      const r = check(ps, o[k], childPath(path, k), seen);
      if (r) return r;
    }
    for (const k of keys.filter((k) => !(k in props))) {
      if (s.propertyNames?.maxLength !== undefined && codePoints(k) > s.propertyNames.maxLength) return at;
      if (s.additionalProperties === false) return childPath(path, k);
      const r = s.additionalProperties ? check(s.additionalProperties, o[k], childPath(path, k), seen) : null;
      if (r) return r;
    }
  }
  return null;
}

function validatorVerdict(v: unknown): string | null {
  try {
    validateSession(v);
    return null;
  } catch (e) {
    if (!(e instanceof SessionValidationError)) throw e;
    expect(e.message.startsWith(`${e.path}: `)).toBe(true);
    return e.path;
  }
}

// ---- locations and mutations ----------------------------------------------------------------------------

type Loc = { parent: any; key: string | number; path: string };

function locations(v: unknown, path: string, out: Loc[]): Loc[] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push({ parent: v, key: i, path: `${path}[${i}]` }), locations(x, `${path}[${i}]`, out)));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push({ parent: v, key: k, path: childPath(path, k) }), locations(x, childPath(path, k), out);
  return out;
}

const BIG = new Map<string, string>();
const rep = (c: string, n: number) => BIG.get(c + n) ?? (BIG.set(c + n, c.repeat(n)), BIG.get(c + n)!);
const GENERIC: unknown[] = [null, true, 0, -1, 0.5, 7, 2 ** 31, NaN, Infinity, -Infinity, 'fast', '', [], [3], ['x'], {}, { zz: 1 }, undefined, new Date(0)];

/** Probe values for a location, from the schemas the interpreter used there. Big probes (strings or arrays
 *  over 1000 long) are tried once per schema node, not at every location that node governs. */
const bigDone = new Set<Schema>();
function probes(schemas: Schema[], current: unknown): unknown[] {
  const out = [...GENERIC];
  const flat = schemas.flatMap((s) => (s.oneOf ? (s.oneOf as Schema[]).map(deref) : [s]));
  for (const s of flat) {
    const big = bigDone.has(s);
    bigDone.add(s);
    if (s.maxLength !== undefined && (s.maxLength <= 1000 || !big)) out.push(rep('x', s.maxLength), rep('x', s.maxLength + 1), rep('😀', s.maxLength));
    if (s.minLength) out.push('');
    if (s.pattern) out.push('yesterday', '2025-01-31T12:00:00Z', '2025-01-31 12:00:00');
    if (s.minimum !== undefined) out.push(s.minimum, s.minimum - 1e-9, s.minimum + 0.5);
    if (s.maximum !== undefined) out.push(s.maximum, s.maximum + 1, s.maximum - 0.5);
    if (s.enum) out.push(...s.enum, 'bogus');
    if ('const' in s) out.push(s.const, 2, 'efficiency-lab-session-2');
    if (s.maxItems !== undefined && (s.maxItems <= 1000 || !big)) {
      const item = Array.isArray(current) && current.length ? current[0] : 0;
      out.push(new Array(s.maxItems + 1).fill(item));
      // exactly maxItems is accepted: checked here for the small bounds (the 1M bound in session.test.ts)
      if (s.maxItems <= 1000) out.push(new Array(s.maxItems).fill(item));
    }
    if (s.maxProperties !== undefined) {
      const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1]));
      out.push(many(s.maxProperties), many(s.maxProperties + 1), { ['k'.repeat(101)]: 1 }, { ['k'.repeat(100)]: 1 });
    }
  }
  return out;
}

describe('session validator ⇔ docs/session.schema.json', () => {
  const example = exampleSession();
  const seen = new Map<string, Schema[]>();
  const schemaVerdict = check(root, example, '', seen); // also records which schema applies at each path

  it('both accept the full example, which uses every property the schema defines', () => {
    expect(schemaVerdict).toBeNull();
    expect(validatorVerdict(example)).toBeNull();
    const used = new Set<string>();
    for (const list of seen.values()) for (const s of list) for (const k of Object.keys(s.properties ?? {})) used.add(k);
    const defined = new Set<string>();
    const walk = (s: Schema) => Object.keys(s.properties ?? {}).forEach((k) => defined.add(k));
    walk(root);
    Object.values(root.$defs as Record<string, Schema>).forEach(walk);
    for (const k of defined) expect(used.has(k) && locations(example, '', []).some((l) => l.key === k), `example lacks "${k}"`).toBe(true);
  });

  it('reject a deletion of each required field, naming it, and accept a deletion of each optional one', () => {
    let required = 0;
    let optional = 0;
    for (const loc of locations(example, '', [])) {
      if (Array.isArray(loc.parent)) continue;
      const copy = structuredClone(example);
      const parent = locations(copy, '', []).find((l) => l.path === loc.path)!.parent;
      delete parent[loc.key];
      const parentSchemas = seen.get(loc.path.replace(/(\.[A-Za-z_$][\w$]*|\[[^\]]*\])$/, '')) ?? [];
      const isRequired = parentSchemas.some((s) => (s.required ?? []).includes(loc.key));
      const verdict = validatorVerdict(copy);
      expect(verdict, loc.path).toBe(check(root, copy, ''));
      if (isRequired) (required++, expect(verdict, loc.path).toBe(loc.path));
      else if (parentSchemas.some((s) => s.properties && loc.key in s.properties)) (optional++, expect(verdict, loc.path).toBeNull());
    }
    expect(required).toBeGreaterThan(60);
    expect(optional).toBeGreaterThanOrEqual(6); // generator, architecture, spread, quality, reference, kernel_ns
  });

  it('agree on every mutation of every location: accept, or reject at the same first path', () => {
    let n = 0;
    let rejected = 0;
    for (const loc of locations(example, '', [])) {
      const original = loc.parent[loc.key];
      for (const p of probes(seen.get(loc.path) ?? [], original)) {
        if (p === undefined && !Array.isArray(loc.parent)) continue; // deletions: previous test
        loc.parent[loc.key] = p;
        const want = check(root, example, '');
        const got = validatorVerdict(example);
        expect(got, `${loc.path} = ${String(p).slice(0, 30)}`).toBe(want);
        n++;
        if (got) rejected++;
      }
      loc.parent[loc.key] = original;
      if (!Array.isArray(loc.parent)) {
        loc.parent.zz_unknown = 1; // unknown key next to this one
        expect(validatorVerdict(example), `${loc.path} + zz_unknown`).toBe(check(root, example, ''));
        delete loc.parent.zz_unknown;
      }
    }
    expect(validatorVerdict(example)).toBeNull();
    expect(n).toBeGreaterThan(3000);
    expect(rejected).toBeGreaterThan(1500);
  });

  it('agree at the top level: non-objects, and format/version before anything else', () => {
    for (const v of [null, 1, 'x', [], [exampleSession()]]) expect(validatorVerdict(v)).toBe(check(root, v, ''));
    const s = exampleSession() as unknown as Record<string, unknown>;
    s.version = 2;
    s.runs = 'nope';
    expect(validatorVerdict(s)).toBe('version');
    expect(check(root, s, '')).toBe('version');
  });
});

describe('docs/session-schema.md', () => {
  it('its minimal example file is valid under both the schema and the validator', () => {
    const md = readFileSync(new URL('../../docs/session-schema.md', import.meta.url), 'utf8');
    const block = /```json\n([\s\S]*?)\n```/.exec(md)![1]!;
    const json = JSON.parse(block);
    expect(check(root, json, '')).toBeNull();
    expect(validatorVerdict(json)).toBeNull();
  });
});
