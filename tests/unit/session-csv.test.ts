// CSV export: RFC 4180 quoting, formula guarding, one row per run with flattened metric and config columns.
import { describe, expect, it } from 'vitest';
import { CSV_FIXED_COLUMNS, csvField, exportCsv, parseCsv } from '../../src/bench/csv';
import { exampleSession } from '../../src/bench/example';

describe('csvField (RFC 4180)', () => {
  it('quotes only fields holding a quote, comma, CR or LF, doubling quotes', () => {
    expect(csvField('plain text')).toBe('plain text');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('"')).toBe('""""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\ronly')).toBe('"cr\ronly"');
    expect(csvField('crlf\r\n')).toBe('"crlf\r\n"');
    expect(csvField("it's; fine")).toBe("it's; fine");
  });
  it('writes null/undefined as empty, numbers as JavaScript prints them, non-finite as empty', () => {
    expect([null, undefined, 0, -1.5, 1e21, 0.1 + 0.2, NaN, Infinity, true, false].map((v) => csvField(v))).toEqual(['', '', '0', '-1.5', '1e+21', '0.30000000000000004', '', '', 'true', 'false']);
  });
  it("guards text that a spreadsheet would run as a formula with a leading ' (numbers untouched)", () => {
    expect(csvField('=SUM(A1:A9)')).toBe("'=SUM(A1:A9)");
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-3 dB')).toBe("'-3 dB");
    expect(csvField('@cmd')).toBe("'@cmd");
    expect(csvField('=HYPERLINK("x","y")')).toBe(`"'=HYPERLINK(""x"",""y"")"`);
    expect(csvField('=1+1', false)).toBe('=1+1');
    expect(csvField(-3)).toBe('-3');
  });
});

describe('exportCsv', () => {
  const s = exampleSession();
  const text = exportCsv(s);
  const rows = parseCsv(text);
  const header = rows[0]!;
  const col = (r: number, name: string) => rows[r]![header.indexOf(name)];

  it('has a header and one row per run, CRLF-terminated, every row as wide as the header', () => {
    expect(rows.length).toBe(1 + s.runs.length);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n').length).toBe(rows.length + 1); // records end in CRLF; the text '\nJhe' holds a bare LF inside quotes
    for (const r of rows) expect(r.length).toBe(header.length);
    expect(header.slice(0, CSV_FIXED_COLUMNS.length)).toEqual([...CSV_FIXED_COLUMNS]);
  });

  it('flattens config, kernel_ns and spread into sorted dotted columns (union over runs)', () => {
    expect(header.slice(CSV_FIXED_COLUMNS.length)).toEqual([
      'config.early_exit',
      'config.layers',
      'config.precision',
      'config.provider',
      'config.sampling.maxNewTokens',
      'config.sampling.seed',
      'config.sampling.temperature',
      'config.sampling.topK',
      'config.sampling.topP',
      'kernel_ns.attention',
      'kernel_ns.gemv',
      'kernel_ns.norm',
      'spread.decode_tok_s.max',
      'spread.decode_tok_s.min',
      'spread.decode_tok_s.n',
      'spread.decode_tok_s.q1',
      'spread.decode_tok_s.q3',
      'spread.ttft_ms.max',
      'spread.ttft_ms.min',
      'spread.ttft_ms.n',
      'spread.ttft_ms.q1',
      'spread.ttft_ms.q3',
    ]);
    expect([col(1, 'config.layers'), col(1, 'config.sampling.topP'), col(1, 'config.provider'), col(2, 'config.provider')]).toEqual(['[0,1,2]', '1', '', 'wasm']);
    expect([col(1, 'kernel_ns.gemv'), col(1, 'spread.ttft_ms.q3'), col(2, 'spread.ttft_ms.q3')]).toEqual(['8100000', '42', '']);
  });

  it('reads back the values, quoted text and nulls included', () => {
    expect(col(1, 'session_name')).toBe(s.name); // holds quotes and commas
    expect(text).toContain('"int4 vs f32, ""lab-target"", 2 runs"');
    expect(col(1, 'text')).toBe('\nJhe');
    expect(col(1, 'prompt')).toBe('ROMEO:\nBut soft, what light');
    expect(col(2, 'prompt')).toBe('82 79 77');
    expect(col(2, 'label')).toBe("baseline, =ids prompt");
    expect([col(1, 'decode_tok_s'), col(2, 'decode_tok_s'), col(1, 'gpu_bytes_kv'), col(2, 'gpu_bytes_kv')]).toEqual(['84.2', '', '786432', '']);
    expect([col(1, 'quality_perplexity'), col(1, 'quality_reference'), col(2, 'quality_kl')]).toEqual(['19.5', 'lab f32', '']);
    expect([col(1, 'engine'), col(2, 'engine'), col(2, 'model_parameters'), col(1, 'adapter')]).toEqual(['lab', 'ort-wasm', '', 'SwiftShader Device (Subzero)']);
  });

  it('of an empty session is the header alone', () => {
    const e = { ...s, runs: [] };
    expect(exportCsv(e)).toBe(CSV_FIXED_COLUMNS.join(',') + '\r\n');
  });
});
