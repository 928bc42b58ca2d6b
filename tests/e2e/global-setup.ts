// Writes the e2e fixture models into test-results/fixtures/ (served by Vite from the repo root).
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { makeLlamaFixture } from '../fixtures/llama';
import { rawSafetensors } from '../fixtures/safetensors-writer';
import { BROKEN, FIXTURES_DIR, ROOT, TINY, TINY_IDS } from './fixtures';

function writeFolder(name: string, files: Record<string, string | Uint8Array>): void {
  const dir = `${FIXTURES_DIR}${name}/`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, data] of Object.entries(files)) writeFileSync(dir + file, data);
}

export default function globalSetup(): void {
  // vocab 1024 so the embedded tokenizer fits; maxSeq 1024 so a long generation can be stopped mid-way.
  const { configJson, safetensors } = makeLlamaFixture({ seed: 7, vocabSize: 1024, maxSeq: 1024 });
  const config = JSON.stringify(configJson, null, 2);
  writeFolder(TINY_IDS, { 'config.json': config, 'model.safetensors': safetensors });
  writeFolder(TINY, { 'config.json': config, 'model.safetensors': safetensors });
  const tok = `${ROOT}models/lab-target/`;
  for (const f of ['tokenizer.json', 'tokenizer_config.json'])
    if (existsSync(tok + f)) copyFileSync(tok + f, `${FIXTURES_DIR}${TINY}/${f}`);

  // 8-byte length 99999 + 112 bytes of header text = a 120-byte file whose header runs past its end.
  const header = `{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`.padEnd(112, ' ');
  writeFolder(BROKEN, { 'config.json': config, 'model.safetensors': rawSafetensors(header, new Uint8Array(0), 99999) });
}
