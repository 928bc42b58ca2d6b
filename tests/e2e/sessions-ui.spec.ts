// The sessions UI on the real app: every Generate (and "Measure quality") is recorded into the current session
// and saved to IndexedDB; the session survives a reload; JSON export imports back as a copy with the same runs;
// a malformed file (picked or dropped) is refused with the validator's message and nothing is stored; the
// compare view renders the table and charts; a failed save shows a banner whose Export keeps the session.
// Screenshots of the sessions and compare views go to test-results/sessions-ui/.
import { readFileSync } from 'node:fs';
import { expect, test, type Download, type Page } from '@playwright/test';
import { exampleSession } from '../../src/bench/example';
import { openLab, setNumber, waitIdle } from './app';
import { fixtureUrl, TINY } from './fixtures';

type Any = any;
const SHOTS = 'test-results/sessions-ui/';

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

async function generate(page: Page, runs: number): Promise<void> {
  await page.getByTestId('generate').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('current-session-runs')).toHaveText(String(runs));
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [dl]: [Download, void] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: dl.suggestedFilename(), text: readFileSync((await dl.path())!, 'utf8') };
}

/** Sessions stored in the app's IndexedDB, read through the app's own store module. */
function storedCount(page: Page): Promise<number> {
  return page.evaluate(async (url) => (await (await import(/* @vite-ignore */ url)).idbSessionStore().list()).length, '/src/bench/store-idb.ts');
}

test('runs are recorded and survive a reload; export/import round-trips; bad files are refused; compare renders', async ({ page }) => {
  const errors = collectErrors(page);
  await openLab(page, fixtureUrl(TINY));
  await expect(page.getByTestId('current-session-none')).toBeVisible();
  await page.getByTestId('prompt').fill('ROMEO:\nBut soft');
  await setNumber(page, 'max-new-tokens', 8);
  await generate(page, 1);
  await setNumber(page, 'temperature', 0.8);
  await setNumber(page, 'top-k', 40);
  await generate(page, 2);
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved');
  await expect(page.getByTestId('last-run')).toContainText('f32 · T0.8 k40');

  // reload: the list and the current session come back from IndexedDB
  await page.reload();
  await waitIdle(page);
  await expect(page.getByTestId('current-session-runs')).toHaveText('2');
  await page.getByTestId('nav-sessions').click();
  await expect(page).toHaveURL(/#\/sessions$/);
  const rows = page.getByTestId('session-row');
  await expect(rows).toHaveCount(1);
  await expect(rows.first().getByTestId('session-runs')).toHaveText('2');
  await expect(rows.first().getByTestId('session-models')).toHaveText(TINY);
  await rows.first().getByTestId('session-name').click(); // fold out its runs
  await expect(page.getByTestId('run-row')).toHaveCount(2);

  // export JSON and CSV
  const json = await downloaded(page, () => rows.first().getByTestId('export-json').click());
  expect(json.name).toMatch(/^efficiency-lab-session-.*\.json$/);
  const exported = JSON.parse(json.text);
  expect(exported.runs).toHaveLength(2);
  for (const r of exported.runs) {
    expect(r.engine).toBe('lab');
    expect(r.output_ids).toHaveLength(8);
    expect(r.token_times_ms).toHaveLength(8);
    expect(r.token_times_ms.every((t: number, i: number, a: number[]) => i === 0 || t >= a[i - 1]!)).toBe(true);
    expect(r.config.quant.precision).toBe('f32');
    expect(r.model.source).toContain('/test-results/fixtures/tiny/');
    expect(r.metrics.decode_tok_s).toBeGreaterThan(0);
    expect(r.metrics.gpu_bytes.weights).toBeGreaterThan(0);
  }
  expect(exported.runs.map((r: Any) => r.config.sampling)).toMatchObject([{ temperature: 0, maxNewTokens: 8 }, { temperature: 0.8, topK: 40 }]);
  expect(exported.environment.adapter).not.toBeNull();
  const csv = await downloaded(page, () => rows.first().getByTestId('export-csv').click());
  expect(csv.name).toMatch(/\.csv$/);
  expect(csv.text.startsWith('session_id,session_name,run_id,')).toBe(true);
  for (const r of exported.runs) expect(csv.text).toContain(r.id);

  // import it back: same id already here, so it comes in as a copy with the same runs
  await page.getByTestId('import-file').setInputFiles({ name: json.name, mimeType: 'application/json', buffer: Buffer.from(json.text) });
  await expect(page.getByTestId('import-ok')).toContainText('imported as a copy');
  await expect(rows).toHaveCount(2);
  const copyRow = rows.filter({ hasText: '(copy)' });
  await expect(copyRow.getByTestId('session-runs')).toHaveText('2');
  const copy = JSON.parse((await downloaded(page, () => copyRow.getByTestId('export-json').click())).text);
  expect(copy.id).not.toBe(exported.id);
  expect(copy.runs).toEqual(exported.runs);
  expect(await storedCount(page)).toBe(2);

  // a malformed file, dropped: the validator's message names the field; nothing is stored
  const bad = structuredClone(exported);
  bad.runs[1].metrics.decode_tok_s = 'fast';
  const dt = await page.evaluateHandle((text) => {
    const d = new DataTransfer();
    d.items.add(new File([text], 'bad.json', { type: 'application/json' }));
    return d;
  }, JSON.stringify(bad));
  await page.getByTestId('sessions-view').dispatchEvent('drop', { dataTransfer: dt });
  await expect(page.getByTestId('import-error')).toHaveText('bad.json: SessionValidationError: runs[1].metrics.decode_tok_s: expected a number, got "fast". Nothing was imported.×');
  // and one that is not JSON at all, picked
  await page.getByTestId('import-file').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "efficiency-lab-session",\n  "version": 1,,\n}') });
  await expect(page.getByTestId('import-error')).toContainText('broken.json: SessionParseError: not valid JSON at line 2, column 16 (offset 52): expected a property name in double quotes');
  await expect(rows).toHaveCount(2);
  expect(await storedCount(page)).toBe(2);
  await page.screenshot({ path: `${SHOTS}sessions.png`, fullPage: true });

  // compare the two runs of the recorded session
  await page.getByTestId('nav-compare').click();
  await expect(page.getByTestId('compare-empty')).toBeVisible();
  await page.locator(`[data-testid="pick-session"][data-session-id="${exported.id}"]`).check();
  await expect(page.getByTestId('compare-col')).toHaveCount(2);
  await expect(page.getByTestId('row-decode_tok_s').locator('td')).toHaveCount(2);
  await expect(page.getByTestId('decode-bars-bar')).toHaveCount(2);
  await expect(page.getByTestId('memory-bars')).toBeVisible();
  await expect(page.locator('[data-testid="cdf-chart"] canvas')).toHaveCount(1);
  await expect(page.locator('[data-testid="pareto-chart"] canvas')).toHaveCount(1);
  await expect(page.getByTestId('pareto-none')).toBeVisible();
  await expect(page.getByTestId('quality-none')).toBeVisible();

  // measure quality in the lab (the techniques panel's button): a third run; with it the configuration gets a
  // point on the speed/quality plane
  await page.getByTestId('nav-lab').click();
  await page.getByTestId('tech-measure-quality').click();
  await expect(page.getByTestId('current-session-runs')).toHaveText('3');
  await expect(page.getByTestId('last-run')).toContainText('perplexity');
  await page.screenshot({ path: `${SHOTS}lab.png`, fullPage: true });
  await page.getByTestId('nav-compare').click();
  await page.locator(`[data-testid="pick-session"][data-session-id="${exported.id}"]`).check();
  await expect(page.getByTestId('compare-col')).toHaveCount(3);
  await expect(page.getByTestId('ppl-bar')).toHaveCount(1);
  const point = page.getByTestId('pareto-point');
  await expect(point).toHaveCount(1);
  await expect(point).toHaveAttribute('data-front', 'yes');
  await expect(point).toContainText('2 speed runs (median), 1 quality run');
  expect(Number((await page.getByTestId('row-perplexity').locator('td').nth(2).textContent())?.replace(/,/g, ''))).toBeGreaterThan(1);
  await page.screenshot({ path: `${SHOTS}compare.png`, fullPage: true });
  await page.getByTestId('pareto-chart').screenshot({ path: `${SHOTS}pareto.png` });
  expect(errors, 'uncaught page errors').toEqual([]);
});

test('rename, new session, delete with confirmation', async ({ page }) => {
  const errors = collectErrors(page);
  await openLab(page, fixtureUrl(TINY));
  await setNumber(page, 'max-new-tokens', 4);
  await generate(page, 1);
  await page.getByTestId('nav-sessions').click();
  const rows = page.getByTestId('session-row');
  await rows.first().getByTestId('rename').click();
  await page.getByTestId('rename-input').fill('int4 trial');
  await page.getByTestId('rename-input').press('Enter');
  await expect(rows.first().getByTestId('session-name')).toContainText('int4 trial');
  await page.getByTestId('new-session').click();
  await expect(rows).toHaveCount(2);
  await page.getByTestId('nav-lab').click();
  await expect(page.getByTestId('current-session-runs')).toHaveText('0');
  await generate(page, 1);
  await page.getByTestId('nav-sessions').click();
  const old = rows.filter({ hasText: 'int4 trial' });
  await old.getByTestId('delete').click();
  await expect(old.getByTestId('delete-confirm')).toContainText('Delete');
  await old.getByTestId('delete-cancel').click();
  await expect(rows).toHaveCount(2);
  await old.getByTestId('delete').click();
  await old.getByTestId('delete-confirm').click();
  await expect(rows).toHaveCount(1);
  await page.reload();
  await waitIdle(page);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).not.toContainText('int4 trial');
  expect(errors, 'uncaught page errors').toEqual([]);
});

test('a failed save shows why, keeps the session in memory, and Export saves it to a file', async ({ page, context }) => {
  const errors = collectErrors(page);
  await openLab(page, fixtureUrl(TINY));
  await setNumber(page, 'max-new-tokens', 4);
  await generate(page, 1);
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved');
  // Another tab (a newer lab) upgrades the database: this tab lets go of it and can no longer write.
  const other = await context.newPage();
  await other.goto('/README.md');
  await other.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open('efficiency-lab-sessions', 2);
        req.onsuccess = () => (req.result.close(), resolve());
        req.onerror = () => reject(req.error);
      }),
  );
  await generate(page, 2);
  await expect(page.getByTestId('save-error')).toBeVisible();
  await expect(page.getByTestId('save-error-message')).toContainText('the session is still in memory: export it to keep it');
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'error');
  const file = await downloaded(page, () => page.getByTestId('save-error-export').click());
  expect(JSON.parse(file.text).runs).toHaveLength(2);
  await page.getByTestId('nav-sessions').click();
  await expect(page.getByTestId('list-error')).toContainText('reload this page');
  await expect(page.getByTestId('session-unsaved')).toBeVisible();
  await expect(page.getByTestId('session-row').first().getByTestId('session-runs')).toHaveText('2');
  await page.screenshot({ path: `${SHOTS}save-error.png` });
  expect(errors, 'uncaught page errors').toEqual([]);
});

/** A session of four technique settings, each with a timed run and a quality run: int4+2:4 is slower and worse
 *  than int4, so it is the one point off the Pareto front. */
function fourConfigs(): Any {
  const s: Any = exampleSession();
  const base = s.runs[0];
  const settings = (precision: string, prune = 'none') => ({
    quant: { precision, groupSize: 32, lmHead: null },
    prune: { kind: prune, sparsity: prune === 'none' ? 0 : 0.5, scope: 'layer', targets: { attention: true, ffn: true } },
    earlyExit: { enabled: false, threshold: 0.9, minLayer: 2, criterion: 'maxprob' },
    speculative: { enabled: false, draft: 'self', gamma: 4, selfLayers: 2 },
  });
  const configs: [string, string, number, number, number][] = [
    ['f32', 'none', 84, 19.5, 18_800_000],
    ['int8', 'none', 130, 19.6, 5_000_000],
    ['int4', 'none', 190, 20.9, 2_700_000],
    ['int4', '2:4', 170, 24.0, 2_000_000],
  ];
  s.runs = configs.flatMap(([precision, prune, tokS, ppl, weights], i) => {
    const config = settings(precision, prune);
    const gen = structuredClone(base);
    Object.assign(gen, { id: `gen-${i}`, label: '', config: { ...config, sampling: { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 4 } } });
    delete gen.quality;
    delete gen.spread;
    gen.metrics = { ...gen.metrics, decode_tok_s: tokS, gpu_bytes: { ...gen.metrics.gpu_bytes, weights } };
    gen.token_times_ms = [40, 40 + 1000 / tokS, 40 + 2000 / tokS, 40 + 3500 / tokS];
    const q = structuredClone(base);
    Object.assign(q, { id: `q-${i}`, label: '', config, output_ids: [], text: '', token_times_ms: [] });
    delete q.spread;
    q.metrics = { ...q.metrics, decode_tok_s: null, prefill_tok_s: null, ttft_ms: null, ms_per_token_p50: null, ms_per_token_p95: null, generated_tokens: 0 };
    q.quality = { perplexity: ppl, top1_agreement: i === 0 ? null : 1 - (ppl - 19.5) / 20, kl: i === 0 ? null : (ppl - 19.5) / 30, tokens: 256, reference: 'lab f32 (dense)' };
    return [gen, q];
  });
  return s;
}

test('compare: one point per configuration, the Pareto front marked', async ({ page }) => {
  const errors = collectErrors(page);
  await openLab(page, fixtureUrl(TINY));
  await page.getByTestId('nav-sessions').click();
  await page.getByTestId('import-file').setInputFiles({ name: 'four.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(fourConfigs())) });
  await expect(page.getByTestId('import-ok')).toContainText('8 runs');
  await page.getByTestId('nav-compare').click();
  await page.getByTestId('pick-session').first().check();
  await expect(page.getByTestId('compare-col')).toHaveCount(8);
  const points = page.getByTestId('pareto-point');
  await expect(points).toHaveCount(4);
  const front = Object.fromEntries(await points.evaluateAll((els) => els.map((e) => [e.getAttribute('data-label'), e.getAttribute('data-front')])));
  expect(front).toEqual({ f32: 'yes', 'int8 g32': 'yes', 'int4 g32': 'yes', 'int4 g32 · 2:4 sparse': 'no' });
  await expect(page.getByTestId('top1-bar')).toHaveCount(3);
  await expect(page.getByTestId('decode-bars-bar')).toHaveCount(4);
  await page.screenshot({ path: `${SHOTS}compare-pareto.png`, fullPage: true });
  expect(errors, 'uncaught page errors').toEqual([]);
});
