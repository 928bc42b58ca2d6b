// vitest globalSetup of the gpu project: writes the local Hub's repositories (tests/hub/fixtures.ts) to a fresh
// temporary folder, starts tests/hub/server.ts on a free port and provides the port to the browser tests as
// inject('hubPort'). Each run gets its own folder and port, so concurrent runs never share them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { hubRepos } from './fixtures';
import { startHubServer } from './server';

declare module 'vitest' {
  export interface ProvidedContext {
    hubPort: number;
  }
}

export async function writeHubRepos(root: string): Promise<void> {
  for (const [repo, files] of Object.entries(await hubRepos())) {
    for (const [file, bytes] of Object.entries(files)) {
      const path = join(root, repo, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
    }
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = mkdtempSync(join(tmpdir(), 'lab-hub-'));
  await writeHubRepos(root);
  const server = await startHubServer(root);
  project.provide('hubPort', server.port);
  return async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  };
}
