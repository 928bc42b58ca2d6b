// The fuzz harness: mutate valid model and session files (safetensors, config.json, tokenizer.json, session JSON,
// and GGUF / llama2.c + tokenizer.bin from ./formats.ts) and feed them to the real loaders. Every case must
// end in a typed error (ModelLoadError / SessionImportError and their subclasses) or a correct load: no other
// exception (a crash), no case over the time budget (a hang), no read beyond the byte budget before validation.
// CPU only; fixed seed and count. Run: npm run fuzz -- [--cases N] [--seed S]
import { SessionImportError } from '../../src/bench/session';
import { importJson } from '../../src/bench/session';
import { exampleSession } from '../../src/bench/example';
import { parseConfig } from '../../src/model/config';
import { ModelLoadError } from '../../src/model/errors';
import { type ByteSource, bytesSource, readSafetensors } from '../../src/model/safetensors';
import { loadModel } from '../../src/model/source';
import { loadWeights } from '../../src/model/weights';
import { makeLlamaFixture } from '../../tests/fixtures/llama';
import type { ModelSource } from '../../src/engine/types';
import { formatTargets } from './formats';
import { mutateBytes, mutateJson, rng, type Rand } from './mutate';

export const CASE_MS = 2000; // a case slower than this counts as a hang
export const READ_BUDGET = (fileBytes: number) => 4 * fileBytes + (1 << 20); // bytes a loader may read

export interface FuzzSummary {
  cases: number;
  rejected: number;
  loaded: number;
  crashes: number;
  hangs: number;
  failures: { target: string; how: string; error: string }[];
  /** Per target: cases, rejected, loaded, crashes, hangs. */
  byTarget: Record<string, { cases: number; rejected: number; loaded: number; crashes: number; hangs: number }>;
}

type Outcome = 'rejected' | 'loaded';

/** A ByteSource that counts what the loader reads. */
function counted(src: ByteSource): ByteSource & { readBytes: number } {
  const c = { ...src, readBytes: 0, read: async (o: number, n: number) => ((c.readBytes += n), src.read(o, n)) };
  return c;
}

function typed(e: unknown): boolean {
  return e instanceof ModelLoadError || e instanceof SessionImportError;
}

interface Target {
  name: string;
  run(u: Rand): Promise<{ how: string; outcome: () => Promise<Outcome> }>;
}

export function targets(tokenizerJson: unknown): Target[] {
  const fx = makeLlamaFixture({ seed: 5 });
  const cfg = parseConfig(fx.configJson);
  const session = exampleSession();
  // the tokenizer target pairs the real tokenizer with a config whose vocabulary it fits
  const tokCfg = { ...fx.configJson, vocab_size: 1024, bos_token_id: 1023, eos_token_id: 1023 };
  const tokFx = makeLlamaFixture({ seed: 5, vocabSize: 1024 });
  const folder = (configText: string, tokenizerText: string | null): ModelSource => ({
    kind: 'files',
    files: [
      new File([configText], 'config.json'),
      new File([tokenizerText === null ? fx.safetensors : tokFx.safetensors], 'model.safetensors'),
      ...(tokenizerText === null ? [] : [new File([tokenizerText], 'tokenizer.json')]),
    ],
  });
  return [
    {
      name: 'safetensors',
      async run(u) {
        const m = mutateBytes(u, fx.safetensors);
        return {
          how: m.how,
          outcome: async () => {
            const src = counted(bytesSource('model.safetensors', m.bytes));
            await loadWeights(cfg, await readSafetensors(src), src);
            if (src.readBytes > READ_BUDGET(m.bytes.length)) throw new Error(`read ${src.readBytes} bytes of a ${m.bytes.length}-byte file`);
            return 'loaded';
          },
        };
      },
    },
    {
      // the whole folder path of the product (loadModel on picked files), config.json mutated
      name: 'config.json',
      async run(u) {
        const m = mutateJson(u, fx.configJson);
        return { how: m.how, outcome: async () => (await loadModel(folder(m.text, null)), 'loaded') };
      },
    },
    {
      name: 'tokenizer.json',
      async run(u) {
        const m = mutateJson(u, tokenizerJson);
        return {
          how: m.how,
          outcome: async () => {
            const t = (await loadModel(folder(JSON.stringify(tokCfg), m.text))).tokenizer!;
            t.decode(t.encode('ROMEO: But soft, what light'));
            return 'loaded';
          },
        };
      },
    },
    {
      name: 'session.json',
      async run(u) {
        const m = mutateJson(u, session);
        return { how: m.how, outcome: async () => (importJson(m.text), 'loaded') };
      },
    },
  ];
}

export async function runFuzz(opts: { cases: number; seed: number; tokenizerJson: unknown; log?: (s: string) => void }): Promise<FuzzSummary> {
  const ts = [...targets(opts.tokenizerJson), ...(await formatTargets(counted, READ_BUDGET))];
  const s: FuzzSummary = { cases: 0, rejected: 0, loaded: 0, crashes: 0, hangs: 0, failures: [], byTarget: {} };
  for (let i = 0; i < opts.cases; i++) {
    const t = ts[i % ts.length]!;
    const u = rng(opts.seed * 1_000_003 + i);
    const c = await t.run(u);
    const bt = (s.byTarget[t.name] ??= { cases: 0, rejected: 0, loaded: 0, crashes: 0, hangs: 0 });
    bt.cases++;
    const t0 = performance.now();
    try {
      const o = await c.outcome();
      s[o]++;
      bt[o]++;
    } catch (e) {
      if (typed(e)) s.rejected++, bt.rejected++;
      else {
        s.crashes++;
        bt.crashes++;
        s.failures.push({ target: t.name, how: c.how, error: `${(e as Error)?.name}: ${(e as Error)?.message}`.slice(0, 300) });
      }
    }
    if (performance.now() - t0 > CASE_MS) {
      s.hangs++;
      bt.hangs++;
      s.failures.push({ target: t.name, how: c.how, error: `took ${Math.round(performance.now() - t0)} ms` });
    }
    s.cases++;
    if (opts.log && (i + 1) % 250 === 0) opts.log(`${i + 1}/${opts.cases} cases`);
  }
  return s;
}
