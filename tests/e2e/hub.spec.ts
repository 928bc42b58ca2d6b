// The Model panel's Hub field against the local stand-in Hub (tests/hub/server.ts, started here; never the real
// Hub): ?hub=<endpoint> points the app at it; a slow download shows bytes in the progress bar and Cancel stops it
// (LoadCancelledError, the previous model stays); typing a repo id loads it; a second load comes from the cache
// after one HEAD of config.json (main has not moved).
import { expect, test } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHubRepos } from '../hub/global-setup';
import { startHubServer, type HubServer } from '../hub/server';
import { waitIdle } from './app';

let hub: HubServer;
let root: string;

test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lab-hub-e2e-'));
  await writeHubRepos(root);
  hub = await startHubServer(root);
});

test.afterAll(async () => {
  await hub?.close();
  rmSync(root, { recursive: true, force: true });
});

test('Hub field: progress and cancel, then load by repo id; the second load is cached', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(`/?hub=${encodeURIComponent(hub.url)}`);
  await waitIdle(page);
  await page.evaluate(() => caches.delete('efficiency-lab-hub-v1'));
  const before = (await page.getByTestId('model-name').textContent()) ?? '';

  // a slow download: the bar shows bytes, Cancel stops it
  await page.getByTestId('hub-repo').fill('lab/slow');
  await page.getByTestId('load-hub').click();
  await expect(page.getByTestId('load-progress-text')).toContainText(/\d+(\.\d+)? [kK]?B \/ \d/);
  await page.getByTestId('load-cancel').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toContainText('LoadCancelledError');
  await expect(page.getByTestId('model-name')).toHaveText(before);

  // a repo id typed in: loads
  await page.getByTestId('hub-repo').fill('lab/tiny');
  await page.getByTestId('load-hub').click();
  await waitIdle(page);
  await expect(page.getByTestId('model-name')).toHaveText('lab/tiny');
  const log = async () => ((await (await fetch(`${hub.url}/__requests`)).json()) as { log: string[] }).log;
  const n = (await log()).length;
  await page.getByTestId('hub-repo').fill('lab/tiny');
  await page.getByTestId('load-hub').click();
  await waitIdle(page);
  await expect(page.getByTestId('model-name')).toHaveText('lab/tiny');
  await expect(page.getByTestId('model-info')).toContainText('(cached)');
  expect((await log()).slice(n)).toEqual(['HEAD /lab/tiny/resolve/main/config.json']); // "check for updates": main has not moved
  expect(violations).toEqual([]);
});

test('Hub field: a gated repo names the file and asks for a token', async ({ page }) => {
  await page.goto(`/?hub=${encodeURIComponent(hub.url)}`);
  await waitIdle(page);
  await page.getByTestId('hub-repo').fill('lab/gated');
  await page.getByTestId('load-hub').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toContainText(/config\.json: HTTP 401 .*gated/);
});
