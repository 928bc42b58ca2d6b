// The technique controls on the real app and engine (tiny random Llama fixture): a precision switch shrinks the
// weights in the memory panel and is marked on the latency chart, switching back to f32 reproduces the f32
// output exactly, pruning names the kernel it chose, quality is measured, f16 is offered on every adapter (its label
// says whether shader-f16 is there), early exit and speculative decoding colour the tokens (and a draft model the
// fixture lacks is refused with the engine's message), and the side-by-side view shows two outputs with the
// differences highlighted. Early exit measures its quality with exits applied (forced decoding) beside the
// histogram; both dynamic techniques run an A/B against the target alone (speculative greedy: identical ids), and
// speculative decoding takes adaptive γ and an int4 self-draft with the same output. Screenshots: test-results/techniques/.
import { expect, test, type Page } from '@playwright/test';
import { openLab, setNumber, waitIdle } from './app';
import { fixtureUrl, TINY } from './fixtures';

const SHOTS = 'test-results/techniques/';
const PROMPT = 'ROMEO:\nBut soft, what light';

async function weightBytes(page: Page): Promise<number> {
  return Number(await page.getByTestId('mem-weights').getAttribute('data-bytes'));
}

async function outputIds(page: Page): Promise<number[]> {
  return ((await page.getByTestId('output-ids').textContent()) ?? '').trim().split(/\s+/).map(Number);
}

async function generate(page: Page, n: number): Promise<number[]> {
  await page.getByTestId('generate').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('token-count')).toHaveText(String(n));
  return outputIds(page);
}

/** Click Apply and wait until the switch finished (applied or refused). */
async function apply(page: Page): Promise<void> {
  const panel = page.getByTestId('techniques-panel');
  const seq = Number(await panel.getAttribute('data-apply-seq'));
  await page.getByTestId('tech-apply').click();
  await expect(panel).toHaveAttribute('data-apply-seq', String(seq + 1));
}

async function open(page: Page): Promise<void> {
  await openLab(page, fixtureUrl(TINY));
  await setNumber(page, 'temperature', 0);
  await setNumber(page, 'max-new-tokens', 12);
  await page.getByTestId('prompt').fill(PROMPT);
}

test('int4 shrinks the weights, the chart marks the switch, f32 again gives the same output; pruning names its kernel', async ({ page }) => {
  await open(page);
  const f32Bytes = await weightBytes(page);
  expect(f32Bytes).toBeGreaterThan(100_000);
  const f32Ids = await generate(page, 12);

  await page.getByTestId('tech-precision').selectOption('int4');
  await apply(page);
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('int4');
  await expect.poll(() => weightBytes(page)).toBeLessThan(f32Bytes * 0.6);
  await expect(page.getByTestId('tech-result')).toContainText('re-packed in');
  expect(Number(await page.getByTestId('tech-format-q4').getAttribute('data-bytes'))).toBeGreaterThan(0);
  const int4Ids = await generate(page, 12);
  expect(int4Ids.every((id) => Number.isInteger(id) && id >= 0 && id < 1024)).toBe(true);
  const marker = page.locator('[data-testid="latency-chart"] [data-testid="switch-marker"]');
  await expect(marker).toHaveCount(1);
  await expect(marker).toContainText('int4');

  await page.getByTestId('tech-precision').selectOption('f32');
  await apply(page);
  await expect(page.getByTestId('tech-in-effect-label')).toHaveText('dense f32');
  await expect.poll(() => weightBytes(page)).toBe(f32Bytes);
  expect(await generate(page, 12)).toEqual(f32Ids);
  await expect(marker).toHaveCount(2);
  await page.getByTestId('metrics-panel').screenshot({ path: `${SHOTS}latency-switches.png` });

  await page.getByTestId('tech-prune-kind').selectOption('unstructured');
  await page.getByTestId('tech-sparsity').fill('90');
  await expect(page.getByTestId('tech-prune')).toContainText('sparsity 90%');
  await apply(page);
  await expect(page.getByTestId('tech-error')).toHaveCount(0);
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('unstructured prune 90%');
  await expect(page.getByTestId('tech-notes')).toContainText(/→ \S+ kernel/);
  console.log(`notes: ${await page.getByTestId('tech-notes').textContent()}`);
  await generate(page, 12);
  await page.getByTestId('techniques-panel').screenshot({ path: `${SHOTS}techniques-panel.png` });
});

test('the chosen precision carries over to the next load: the weights go up packed, the controls follow', async ({ page }) => {
  await open(page);
  const f32Bytes = await weightBytes(page);
  await page.getByTestId('tech-precision').selectOption('int4');
  await apply(page);
  await expect.poll(() => weightBytes(page)).toBeLessThan(f32Bytes * 0.6);
  const int4Bytes = await weightBytes(page);
  const int4Ids = await generate(page, 12);

  await page.getByTestId('model-url').fill(fixtureUrl(TINY));
  await page.getByTestId('load-url').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('tech-precision')).toHaveValue('int4');
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('int4');
  expect(await weightBytes(page)).toBe(int4Bytes);
  expect(await generate(page, 12)).toEqual(int4Ids);
});

test('quality: perplexity for dense, agreement and KL against dense for int8', async ({ page }) => {
  await open(page);
  await page.getByTestId('tech-measure-quality').click();
  await expect(page.getByTestId('tech-ppl')).not.toHaveText('–');
  await expect(page.getByTestId('tech-quality-error')).toHaveCount(0);
  expect(Number((await page.getByTestId('tech-ppl').textContent())?.replace(/,/g, ''))).toBeGreaterThan(1);
  await expect(page.getByTestId('tech-top1')).toHaveText('–');
  await expect(page.getByTestId('tech-quality-info')).toContainText('dense f32 is the reference');

  await page.getByTestId('tech-precision').selectOption('int8');
  await apply(page);
  await page.getByTestId('tech-measure-quality').click();
  await expect(page.getByTestId('tech-top1')).toContainText('%');
  const top1 = parseFloat((await page.getByTestId('tech-top1').textContent()) ?? '');
  expect(top1).toBeGreaterThan(50);
  expect(Number(await page.getByTestId('tech-kl').textContent())).toBeGreaterThanOrEqual(0);
});

test('f16 is offered on every adapter; its label says whether shader-f16 is there', async ({ page }) => {
  await open(page);
  const hasF16 = await page.evaluate(async () => !!(await navigator.gpu.requestAdapter())?.features.has('shader-f16'));
  const option = page.locator('[data-testid="tech-precision"] option[value="f16"]');
  await expect(option).toBeEnabled();
  await expect(option).toHaveText(`f16 (storage; shader-f16: ${hasF16 ? 'yes' : 'no'})`);
});

test('early exit colours the tokens by exit layer and shows the histogram', async ({ page }) => {
  await open(page);
  await page.getByTestId('tech-ee-enabled').check();
  await setNumber(page, 'tech-ee-threshold', 0); // max prob ≥ 0: every token after the first leaves at the first checkpoint
  await setNumber(page, 'tech-ee-min-layer', 1);
  await apply(page);
  await expect(page.getByTestId('tech-error')).toHaveCount(0);
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('early exit ≥0');
  await generate(page, 12);
  const tokens = page.locator('[data-testid="output-text"] [data-testid="token"]');
  await expect(tokens).toHaveCount(12);
  await expect(page.locator('[data-testid="output-text"] [data-exit-layer="1"]')).toHaveCount(11); // the first token runs every layer
  await expect(tokens.nth(3)).toHaveAttribute('title', 'left at layer 1');
  // the coloured tokens spell exactly the output text
  expect((await tokens.allTextContents()).join('')).toBe(await page.getByTestId('output-text').textContent());
  await expect(page.getByTestId('exit-histogram')).toBeVisible();
  await expect(page.getByTestId('exit-bar')).toHaveCount(2); // the fixture has 2 layers
  expect(Number(await page.locator('[data-testid="exit-bar"][data-layer="1"]').getAttribute('data-count'))).toBeGreaterThanOrEqual(11);
  expect(Number(await page.getByTestId('exit-avg-layers').textContent())).toBeLessThan(1.2);
  await page.locator('.col.mid').screenshot({ path: `${SHOTS}early-exit-output.png` });
  // quality with the exits applied, beside the histogram
  await page.getByTestId('exit-measure-quality').click();
  await expect(page.getByTestId('exit-q-top1')).toContainText('%', { timeout: 60_000 });
  expect(Number(await page.getByTestId('exit-q-layers').textContent())).toBeLessThan(2);
  // A/B against the target alone: a ratio and the agreement of the ids
  await page.getByTestId('ab-run').click();
  await expect(page.getByTestId('ab-speedup')).toContainText('×', { timeout: 60_000 });
  await waitIdle(page);
  await expect(page.getByTestId('ab-identical')).toHaveText(/identical|% agree/);
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('early exit ≥0'); // restored
  await page.getByTestId('technique-effects').screenshot({ path: `${SHOTS}early-exit-quality-ab.png` });
});

test('speculative decoding marks accepted and corrected tokens; unavailable settings are refused with the reason', async ({ page }) => {
  await open(page);
  await page.getByTestId('tech-spec-enabled').check();
  await page.getByTestId('tech-spec-draft').selectOption('model');
  await apply(page);
  await expect(page.getByTestId('tech-error')).toContainText('TechniqueError');
  await expect(page.getByTestId('tech-error')).toContainText('no draft model'); // the fixture has none
  await expect(page.getByTestId('tech-in-effect-label')).toHaveText('dense f32');

  await page.getByTestId('tech-spec-draft').selectOption('self');
  await setNumber(page, 'tech-spec-k', 1);
  await setNumber(page, 'tech-spec-gamma', 3);
  await apply(page);
  await expect(page.getByTestId('tech-error')).toHaveCount(0);
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('speculative γ3');
  await generate(page, 12);
  const drafted = page.locator('[data-testid="output-text"] [data-drafted]');
  await expect(drafted).toHaveCount(12);
  await expect(page.locator('[data-testid="output-text"] [data-drafted="corrected"]').first()).toHaveAttribute('title', /target token/);
  await expect(page.getByTestId('draft-legend')).toBeVisible();
  await expect(page.getByTestId('spec-acceptance')).toContainText('%');
  expect(Number(await page.getByTestId('spec-tpf').textContent())).toBeGreaterThanOrEqual(1);
  expect(Number(await page.getByTestId('spec-gamma-mean').textContent())).toBeGreaterThan(0);
  await page.locator('.col.mid').screenshot({ path: `${SHOTS}speculative-output.png` });
  const ids = await outputIds(page);
  // A/B against the target alone: greedy speculative decoding must give identical ids
  await page.getByTestId('ab-run').click();
  await expect(page.getByTestId('ab-speedup')).toContainText('×', { timeout: 60_000 });
  await waitIdle(page);
  await expect(page.getByTestId('ab-identical')).toHaveAttribute('data-identical', 'true');
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('speculative γ3'); // restored
  await page.getByTestId('technique-effects').screenshot({ path: `${SHOTS}speculative-ab.png` });
  // adaptive γ and an int4 self-draft: the same output
  await page.getByTestId('tech-spec-adaptive').check();
  await page.getByTestId('tech-spec-draft-precision').selectOption('int4');
  await apply(page);
  await expect(page.getByTestId('tech-error')).toHaveCount(0);
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('adaptive');
  expect(await generate(page, 12)).toEqual(ids);
});

test('side by side: two outputs, differences highlighted, quality of B against A, settings restored', async ({ page }) => {
  await open(page);
  const sbs = page.getByTestId('sbs-panel');
  await sbs.getByText('edit B').click();
  await page.getByTestId('sbs-b-prune-kind').selectOption('unstructured');
  await page.getByTestId('sbs-b-sparsity').fill('90');
  await expect(page.getByTestId('sbs-label-b')).toContainText('unstructured prune 90%');
  await expect(page.getByTestId('sbs-label-a')).toHaveText('dense f32');
  await page.getByTestId('sbs-run').click();
  await waitIdle(page);
  await expect(page.getByTestId('sbs-error')).toHaveCount(0);
  await expect(page.getByTestId('sbs-output-a')).toContainText(PROMPT.split('\n')[0]!);
  const a = page.locator('[data-testid="sbs-output-a"] .sbs-tok');
  const b = page.locator('[data-testid="sbs-output-b"] .sbs-tok');
  await expect(a).toHaveCount(12);
  await expect(b).toHaveCount(12);
  expect(await page.locator('[data-testid="sbs-output-b"] .sbs-tok.diff').count()).toBeGreaterThan(0);
  await expect(page.locator('[data-testid="sbs-output-b"] [data-testid="sbs-first-divergence"]')).toHaveCount(1);
  await expect(page.getByTestId('sbs-divergence')).toContainText('first divergence at token');
  await expect(page.getByTestId('sbs-top1')).toContainText('%');
  await expect(page.getByTestId('sbs-kl')).not.toHaveText('–');
  await expect(page.getByTestId('sbs-ppl-a')).not.toBeEmpty();
  await expect(page.getByTestId('sbs-ppl-b')).not.toBeEmpty();
  // the settings in effect before the comparison are back
  await expect(page.getByTestId('tech-in-effect-label')).toHaveText('dense f32');
  await sbs.screenshot({ path: `${SHOTS}side-by-side.png` });
  await page.screenshot({ path: `${SHOTS}lab.png`, fullPage: true });
});
