// Where the e2e fixtures live and how the app addresses them. Written by global-setup.ts.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES_DIR = `${ROOT}test-results/fixtures/`;
/** URL path of a fixture folder on the dev server. */
export const fixtureUrl = (name: string) => `/test-results/fixtures/${name}/`;

/** A random 2-layer Llama (hidden 72, GQA 4/2) with the embedded byte-level BPE tokenizer (vocab 1024). */
export const TINY = 'tiny';
/** Valid config.json, but model.safetensors declares a 99999-byte header in a 120-byte file. */
export const BROKEN = 'broken';
/** Same weights as TINY without tokenizer files: prompts are token ids. */
export const TINY_IDS = 'tiny-ids';

/** Run one of the headless CLIs (tools/cli/<script>) to completion; rejects when it outlives `timeoutMs`. */
export function runCli(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [join(ROOT, 'tools/cli', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGTERM');
      fail(new Error(`${script} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    p.on('error', fail);
    p.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
