// The Markdown table of a session: one row per run, the figures formatted, ratios against the first lab run.
import { describe, expect, it } from 'vitest';
import { exampleSession } from '../../src/bench/example';
import { fmtBytes, fmtNum, MARKDOWN_COLUMNS, markdownReport, markdownTable } from '../../src/bench/markdown';
import type { Session, SessionRun } from '../../src/bench/schema';

function session(): Session {
  const s = exampleSession();
  const [lab, ort] = s.runs as [SessionRun, SessionRun];
  const int4: SessionRun = structuredClone(lab);
  int4.id = 'run-3';
  int4.label = 'int4 | g32';
  int4.metrics.decode_tok_s = 168.4;
  int4.metrics.ms_per_token_p50 = 5.9375; // half the f32 run's 11.875: a 2× speed-up
  int4.metrics.bytes_per_token = 4_750_000; // ¼
  int4.metrics.gpu_bytes = { weights: 5_000_000, kv: 786_432, activations: 65_536, staging: 4096, uniforms: 2048 };
  int4.quality = { perplexity: 21.25, top1_agreement: 0.9375, kl: 0.01234, reference: 'lab f32' };
  int4.config = { ...int4.config, output_agreement: { reference: 'lab dense', match: 0.5, first_divergence: 2 } };
  delete int4.spread;
  ort.prompt = lab.prompt; // same prompt: no prompt column
  ort.metrics.decode_tok_s = 42.1;
  ort.metrics.ms_per_token_p50 = 23.75; // twice the f32 run's: 0.5×
  s.runs = [lab, int4, ort];
  return s;
}

const rowsOf = (table: string) => table.split('\n').map((l) => l.slice(2, -2).split(' | '));

describe('markdownTable', () => {
  it('has the header, an alignment row and one row per run with the figures', () => {
    const t = rowsOf(markdownTable(session().runs));
    expect(t[0]).toEqual([...MARKDOWN_COLUMNS]);
    expect(t[1]![0]).toBe('---');
    expect(t[1]![2]).toBe('---:');
    expect(t).toHaveLength(5);
    const col = (row: number, name: string) => t[row]![t[0]!.indexOf(name)];
    // lab f32
    expect(col(2, 'config')).toBe('f32, greedy');
    expect(col(2, 'decode_tok_s')).toBe('84.20');
    expect(col(2, 'decode_iqr')).toBe('83.00–85.00');
    expect(col(2, 'ms_per_token_p50')).toBe('11.88');
    expect(col(2, 'gpu_bytes')).toBe('19.7 MB'); // 18 800 000 + 786 432 + 65 536 + 4096 + 2048 = 19 658 112
    expect(col(2, 'bytes_per_token')).toBe('19.0 MB');
    expect(col(2, 'roofline_fraction')).toBe('0.730');
    expect(col(2, 'bound')).toBe('dispatch');
    expect(col(2, 'perplexity')).toBe('19.50');
    expect(col(2, 'speedup')).toBe('1.00×');
    // int4: the '|' in its label is escaped, ratios against the first lab run
    expect(markdownTable(session().runs)).toContain('| int4 \\| g32 | lab |');
    expect(col(3, 'speedup')).toBe('2.00×');
    expect(col(3, 'bytes_ratio')).toBe('0.25×');
    expect(col(3, 'top1_agreement')).toBe('0.938');
    expect(col(3, 'kl')).toBe('0.0123');
    expect(col(3, 'ids_match')).toBe('0.50');
    expect(col(3, 'decode_iqr')).toBe('—');
    // ORT: nothing measured on memory or quality
    expect(col(4, 'engine')).toBe('ort-wasm');
    expect(col(4, 'gpu_bytes')).toBe('—');
    expect(col(4, 'perplexity')).toBe('—');
    expect(col(4, 'bound')).toBe('—');
    expect(col(4, 'speedup')).toBe('0.50×');
    expect(col(4, 'bytes_ratio')).toBe('—');
  });

  it('adds a prompt column when runs use different prompts, ratios per prompt', () => {
    const s = session();
    const other = structuredClone(s.runs[0]!);
    other.prompt = 'another prompt';
    other.metrics.ms_per_token_p50 = 10;
    const slow = structuredClone(other);
    slow.metrics.ms_per_token_p50 = 20;
    const t = rowsOf(markdownTable([...s.runs, other, slow]));
    expect(t[0]![2]).toBe('prompt');
    expect(t.slice(2).map((r) => r[2])).toEqual(['1', '1', '1', '2', '2']);
    expect(t[6]![t[0]!.indexOf('speedup')]).toBe('0.50×');
  });

  it('shows early-exit / speculative columns only when a run has those statistics', () => {
    const s = session();
    expect(markdownTable(s.runs)).not.toContain('avg_layers');
    s.runs[1]!.config = { ...s.runs[1]!.config, dynamic: { early_exit: { avg_layers: 4.25, histogram: [0, 1] } } };
    const t = rowsOf(markdownTable(s.runs));
    expect(t[0]!.slice(-3)).toEqual(['avg_layers', 'speedup', 'bytes_ratio']);
    expect(t.slice(2).map((r) => r[t[0]!.indexOf('avg_layers')])).toEqual(['—', '4.25', '—']);
    s.runs[0]!.config = { ...s.runs[0]!.config, dynamic: { speculative: { acceptance_rate: 0.8125, tokens_per_target_forward: 3.5, gamma: 4 } } };
    const u = rowsOf(markdownTable(s.runs));
    expect(u[0]!.slice(-5)).toEqual(['avg_layers', 'accept_rate', 'tok_per_fwd', 'speedup', 'bytes_ratio']);
    expect(u[2]!.slice(-5)).toEqual(['—', '0.813', '3.50', '1.00×', '1.00×']);
  });
});

describe('formatting', () => {
  it('formats numbers and bytes', () => {
    expect(fmtNum(null)).toBe('—');
    expect(fmtNum(NaN)).toBe('—');
    expect(fmtNum(1.005, 1)).toBe('1.0');
    expect(fmtNum(0)).toBe('0.00');
    expect(fmtNum(0.0001)).toBe('1.00e-4');
    expect(fmtNum(2.5e7)).toBe('2.50e+7');
    expect(fmtBytes(999)).toBe('999 B');
    expect(fmtBytes(20_990_984)).toBe('21.0 MB');
    expect(fmtBytes(1_500)).toBe('1.50 kB');
    expect(fmtBytes(250_000_000)).toBe('250 MB');
    expect(fmtBytes(undefined)).toBe('—');
  });
});

describe('markdownReport', () => {
  it('has a title, the adapter, the table and the notes', () => {
    const r = markdownReport(session(), { title: 'suite precision', notes: ['skipped: f16 [lab]: no shader-f16'] });
    expect(r).toMatch(/^### suite precision\n/);
    expect(r).toContain('Adapter: google / swiftshader / SwiftShader Device (Subzero) (fallback adapter');
    expect(r).toContain('| config | engine |');
    expect(r).toMatch(/- skipped: f16 \[lab\]: no shader-f16\n$/);
    const empty = { ...session(), runs: [] };
    expect(markdownReport(empty)).toContain('(no runs)');
  });
});
