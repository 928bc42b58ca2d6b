// Sessions: building and editing, JSON export → import round trip, and every malformed file refused with the
// first offending field's JSON path (or, for broken JSON, its line and column), importing nothing.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TECHNIQUES, type GenerateResult } from '../../src/engine/types';
import { exampleSession } from '../../src/bench/example';
import { findJsonError } from '../../src/bench/json';
import type { Session } from '../../src/bench/schema';
import {
  addRun,
  copySession,
  environmentFromProbe,
  exportFileName,
  exportJson,
  importBlob,
  importJson,
  modelFromInfo,
  newSession,
  qualityFromReport,
  removeRun,
  renameSession,
  runFromResult,
  SessionParseError,
  SessionTooLargeError,
  SessionValidationError,
} from '../../src/bench/session';
import { validateSession } from '../../src/bench/validate';
import { mulberry32 } from '../../src/ref/random';

type Any = any;
const env = environmentFromProbe(
  { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader', isFallback: true, features: ['subgroups'], missing: [{ feature: 'shader-f16', effect: 'no f16' }], limits: { maxBufferSize: 2 ** 32, weird: NaN } },
  'node/v20 (test)',
);
const result = (): GenerateResult => ({
  promptIds: [5, 6, 7],
  outputIds: [8, 9, 10],
  text: 'abc',
  metrics: { promptTokens: 3, generatedTokens: 3, ttft_ms: 40, prefill_tok_s: 75, decode_tok_s: Infinity, ms_per_token_p50: 10, ms_per_token_p95: 12, tokenMs: [10, 12], gpu_bytes: { weights: 100, kv: 20, activations: 3, staging: 4, uniforms: 5 }, bytes_per_token: 125, achieved_gbps: 0.0125, roofline_fraction: NaN, copy_gbps: 2, bound: 'dispatch', dispatches_per_token: 40, kernelNs: { gemv: 1234 }, stoppedBy: 'length' },
});

/** The path named by validateSession(v), or null if valid. */
function rejects(v: unknown): string {
  try {
    validateSession(v);
  } catch (e) {
    expect(e).toBeInstanceOf(SessionValidationError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}
const mutated = (f: (s: Any) => void): Session => {
  const s = exampleSession();
  f(s);
  return s;
};

describe('building sessions', () => {
  it('newSession → addRun → renameSession → removeRun, each a new valid object leaving its input untouched', () => {
    const s0 = newSession({ environment: env, now: '2025-02-01T10:00:00.000Z', id: 's1', generator: 'test' });
    expect(s0).toMatchObject({ format: 'efficiency-lab-session', version: 1, id: 's1', name: 'Session 2025-02-01 10:00', runs: [], created_at: '2025-02-01T10:00:00.000Z' });
    expect(env.adapter!.limits).toEqual({ maxBufferSize: 2 ** 32 }); // NaN limit dropped, `missing` not stored
    const run = runFromResult({ engine: 'lab', label: 'f32', config: { precision: 'f32' }, prompt: 'hi', model: { name: 'm', source: 'embedded:m', parameters: 10, bytes: 40 }, result: result(), startedAt: '2025-02-01T10:00:01.000Z', id: 'r1' });
    const s1 = addRun(s0, run, '2025-02-01T10:00:02.000Z');
    expect(s0.runs).toEqual([]);
    expect(s1.runs).toEqual([run]);
    expect(s1.updated_at).toBe('2025-02-01T10:00:02.000Z');
    const s2 = renameSession(s1, '  int4 sweep  ', '2025-02-01T10:00:03.000Z');
    expect([s1.name, s2.name, s2.updated_at]).toEqual(['Session 2025-02-01 10:00', 'int4 sweep', '2025-02-01T10:00:03.000Z']);
    expect(() => renameSession(s1, '   ')).toThrow('name: must not be empty');
    expect(() => renameSession(s1, 'x'.repeat(201))).toThrow('name: longer than 200 characters');
    expect(removeRun(s2, 'r1').runs).toEqual([]);
    expect(removeRun(s2, 'nope')).toBe(s2);
    const c = copySession(s2, { name: 'copy' });
    expect(c.id).not.toBe(s2.id);
    expect(c.runs).toBe(s2.runs);
    for (const s of [s0, s1, s2, c]) expect(validateSession(s)).toBe(s);
    expect(newSession({ environment: env }).id).not.toBe(newSession({ environment: env }).id);
    expect(exportFileName(s2, 'csv')).toBe('efficiency-lab-int4-sweep-2025-02-01.csv');
  });

  it('runFromResult maps metrics, turns non-finite figures into null, copies arrays, rebuilds token times', () => {
    const res = result();
    const cfg = { sampling: { temperature: 0 } };
    const r = runFromResult({ engine: 'lab', label: '', config: cfg, prompt: [5, 6, 7], model: { name: 'm', source: 's', parameters: null, bytes: null }, result: res, quality: { perplexity: 3, top1_agreement: 0.5, kl: 0.1 } });
    expect(r.metrics).toEqual({ decode_tok_s: null, prefill_tok_s: 75, ttft_ms: 40, ms_per_token_p50: 10, ms_per_token_p95: 12, gpu_bytes: res.metrics.gpu_bytes, bytes_per_token: 125, achieved_gbps: 0.0125, roofline_fraction: null, copy_gbps: 2, bound: 'dispatch', dispatches_per_token: 40, prompt_tokens: 3, generated_tokens: 3, stopped_by: 'length' });
    expect(r.token_times_ms).toEqual([40, 50, 62]); // ttft, then + tokenMs
    expect(r.kernel_ns).toEqual({ gemv: 1234 });
    res.outputIds.push(99);
    cfg.sampling.temperature = 1;
    expect([r.output_ids.length, (r.config.sampling as Any).temperature]).toEqual([3, 0]);
    const info = { name: 'lab-target', architecture: 'llama', parameters: 7, weightBytes: 28, config: {}, hasTokenizer: true, maxSeq: 8, vocabSize: 4, loadMs: { fetch: 0, parse: 0, upload: 0, compile: 0 }, settings: DEFAULT_TECHNIQUES };
    expect(modelFromInfo(info, 'embedded:lab-target')).toEqual({ name: 'lab-target', source: 'embedded:lab-target', parameters: 7, bytes: 28, architecture: 'llama' });
    const timed = runFromResult({ engine: 'ort-wasm', label: 'x', config: {}, prompt: 'p', model: { name: 'm', source: 's', parameters: 1, bytes: 1 }, result: result(), tokenTimesMs: [1, 2, 3] });
    expect(timed.token_times_ms).toEqual([1, 2, 3]);
    const overridden = runFromResult({ engine: 'lab', label: 'x', config: {}, prompt: 'p', model: { name: 'm', source: 's', parameters: 1, bytes: 1 }, result: result(), bytesPerToken: 99, achievedGbps: null, rooflineFraction: 0.5 });
    expect([overridden.metrics.bytes_per_token, overridden.metrics.achieved_gbps, overridden.metrics.roofline_fraction]).toEqual([99, null, 0.5]);
    expect(() => validateSession(addRun(newSession({ environment: env }), r))).not.toThrow();
  });

  it('qualityFromReport keeps the figures, null for the dense model itself and for non-finite ones', () => {
    expect(qualityFromReport({ perplexity: 19.5, nll: Math.log(19.5), tokens: 512, top1_agreement: null, kl: null }, 'lab f32')).toEqual({ perplexity: 19.5, nll: Math.log(19.5), tokens: 512, top1_agreement: null, kl: null, reference: 'lab f32' });
    expect(qualityFromReport({ perplexity: Infinity, top1_agreement: 0.9, kl: NaN })).toEqual({ perplexity: null, top1_agreement: 0.9, kl: null });
  });
});

describe('JSON export → import', () => {
  it('round-trips the full example exactly, with number arrays on one line', () => {
    const s = exampleSession();
    const text = exportJson(s);
    expect(importJson(text)).toEqual(s);
    expect(JSON.parse(text)).toEqual(s);
    expect(text).toContain('"output_ids": [10, 74, 104, 101]');
    expect(text).toContain('"prompt": "ROMEO:\\nBut soft, what light"');
    expect(findJsonError(text)).toBeNull();
    // a string that looks like a pretty-printed array is not touched
    const tricky = mutated((x) => (x.runs[0].text = '[\n  1,\n  2\n]'));
    expect(importJson(exportJson(tricky))).toEqual(tricky);
    expect(importJson('\ufeff' + text)).toEqual(s); // byte-order mark
  });

  it('refuses to export an invalid session', () => {
    expect(() => exportJson(mutated((s) => (s.runs[0].metrics.ttft_ms = NaN)))).toThrow('runs[0].metrics.ttft_ms: expected a finite number, got NaN');
  });
});

describe('malformed sessions are rejected naming the first offending field', () => {
  const cases: [string, (s: Any) => void, string][] = [
    ['a string metric', (s) => (s.runs[1].metrics.decode_tok_s = 'fast'), 'runs[1].metrics.decode_tok_s: expected a number, got "fast"'],
    ['a missing metric', (s) => delete s.runs[0].metrics.ttft_ms, 'runs[0].metrics.ttft_ms: required field is missing'],
    ['a newer version', (s) => (s.version = 2), 'version: unsupported session format version 2: this build reads version 1 only'],
    ['another format', (s) => (s.format = 'chrome-trace'), 'format: expected "efficiency-lab-session", got "chrome-trace" (not an Efficiency Lab session file)'],
    ['NaN in memory', (s) => (s.runs[0].token_times_ms[2] = NaN), 'runs[0].token_times_ms[2]: expected a finite number, got NaN'],
    ['a negative time', (s) => (s.runs[0].token_times_ms[0] = -1), 'runs[0].token_times_ms[0]: must be >= 0, got -1'],
    ['a fractional token id', (s) => (s.runs[0].output_ids[1] = 1.5), 'runs[0].output_ids[1]: expected an integer, got 1.5'],
    ['a token id as text', (s) => (s.runs[0].prompt_ids[0] = '82'), 'runs[0].prompt_ids[0]: expected an integer, got "82"'],
    ['a token id over int32', (s) => (s.runs[0].prompt_ids[0] = 2 ** 31), 'runs[0].prompt_ids[0]: must be <= 2147483647, got 2147483648'],
    ['a prompt object', (s) => (s.runs[0].prompt = { text: 'x' }), 'runs[0].prompt: expected a string or an array of token ids, got an object'],
    ['an unknown engine', (s) => (s.runs[1].engine = 'cuda'), 'runs[1].engine: expected one of "lab", "ort-webgpu", "ort-wasm", "transformersjs", got "cuda"'],
    ['a bad time', (s) => (s.runs[0].started_at = 'yesterday'), 'runs[0].started_at: expected an ISO 8601 date-time like "2025-01-31T12:00:00.000Z", got "yesterday"'],
    ['a missing byte count', (s) => delete s.runs[0].metrics.gpu_bytes.kv, 'runs[0].metrics.gpu_bytes.kv: required field is missing'],
    ['an unknown bound', (s) => (s.runs[0].metrics.bound = 'compute'), 'runs[0].metrics.bound: expected one of "bandwidth", "dispatch", "latency", null, got "compute"'],
    ['an unknown field', (s) => (s.runs[0].metrics.fast = true), 'runs[0].metrics.fast: unknown field (session format version 1 has no such field)'],
    ['an unknown spread metric', (s) => (s.runs[0].spread.loss = { min: 0, q1: 0, q3: 0, max: 0, n: 1 }), 'runs[0].spread.loss: unknown field'],
    ['n = 0 repetitions', (s) => (s.runs[0].spread.ttft_ms.n = 0), 'runs[0].spread.ttft_ms.n: must be >= 1, got 0'],
    ['agreement over 1', (s) => (s.runs[0].quality.top1_agreement = 1.5), 'runs[0].quality.top1_agreement: must be <= 1, got 1.5'],
    ['runs not an array', (s) => (s.runs = {}), 'runs: expected an array, got an object'],
    ['an empty name', (s) => (s.name = ''), 'name: must not be empty'],
    ['a long name', (s) => (s.name = 'n'.repeat(201)), 'name: longer than 200 characters'],
    ['a non-JSON config value', (s) => (s.runs[0].config.when = new Date(0)), 'runs[0].config.when: expected a JSON value, got a Date object'],
    ['an undefined config value', (s) => (s.runs[0].config.x = undefined), 'runs[0].config.x: expected a JSON value, got nothing'],
    ['a config key with spaces', (s) => (s.runs[0].config['top k'] = Infinity), 'runs[0].config["top k"]: expected a finite number, got Infinity'],
    ['a huge key', (s) => (s.environment.adapter.limits['k'.repeat(101)] = 1), 'environment.adapter.limits: key "kkkk'],
    ['too many features', (s) => (s.environment.adapter.features = new Array(257).fill('f')), 'environment.adapter.features: more than 256 items (got 257)'],
    ['an adapter string', (s) => (s.environment.adapter = 'gpu'), 'environment.adapter: expected an object, got "gpu"'],
    ['a class instance', (s) => (s.runs[0].model = new Map()), 'runs[0].model: expected an object, got a Map object'],
    // first offending field: the earlier run wins, and within a run, schema order (id before metrics)
    ['two errors', (s) => ((s.runs[1].id = 7), (s.runs[0].metrics.ttft_ms = 'x'), (s.runs[1].metrics = null)), 'runs[0].metrics.ttft_ms: expected a number, got "x"'],
    ['two errors in one run', (s) => ((s.runs[1].metrics = null), (s.runs[1].id = '')), 'runs[1].id: must not be empty'],
  ];
  for (const [what, f, message] of cases) {
    it(what, () => expect(rejects(mutated(f))).toContain(message));
  }

  it('non-sessions: nothing, an array, a package.json', () => {
    expect(rejects(null)).toBe('(root): expected an object, got null');
    expect(rejects([])).toBe('(root): expected an object, got an array');
    expect(rejects({ name: 'efficiency-lab', version: '0.1.0' })).toBe('format: required field is missing (not an Efficiency Lab session file)');
  });

  it('bounds: 100 000 runs, 1M token ids, config depth 32', () => {
    const s = exampleSession();
    const many = mutated((x) => (x.runs = new Array(100_001).fill(s.runs[1])));
    expect(rejects(many)).toBe('runs: more than 100000 items (got 100001)');
    expect(() => validateSession(mutated((x) => (x.runs[0].prompt_ids = new Array(1_000_000).fill(1))))).not.toThrow();
    expect(rejects(mutated((x) => (x.runs[0].prompt_ids = new Array(1_000_001).fill(1))))).toBe('runs[0].prompt_ids: more than 1000000 items (got 1000001)');
    const nest = (d: number): Any => (d === 0 ? 1 : { a: nest(d - 1) });
    expect(() => validateSession(mutated((x) => (x.runs[0].config = { a: nest(31) })))).not.toThrow(); // config + 31 objects = 32 levels
    expect(rejects(mutated((x) => (x.runs[0].config = { a: nest(32) })))).toMatch(/^runs\[0\]\.config(\.a){32}: nested deeper than 32 levels$/);
  });
});

describe('importJson', () => {
  const errorOf = (text: string): SessionParseError => {
    try {
      importJson(text);
    } catch (e) {
      expect(e).toBeInstanceOf(SessionParseError);
      return e as SessionParseError;
    }
    throw new Error('accepted');
  };

  it('reports JSON syntax errors with line, column and offset, the same in every browser', () => {
    expect(errorOf('{"a": 1,}').message).toBe('not valid JSON at line 1, column 9 (offset 8): expected a property name in double quotes, got "}"');
    const e = errorOf('{\n  "format": "efficiency-lab-session",\n  "version": 1\n  "id": "x"\n}');
    expect([e.line, e.column, e.offset]).toEqual([4, 3, 57]);
    expect(e.detail).toBe('expected \',\' or \'}\', got "\\""');
    expect(errorOf('{"runs": [1, 2').message).toBe('not valid JSON at line 1, column 15 (offset 14): expected \',\' or \']\', got the end of the text');
    expect(errorOf('{"x": NaN}').offset).toBe(6);
    expect(errorOf('[01]').offset).toBe(2);
    expect(errorOf('"a\\x"').offset).toBe(3); // the bad escape letter
    expect(errorOf('"tab\there"').offset).toBe(4);
    expect(errorOf('{} {}').message).toContain('expected the end of the text');
    expect(errorOf('').message).toContain('expected a value, got the end of the text');
    expect(errorOf('['.repeat(1_000_000)).offset).toBe(1_000_000); // deep and unterminated: no stack overflow
  });

  it('finds an error exactly when JSON.parse refuses the text (2000 random one-character edits)', () => {
    const base = JSON.stringify({ a: [1, -2.5e3, true, null], 'b\\"': { c: 'x\u00e9\n', d: [] }, e: 0.25 }, null, 1);
    const alphabet = '{}[],:"\\ \n\t0123456789.eE+-truefalsnu\u0001x';
    const u = mulberry32(7);
    let bad = 0;
    for (let k = 0; k < 2000; k++) {
      const i = Math.floor(u() * (base.length + 1));
      const c = alphabet[Math.floor(u() * alphabet.length)]!;
      const edit = [base.slice(0, i) + c + base.slice(i), base.slice(0, i) + base.slice(i + 1), base.slice(0, i) + c + base.slice(i + 1)][k % 3]!;
      let parses = true;
      try {
        JSON.parse(edit);
      } catch {
        parses = false;
      }
      const found = findJsonError(edit);
      expect(found === null, JSON.stringify(edit)).toBe(parses);
      if (found) (bad++, expect(found.offset).toBeLessThanOrEqual(edit.length));
    }
    expect(bad).toBeGreaterThan(500);
  });

  it('validates after parsing (1e999 is Infinity) and handles deep JSON', () => {
    const text = exportJson(exampleSession()).replace('"ttft_ms": 41.5', '"ttft_ms": 1e999');
    expect(() => importJson(text)).toThrow('runs[0].metrics.ttft_ms: expected a finite number, got Infinity');
    expect(() => importJson('['.repeat(100_000) + ']'.repeat(100_000))).toThrow('(root): expected an object, got an array');
    const deep = exportJson(exampleSession()).replace('"provider": "wasm"', `"provider": ${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(() => importJson(deep)).toThrow(/^runs\[1\]\.config\.provider(\[0\]){31}: nested deeper than 32 levels$/);
  });

  it('refuses files over 50 MiB before parsing (and a Blob before reading it)', async () => {
    expect(() => importJson(' '.repeat(50 * 1024 * 1024 + 1))).toThrow(SessionTooLargeError);
    const huge = { size: 60 * 1024 * 1024, text: () => Promise.reject(new Error('read')) } as unknown as Blob;
    await expect(importBlob(huge)).rejects.toThrow('the file is 60.0 MiB; the limit is 50.0 MiB');
    await expect(importBlob(new Blob([exportJson(exampleSession())]))).resolves.toEqual(exampleSession());
    await expect(importBlob(new Blob(['{"format": "efficiency-lab-session", "version": 3}']))).rejects.toThrow('version: unsupported session format version 3');
  });
});
