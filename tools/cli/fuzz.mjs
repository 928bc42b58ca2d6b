#!/usr/bin/env node
// npm run fuzz -- [--cases N] [--seed S]: mutated model/session files through the real loaders (CPU only).
// The TypeScript harness (tools/fuzz/run.ts) is loaded through Vite's SSR loader. Last line:
//   N cases: X rejected with typed errors, Y loaded, Z crashes, W hangs
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const cases = arg('cases', 1200);
const seed = arg('seed', 1);
if (!(cases > 0) || !Number.isInteger(seed)) {
  console.error('usage: npm run fuzz -- [--cases N] [--seed S]');
  process.exit(2);
}
const { createServer } = await import('vite');
const server = await createServer({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), cacheDir: join(ROOT, 'node_modules/.vite-cli'), logLevel: 'error', server: { middlewareMode: true, hmr: false, watch: null } });
try {
  const { runFuzz, CASE_MS } = await server.ssrLoadModule('/tools/fuzz/run.ts');
  const tokenizerJson = JSON.parse(readFileSync(join(ROOT, 'models/lab-target/tokenizer.json'), 'utf8'));
  console.error(`fuzz: ${cases} cases, seed ${seed}, ${CASE_MS} ms per case before it counts as a hang`);
  const s = await runFuzz({ cases, seed, tokenizerJson, log: (m) => console.error(m) });
  for (const f of s.failures.slice(0, 20)) console.error(`FAIL ${f.target} (${f.how}): ${f.error}`);
  for (const [name, t] of Object.entries(s.byTarget)) console.error(`  ${name}: ${t.cases} cases, ${t.rejected} rejected, ${t.loaded} loaded, ${t.crashes} crashes, ${t.hangs} hangs`);
  console.log(`${s.cases} cases: ${s.rejected} rejected with typed errors, ${s.loaded} loaded, ${s.crashes} crashes, ${s.hangs} hangs`);
  process.exitCode = s.crashes || s.hangs ? 1 : 0;
} finally {
  await server.close();
}
