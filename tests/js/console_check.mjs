// Drives modelreg's web console (/) in headless Chromium (Debian's /usr/bin/chromium via playwright-core).
//
//   node tests/js/console_check.mjs BASE_URL TOKEN SCREENSHOT --plan PLAN.json [--shots DIR]
//
// PLAN.json names the scenario and its data (seeded by tests/e2e/test_console_browser.py):
//   browse:   catalogue (typed filter, paging by cursor, tag and stage filters), model page (metric columns), version
//             page (metrics, params, signature, file download, Markdown, copy of the URI), hostile content shown as
//             text, a missing model, a rejected token; the keyboard only, between pages.
//   deployments: an mlops engineer reads a deployment's history and rolls it back (confirmed), runs canaries (start,
//             shift, promote and abort, confirmed), redelivers a webhook's event, creates, pauses, resumes, edits,
//             pings and deletes webhooks; an auditor sees no rollback or canary control and may not see webhooks.
//   approve:  three browser contexts: a data scientist requests PRODUCTION, an approver sees it arrive live in the
//             inbox and approves it, the version shows PRODUCTION; an auditor sees no control it may not use.
// Every page visited gets an axe-core scan (serious and critical violations are reported). SCREENSHOT is the path
// of the last page's screenshot; the others go beside it or into --shots DIR (console-*.png). Requests to hosts other than loopback are
// recorded and aborted. Prints one JSON report on stdout; exits 1 when a step failed (the report says which).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.MODELREG_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const STEP_TIMEOUT_MS = 20000;
const LOCAL_SCHEMES = new Set(['data:', 'blob:', 'about:', 'chrome:', 'chrome-error:']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

const [baseUrl, token, screenshot, ...rest] = process.argv.slice(2);
const planPath = rest[rest.indexOf('--plan') + 1];
if (!baseUrl || !token || !screenshot || !rest.includes('--plan')) {
  console.error('usage: console_check.mjs BASE_URL TOKEN SCREENSHOT --plan PLAN.json');
  process.exit(2);
}
const plan = JSON.parse(readFileSync(planPath, 'utf8'));
const shots = rest.includes('--shots') ? rest[rest.indexOf('--shots') + 1] : dirname(screenshot);
const report = { ok: false, scenario: plan.scenario, steps: [], requests: [], external: [], consoleErrors: [],
                 pageErrors: [], dialogs: [], axe: {}, screenshots: [] };

function isExternal(url) {
  const parsed = new URL(url);
  return !LOCAL_SCHEMES.has(parsed.protocol) && !LOOPBACK_HOSTS.has(parsed.hostname);
}

const started = Date.now();
function step(text) {
  report.steps.push(`${Date.now() - started} ms: ${text}`);
}

async function newPage(browser, who) {
  // bypassCSP only so that axe-core can be injected; the page's own CSP is checked by the Python test.
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, bypassCSP: true,
                                             acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  context.on('request', (request) => report.requests.push(`${who} ${request.method()} ${request.url()}`));
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isExternal(url)) {
      report.external.push(url);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') report.consoleErrors.push(`${who}: ${message.text()}`);
  });
  page.on('pageerror', (error) => report.pageErrors.push(`${who}: ${error}`));
  page.on('dialog', (dialog) => {
    report.dialogs.push(`${who}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return page;
}

async function signIn(page, who, tokenValue) {
  const response = await page.goto(`${baseUrl}/#token=${encodeURIComponent(tokenValue)}`,
                                   { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
  report.pageStatus = response.status();
  await page.locator('[data-testid="viewer-status"].ok').waitFor({ timeout: STEP_TIMEOUT_MS });
  report[`${who}Status`] = await page.locator('[data-testid="viewer-status"]').innerText();
  report[`${who}UrlAfterSignIn`] = page.url();
  step(`${who} signed in`);
}

/** axe-core on the page as it is: violations by impact, the serious and critical ones in full. */
async function scan(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const outcome = await window.axe.run(document, { resultTypes: ['violations'] });
    return outcome.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                            targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  report.axe[name] = result;
  step(`axe scanned ${name}`);
}

async function shoot(page, name) {
  const path = join(shots, `console-${name}.png`);
  await page.screenshot({ path, fullPage: false });
  report.screenshots.push(path);
}

/** Focus an element and press a key: the flows use the keyboard, not the mouse. */
async function press(locator, key = 'Enter') {
  await locator.focus();
  await locator.press(key);
}

async function texts(page, selector) {
  return page.locator(selector).evaluateAll((cells) => cells.map((cell) => cell.innerText.trim()));
}

async function injected(page) {
  return page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    scripts: document.querySelectorAll('#root script').length,
    handlers: [...document.querySelectorAll('#root *')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).length,
    images: document.querySelectorAll('#root img').length,
  }));
}

async function browse(browser) {
  const page = await newPage(browser, 'ds');
  await signIn(page, 'ds', token);
  await page.goto(`${baseUrl}/#/?size=2`);
  await page.locator('[data-testid="model-row"], [data-testid="empty"]').first().waitFor({ timeout: STEP_TIMEOUT_MS });
  // Type the filter and submit with Enter.
  await page.getByLabel('Name contains').focus();
  await page.keyboard.type(plan.prefix);
  await page.keyboard.press('Enter');
  // The filter applies on Enter: wait for it in the address and for its answer (the unfiltered first page may
  // already show only this test's newest models, with another total).
  await page.waitForFunction((prefix) => {
    const rows = [...document.querySelectorAll('[data-testid="model-link"]')];
    return new URLSearchParams(location.hash.split('?')[1] ?? '').get('q') === prefix
      && document.querySelector('[data-testid="models"]')?.getAttribute('aria-busy') === 'false'
      && rows.length > 0 && rows.every((row) => row.textContent.includes(prefix));
  }, plan.prefix, { timeout: STEP_TIMEOUT_MS });
  report.catalogue = { page1: await texts(page, '[data-testid="model-link"]'),
                       total: await page.locator('[data-testid="total"]').innerText() };
  step('catalogue filtered by name');
  await scan(page, 'catalogue');
  await shoot(page, 'catalogue');
  await press(page.getByRole('link', { name: 'Next →' }));
  await page.waitForFunction((first) => {
    const rows = [...document.querySelectorAll('[data-testid="model-link"]')].map((row) => row.textContent);
    return rows.length > 0 && !rows.includes(first);
  }, report.catalogue.page1[0], { timeout: STEP_TIMEOUT_MS });
  report.catalogue.page2 = await texts(page, '[data-testid="model-link"]');
  step('catalogue next page');
  await press(page.getByRole('link', { name: '← Previous' }));
  await page.waitForFunction((first) => [...document.querySelectorAll('[data-testid="model-link"]')]
    .some((row) => row.textContent === first), report.catalogue.page1[0], { timeout: STEP_TIMEOUT_MS });
  report.catalogue.back = await texts(page, '[data-testid="model-link"]');
  step('catalogue previous page');

  await page.goto(`${baseUrl}/#/?tag=${encodeURIComponent(plan.tag)}`);
  await page.locator('[data-testid="models"][aria-busy="false"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  await page.getByTestId('total').filter({ hasText: /^1 in all/ }).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.catalogue.byTag = await texts(page, '[data-testid="model-link"]');
  await page.goto(`${baseUrl}/#/?q=${encodeURIComponent(plan.prefix)}&stage=STAGING`);
  await page.locator('[data-testid="versions"][aria-busy="false"] [data-testid="version-row"]').first()
    .waitFor({ timeout: STEP_TIMEOUT_MS });
  report.catalogue.staging = await texts(page, '[data-testid="version-row"] th');
  await page.goto(`${baseUrl}/#/?q=${encodeURIComponent(plan.prefix)}&metric=auc&min=0.85`);
  await page.locator('[data-testid="versions"][aria-busy="false"] [data-testid="metric-value"]').first()
    .waitFor({ timeout: STEP_TIMEOUT_MS });
  await page.getByTestId('total').filter({ hasText: /^1 in all/ }).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.catalogue.aucAtLeast = await page.locator('[data-testid="version-row"]').evaluateAll((rows) => rows.map((row) => [
    row.querySelector('th').innerText.trim(), row.querySelector('[data-testid="metric-value"]').innerText.trim()]));
  await page.goto(`${baseUrl}/#/?q=${encodeURIComponent(plan.prefix + '-nothing')}`);
  await page.locator('[data-testid="empty"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.catalogue.empty = await page.locator('[data-testid="empty"]').innerText();
  await scan(page, 'catalogue-empty');
  step('catalogue filtered by tag and stage; empty state');

  // Model page, reached with the keyboard from the catalogue.
  await page.goto(`${baseUrl}/#/?q=${encodeURIComponent(plan.prefix)}&sort=name-asc`);
  const link = page.locator('[data-testid="model-link"]', { hasText: plan.model });
  await link.waitFor({ timeout: STEP_TIMEOUT_MS });
  await press(link);
  await page.locator('[data-testid="model-versions"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  const metricHeaders = () => texts(page, '[data-testid="model-versions"] thead th.num');
  report.model = {
    name: await page.locator('[data-testid="model-name"]').innerText(),
    description: await page.locator('[data-testid="description"]').innerText(),
    rows: await texts(page, '[data-testid="model-versions"] tbody tr'),
    stages: await texts(page, '[data-testid="model-versions"] [data-testid="stage"]'),
    aliases: await page.locator('[data-testid="aliases"]').innerText(),
    tags: await texts(page, '[data-testid="tag"]'),
    metricColumns: await metricHeaders(),
  };
  await press(page.getByRole('checkbox', { name: plan.extraMetric }), 'Space');
  await page.waitForFunction((metric) => [...document.querySelectorAll('[data-testid="model-versions"] thead th.num')]
    .some((th) => th.textContent === metric), plan.extraMetric, { timeout: STEP_TIMEOUT_MS });
  report.model.metricColumnsAfter = await metricHeaders();
  report.model.injected = await injected(page);
  await page.locator('[data-testid="deployed"] .deployed').first().waitFor({ timeout: STEP_TIMEOUT_MS });
  report.model.deployed = await texts(page, '[data-testid="deployed"]');
  step('model page');
  await scan(page, 'model');
  await shoot(page, 'model');

  // Compare the two versions (ticked with the keyboard), then back to the model page.
  await press(page.getByRole('checkbox', { name: 'Compare v1' }), 'Space');
  await press(page.getByRole('checkbox', { name: 'Compare v2' }), 'Space');
  await press(page.getByTestId('compare-link'));
  await page.getByTestId('compare').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.compare = {
    columns: await texts(page, '[data-testid="compare"] thead th.num'),
    differs: await texts(page, '[data-testid="compare-row"][data-differs="true"]'),
    same: await texts(page, '[data-testid="compare-row"][data-differs="false"]'),
  };
  step('compare');
  await scan(page, 'compare');
  await shoot(page, 'compare');
  await page.goBack();
  await page.locator('[data-testid="model-versions"]').waitFor({ timeout: STEP_TIMEOUT_MS });

  // Version page.
  await press(page.getByRole('link', { name: `v${plan.version}`, exact: true }));
  await page.locator('[data-testid="metrics"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  await page.locator('[data-testid="markdown"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.version = {
    uri: await page.locator('[data-testid="uri"]').innerText(),
    metrics: await texts(page, '[data-testid="metrics"] tbody tr'),
    params: await texts(page, '[data-testid="params"] tbody tr'),
    signature: await page.locator('[data-testid="signature"]').innerText(),
    files: await texts(page, '[data-testid="file-link"]'),
    fileHref: await page.locator('[data-testid="file-link"]').first().getAttribute('href'),
    documentTitle: await page.locator('[data-testid="document-title"]').innerText(),
    markdownText: await page.locator('[data-testid="markdown"]').innerText(),
    markdownHeadings: await texts(page, '[data-testid="markdown"] h1, [data-testid="markdown"] h2'),
    markdownLinks: await page.locator('[data-testid="markdown"] a').evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
    history: await page.locator('section[aria-labelledby="history-title"]').innerText(),
    requestFormShown: await page.locator('[data-testid="request-form"]').count() > 0,
    lineage: await texts(page, '[data-testid="lineage"] li'),
    description: await page.locator('.description').first().innerText(),
  };
  report.version.injected = await injected(page);
  await press(page.getByRole('button', { name: `Copy ${report.version.uri}` }));
  await page.getByText('Copied').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.version.clipboard = await page.evaluate(() => navigator.clipboard.readText());
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: STEP_TIMEOUT_MS }),
    press(page.locator('[data-testid="file-link"]').first()),
  ]);
  const stream = await download.createReadStream();
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  report.version.download = { name: download.suggestedFilename(), text: Buffer.concat(chunks).toString('utf8') };
  step('version page, copy, download');
  await scan(page, 'version');
  await shoot(page, 'version');

  // A model that does not exist, then a token the server rejects.
  await page.goto(`${baseUrl}/#/models/${encodeURIComponent(plan.prefix + '/missing')}`);
  await page.locator('[data-testid="not-found"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.missing = await page.locator('[data-testid="not-found"]').innerText();
  await scan(page, 'not-found');
  await page.goto(`${baseUrl}/#/`);
  await page.getByLabel('Bearer token').fill('not-a-valid-jwt');
  await page.getByLabel('Bearer token').press('Enter');
  await page.locator('[data-testid="error"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.rejected = { code: await page.locator('[data-testid="error"]').getAttribute('data-code'),
                      text: await page.locator('[data-testid="error"]').innerText(),
                      status: await page.locator('[data-testid="viewer-status"]').innerText() };
  step('rejected token shown');
  await scan(page, 'error');
  await shoot(page, 'error');
  return page;
}

async function approve(browser) {
  const [ds, approver, auditor] = await Promise.all(['ds', 'approver', 'auditor'].map((who) => newPage(browser, who)));
  await signIn(ds, 'ds', token);
  await signIn(approver, 'approver', plan.approverToken);
  await signIn(auditor, 'auditor', plan.auditorToken);
  await approver.goto(`${baseUrl}/#/inbox`);
  await approver.locator('[data-testid="inbox"], [data-testid="empty"]').first().waitFor({ timeout: STEP_TIMEOUT_MS });
  await approver.waitForTimeout(500); // the subscription's connection is up
  step('approver inbox open');

  const versionUrl = `${baseUrl}/#/models/${encodeURIComponent(plan.model)}/versions/${plan.version}`;
  await ds.goto(versionUrl);
  await ds.locator('[data-testid="request-form"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  await ds.getByTestId('request-stage').selectOption('PRODUCTION');
  await ds.getByLabel('Comment').first().fill(plan.comment);
  await press(ds.getByTestId('request-submit'));
  const mine = ds.locator('[data-testid="request"][data-kind="STAGE"][data-status="PENDING"]');
  await mine.waitFor({ timeout: STEP_TIMEOUT_MS });
  const requestId = await mine.getAttribute('data-request-id');
  await ds.locator(`[data-request-id="${requestId}"] [data-testid="cancel"]`).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.requester = { requestId, approveShown: await ds.locator(`[data-request-id="${requestId}"] [data-testid="approve"]`).count() };
  step('data scientist requested PRODUCTION');

  const card = approver.locator(`[data-testid="inbox"] [data-request-id="${requestId}"]`);
  await card.waitFor({ timeout: STEP_TIMEOUT_MS }); // no reload: the subscription brought it
  await card.locator('[data-testid="approve"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.inbox = { card: await card.innerText(), live: await approver.getByTestId('live').innerText(),
                   replaces: await card.locator('[data-testid="replaces"] caption, [data-testid="replaces"] tbody tr')
                     .evaluateAll((rows) => rows.map((row) => row.innerText.trim())) };
  if (plan.aliasRequestId) { // a protected alias's move: the version it holds now beside the requested one
    const aliasCard = approver.locator(`[data-testid="inbox"] [data-request-id="${plan.aliasRequestId}"]`);
    await aliasCard.locator('[data-testid="replaces"]').waitFor({ timeout: STEP_TIMEOUT_MS });
    report.aliasReplaces = await aliasCard.locator('[data-testid="replaces"] caption, [data-testid="replaces"] tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.innerText.trim()));
  }
  await scan(approver, 'inbox');
  await shoot(approver, 'inbox');

  // The auditor: the same open request, no decision control, no request form on the version page.
  await auditor.goto(`${baseUrl}/#/inbox`);
  const seen = auditor.locator(`[data-testid="inbox"] [data-request-id="${requestId}"]`);
  await seen.waitFor({ timeout: STEP_TIMEOUT_MS });
  await auditor.waitForTimeout(500); // permission answers have arrived
  report.auditor = { buttons: await seen.locator('button').count(),
                     pendingOther: await auditor.locator(`[data-request-id="${plan.otherRequestId}"]`).count() };
  await scan(auditor, 'inbox-auditor');
  await auditor.goto(versionUrl);
  await auditor.locator('[data-testid="metrics"], [data-testid="requests"]').first().waitFor({ timeout: STEP_TIMEOUT_MS });
  await auditor.waitForTimeout(500);
  report.auditor.requestForm = await auditor.locator('[data-testid="request-form"]').count();
  report.auditor.versionButtons = await auditor.locator('[data-testid="requests"] button').count();
  step('auditor sees no controls');

  await card.locator('[data-testid="decision-comment"]').fill('looks good');
  await press(card.locator('[data-testid="approve"]'));
  await card.waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
  step('approver approved; the request left the inbox');

  await ds.reload();
  await ds.locator('h1 [data-testid="stage"]', { hasText: 'PRODUCTION' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.after = { stage: await ds.locator('h1 [data-testid="stage"]').innerText(),
                   history: await ds.getByTestId('history').innerText(),
                   request: await ds.locator(`[data-request-id="${requestId}"]`).innerText() };
  step('version shows PRODUCTION');
  await scan(ds, 'version-production');
  await shoot(ds, 'version-production');

  // The audit log: the auditor reads it, filters it and exports it; the data scientist may not.
  await auditor.goto(`${baseUrl}/#/audit`);
  await auditor.getByTestId('integrity').filter({ hasText: 'Hash chain' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await auditor.getByLabel('Actor').fill('cyd');
  await auditor.getByLabel('Outcome').selectOption('OK');
  await press(auditor.getByLabel('Action'));
  await auditor.locator('[data-testid="audit"][aria-busy="false"]').waitFor({ timeout: STEP_TIMEOUT_MS });
  await auditor.waitForFunction(() => [...document.querySelectorAll('[data-testid="audit-row"]')]
    .every((row) => row.children[2].textContent.startsWith('cyd')), null, { timeout: STEP_TIMEOUT_MS });
  const [exported] = await Promise.all([
    auditor.waitForEvent('download', { timeout: STEP_TIMEOUT_MS }),
    press(auditor.getByTestId('export-csv')),
  ]);
  const chunks = [];
  for await (const chunk of await exported.createReadStream()) chunks.push(chunk);
  report.audit = {
    integrity: await auditor.getByTestId('integrity').innerText(),
    actions: await texts(auditor, '[data-testid="audit-row"] td:nth-child(4)'),
    actors: await texts(auditor, '[data-testid="audit-row"] td:nth-child(3)'),
    navShown: await auditor.getByRole('link', { name: 'Audit', exact: true }).count(),
    export: Buffer.concat(chunks).toString('utf8').split('\n')[0],
  };
  await scan(auditor, 'audit');
  await shoot(auditor, 'audit');
  await ds.goto(`${baseUrl}/#/audit`);
  await ds.getByTestId('denied').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.audit.dsDenied = await ds.getByTestId('denied').innerText();
  report.audit.dsNav = await ds.getByRole('link', { name: 'Audit', exact: true }).count();
  await scan(ds, 'audit-denied');
  step('audit read, filtered and exported by the auditor; denied to the data scientist');
  return ds;
}

async function deployments(browser) {
  const [mlops, auditor] = await Promise.all(['mlops', 'auditor'].map((who) => newPage(browser, who)));
  await signIn(mlops, 'mlops', token);
  await signIn(auditor, 'auditor', plan.auditorToken);
  await mlops.goto(`${baseUrl}/#/deployments`);
  const card = mlops.locator(`[data-testid="deployment"][data-name="${plan.model}"]`);
  await card.waitFor({ timeout: STEP_TIMEOUT_MS });
  report.before = { revision: await card.getAttribute('data-revision'), entries: await texts(card, '[data-testid="entry"]') };
  await press(card.getByRole('button', { name: 'History' }));
  await card.getByTestId('deployment-history').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.history = await texts(card, '[data-testid="deployment-history"] li');
  await scan(mlops, 'deployments');
  await press(card.getByTestId('rollback'));
  await card.getByTestId('rollback-confirm').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.confirmFocused = await card.getByTestId('rollback-confirm').evaluate((button) => document.activeElement === button);
  await mlops.keyboard.press('Enter');
  await mlops.locator(`[data-testid="deployment"][data-name="${plan.model}"][data-revision="${Number(report.before.revision) + 1}"]`)
    .waitFor({ timeout: STEP_TIMEOUT_MS });
  report.after = { entries: await texts(card, '[data-testid="entry"]') };
  step('rolled back with confirmation');

  // Canary: start v2 at 10% (typed, Enter), shift it to 25%, promote it (confirmed); start v1, abort it (confirmed).
  const atRevision = (revision) => mlops.locator(
    `[data-testid="deployment"][data-name="${plan.model}"][data-revision="${revision}"]`).waitFor({ timeout: STEP_TIMEOUT_MS });
  let revision = Number(report.before.revision) + 1;
  const entries = () => texts(card, '[data-testid="entry"]');
  report.canary = {};
  await card.getByLabel('Canary version').fill('2');
  await card.getByLabel('Share %', { exact: true }).fill('10');
  await card.getByLabel('Share %', { exact: true }).press('Enter');
  await atRevision(++revision);
  report.canary.started = await entries();
  await scan(mlops, 'deployments-canary');
  await shoot(mlops, 'deployments');
  await card.getByLabel('Canary v2 share %').fill('25');
  await card.getByLabel('Canary v2 share %').press('Enter');
  await atRevision(++revision);
  report.canary.shifted = await entries();
  await press(card.getByTestId('canary-promote'));
  await card.getByTestId('canary-confirm').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.canary.promoteQuestion = await card.locator('.confirm').innerText();
  report.canary.promoteFocused = await card.getByTestId('canary-confirm').evaluate((button) => document.activeElement === button);
  await mlops.keyboard.press('Enter');
  await atRevision(++revision);
  report.canary.promoted = await entries();
  await card.getByLabel('Canary version').fill('1');
  await card.getByLabel('Share %', { exact: true }).fill('5');
  await press(card.getByTestId('canary-start'));
  await atRevision(++revision);
  report.canary.second = await entries();
  await press(card.getByTestId('canary-abort'));
  await card.getByTestId('canary-confirm').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.canary.abortQuestion = await card.locator('.confirm').innerText();
  await mlops.keyboard.press('Enter');
  await atRevision(++revision);
  report.canary.aborted = await entries();
  await card.getByLabel('Canary version').fill('1');
  await card.getByLabel('Share %', { exact: true }).fill('150');
  await card.getByLabel('Share %', { exact: true }).press('Enter');  // the browser's own check refuses 150 first
  report.canary.invalidBlocked = await card.getByLabel('Share %', { exact: true }).evaluate((input) => !input.validity.valid);
  step('canary started, shifted, promoted; another started and aborted');

  await auditor.goto(`${baseUrl}/#/deployments`);
  const seen = auditor.locator(`[data-testid="deployment"][data-name="${plan.model}"]`);
  await seen.waitFor({ timeout: STEP_TIMEOUT_MS });
  report.auditorRollback = await seen.getByTestId('rollback').count();
  report.auditorCanary = await seen.getByTestId('canary-controls').count();
  await scan(auditor, 'deployments-auditor');

  // Webhooks: the mlops engineer redelivers an event; the auditor may not see them.
  await mlops.goto(`${baseUrl}/#/webhooks`);
  const hook = mlops.locator(`[data-testid="webhook"][data-url="${plan.webhookUrl}"]`);
  const pings = hook.locator('[data-testid="delivery"]', { hasText: 'WEBHOOK_PING' });
  await pings.first().waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook = { types: await texts(hook, '[data-testid="delivery"] td:first-child') };
  await scan(mlops, 'webhooks');
  await press(pings.first().getByTestId('redeliver'));
  await pings.nth(1).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook.after = await pings.count();
  step('webhook event redelivered');

  // Create a webhook with the form (keyboard), pause it, resume it, edit it, ping it; then delete another (confirmed).
  await press(mlops.getByTestId('webhook-new'));
  const form = mlops.getByRole('form', { name: 'New webhook' });
  await form.getByLabel('URL').fill(plan.newWebhookUrl);
  await form.getByLabel('Signing secret (16-256 characters)').fill('s3cret-s3cret-s3cret');
  await form.getByLabel('Models (name pattern, empty: all)').fill(plan.model);
  await form.getByLabel('Description').fill(plan.hostile);
  await press(form.getByRole('checkbox', { name: 'VERSION_READY' }), 'Space');
  await press(form.getByRole('checkbox', { name: 'DEPLOYMENT_CHANGED' }), 'Space');
  await scan(mlops, 'webhooks-form');
  await press(form.getByTestId('webhook-save'));
  const created = mlops.locator(`[data-testid="webhook"][data-url="${plan.newWebhookUrl}"]`);
  await created.waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook.created = { state: await created.getByTestId('webhook-state').innerText(),
                             filter: await created.getByTestId('webhook-filter').innerText(),
                             description: await created.getByTestId('webhook-description').innerText() };
  report.webhook.injected = await injected(mlops);
  await press(created.getByTestId('webhook-toggle'));
  await mlops.locator(`[data-testid="webhook"][data-url="${plan.newWebhookUrl}"][data-active="false"]`).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook.paused = await created.getByTestId('webhook-state').innerText();
  report.webhook.pausedButton = await created.getByTestId('webhook-toggle').innerText();
  await press(created.getByTestId('webhook-toggle'));
  await mlops.locator(`[data-testid="webhook"][data-url="${plan.newWebhookUrl}"][data-active="true"]`).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook.resumed = await created.getByTestId('webhook-state').innerText();
  await press(created.getByTestId('webhook-edit'));
  const edit = created.getByTestId('webhook-form');
  await edit.getByLabel('Description').fill('Deployments of the ranker');
  await press(edit.getByRole('checkbox', { name: 'VERSION_READY' }), 'Space');
  await press(edit.getByTestId('webhook-save'));
  await created.getByTestId('webhook-form').waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
  await created.getByTestId('webhook-description').filter({ hasText: 'Deployments of the ranker' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook.edited = { filter: await created.getByTestId('webhook-filter').innerText(),
                            description: await created.getByTestId('webhook-description').innerText() };
  await press(created.getByTestId('webhook-ping'));
  await created.locator('[data-testid="delivery"]', { hasText: 'WEBHOOK_PING' }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook.pinged = await created.locator('[data-testid="delivery"]').count();
  // A refused change shows the server's code: a secret too short, sent past the browser's check by the API's rule.
  await press(mlops.getByTestId('webhook-new'));
  const bad = mlops.getByRole('form', { name: 'New webhook' });
  await bad.getByLabel('URL').fill('ftp://not-http.example/hook');
  await bad.getByLabel('Signing secret (16-256 characters)').fill('s3cret-s3cret-s3cret');
  await press(bad.getByTestId('webhook-save'));
  await bad.getByTestId('error').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook.refused = await bad.getByTestId('error').getAttribute('data-code');
  await press(bad.getByRole('button', { name: 'Cancel' }));
  const doomed = mlops.locator(`[data-testid="webhook"][data-url="${plan.doomedWebhookUrl}"]`);
  await press(doomed.getByTestId('webhook-delete'));
  report.webhook.deleteFocused = await doomed.getByTestId('webhook-delete-confirm').evaluate((button) => document.activeElement === button);
  await mlops.keyboard.press('Enter');
  await doomed.waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
  await scan(mlops, 'webhooks-edited');
  await shoot(mlops, 'webhooks');
  step('webhook created, paused, resumed, edited, pinged; another deleted');
  await auditor.goto(`${baseUrl}/#/webhooks`);
  await auditor.getByTestId('denied').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.webhook.auditorDenied = await auditor.getByTestId('denied').innerText();
  report.webhook.auditorNav = await auditor.getByRole('link', { name: 'Webhooks', exact: true }).count();
  report.webhook.mlopsNav = await mlops.getByRole('link', { name: 'Webhooks', exact: true }).count();
  return mlops;
}

/** The explorer's geometry as drawn: node boxes, text sizes at the zoom shown, edges and layers. */
async function lineageGeometry(page) {
  return page.evaluate(() => {
    const canvas = document.querySelector('[data-testid="lineage-canvas"]');
    const scale = Number(canvas.dataset.scale);
    const boxes = [...document.querySelectorAll('[data-testid="lineage-node"]')].map((el) => {
      const r = el.getBoundingClientRect();
      return { id: el.dataset.id, kind: el.dataset.kind, rank: Number(el.dataset.rank),
               label: el.querySelector('.llabel').textContent, stage: el.querySelector('[data-testid="stage"]')?.textContent ?? null,
               left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    });
    const fontSizes = [...document.querySelectorAll('[data-testid="lineage-node"] *, [data-testid="lineage-edge-label"]')]
      .filter((el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
      .map((el) => Math.round(parseFloat(getComputedStyle(el).fontSize) * scale * 10) / 10);
    const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
    const overlaps = [];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      if (hit(boxes[i], boxes[j])) overlaps.push([boxes[i].label, boxes[j].label]);
    }
    const labelOnNode = [];
    for (const el of document.querySelectorAll('[data-testid="lineage-edge-label"]')) {
      const r = el.getBoundingClientRect();
      for (const box of boxes) if (hit(r, box)) labelOnNode.push([el.textContent, box.label]);
    }
    const labels = [...document.querySelectorAll('[data-testid="lineage-edge-label"]')].map((el) => {
      const r = el.getBoundingClientRect();
      return { text: el.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    });
    const labelsOverlap = [];
    for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) {
      if (hit(labels[i], labels[j])) labelsOverlap.push([labels[i].text, labels[j].text]);
    }
    const canvasBox = canvas.getBoundingClientRect();
    return { scale, boxes, fontSizes, overlaps, labelOnNode, labelsOverlap,
             canvas: { width: canvasBox.width, scrollWidth: canvas.scrollWidth, scrollHeight: canvas.scrollHeight } };
  });
}

async function lineage(browser) {
  const page = await newPage(browser, 'ds');
  await signIn(page, 'ds', token);
  // From the version page's link, with the keyboard.
  await page.goto(`${baseUrl}/#/models/${encodeURIComponent(plan.model)}/versions/${plan.version}`);
  await press(page.getByTestId('lineage-explorer-link'));
  await page.getByTestId('lineage-panel-title').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.panel = { fromVersionPage: await page.getByTestId('lineage-panel-title').innerText() };
  step('explorer opened from the version page');

  await page.goto(`${baseUrl}/#/lineage?id=${encodeURIComponent(plan.rootId)}&direction=BOTH&depth=${plan.depth}`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="lineage-node"]').length >= 30, null,
                             { timeout: STEP_TIMEOUT_MS });
  const geometry = await lineageGeometry(page);
  const byId = new Map(geometry.boxes.map((box) => [box.id, box]));
  const graph = await page.evaluate(async ([id, depth]) => {
    const response = await fetch('/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json',
      Authorization: `Bearer ${localStorage.getItem('modelreg:token')}` },
      body: JSON.stringify({ query: 'query($id: ID!, $d: Int!) { lineage(id: $id, direction: BOTH, depth: $d, maxNodes: 500) { edges { upstreamId downstreamId kind } } }',
                             variables: { id, d: depth } }) });
    return (await response.json()).data.lineage;
  }, [plan.rootId, plan.depth]);
  const backwards = [];
  const sourcesFarAway = [];
  for (const edge of graph.edges) {
    const up = byId.get(edge.upstreamId);
    const down = byId.get(edge.downstreamId);
    if (!up || !down) continue;
    if (up.right > down.left) backwards.push([up.label, down.label]);
    // A source (nothing feeds it) belongs in the layer just before the version it feeds first.
    const fed = graph.edges.filter((e) => e.downstreamId === up.id).length === 0;
    const firstUse = Math.min(...graph.edges.filter((e) => e.upstreamId === up.id).map((e) => byId.get(e.downstreamId)?.rank ?? Infinity));
    if (fed && down.rank === firstUse && down.rank - up.rank > 2) sourcesFarAway.push([up.label, down.label, up.rank, down.rank]);
  }
  report.graph = { scale: geometry.scale, nodes: geometry.boxes, fontSizes: geometry.fontSizes, overlaps: geometry.overlaps,
                   labelOnNode: geometry.labelOnNode, labelsOverlap: geometry.labelsOverlap, canvas: geometry.canvas,
                   backwards, sourcesFarAway };
  step(`graph of ${geometry.boxes.length} nodes drawn`);
  await scan(page, 'lineage');

  // Tab goes from node to node, layer by layer (left to right).
  await page.locator('[data-testid="lineage-node"]').first().focus();
  const tabbed = [];
  for (let i = 0; i < 4; i++) {
    tabbed.push(await page.evaluate(() => ({ testid: document.activeElement?.dataset.testid ?? null,
                                             rank: Number(document.activeElement?.dataset.rank) })));
    await page.keyboard.press('Tab');
  }
  report.graph.tabbed = tabbed;
  // The side panel, node by node with the keyboard: a version, a dataset, a run.
  const node = (kind, text) => page.locator(`[data-testid="lineage-node"][data-kind="${kind}"]`, { hasText: text }).first();
  const panelTitle = page.getByTestId('lineage-panel-title');
  await press(node('MODEL_VERSION', `${plan.model}/3`));
  await panelTitle.filter({ hasText: `${plan.model}/3` }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await page.locator(`[data-testid="lineage-version"][data-uri="models:/${plan.model}/3"] [data-testid="lineage-metrics"]`)
    .waitFor({ timeout: STEP_TIMEOUT_MS });
  const panel = page.getByTestId('lineage-panel');
  report.panel.version = {
    title: await panelTitle.innerText(),
    metrics: await texts(page, '[data-testid="lineage-metrics"] tbody tr'),
    files: await texts(page, '[data-testid="lineage-file"]'),
    versionLink: await page.getByTestId('lineage-version-link').evaluate((a) => a.href),
    inputs: await panel.locator('h3:has-text("Inputs") + ul li').evaluateAll((items) => items.map((li) => li.innerText.trim())),
  };
  await shoot(page, 'lineage');
  await press(node('DATASET', plan.datasetLabel));
  await panelTitle.filter({ hasText: plan.datasetLabel }).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.panel.dataset = { title: await panelTitle.innerText(), facts: await page.getByTestId('lineage-facts').innerText() };
  report.injected = await injected(page);
  await press(node('RUN', plan.runLabel));
  await panelTitle.filter({ hasText: plan.runLabel }).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.panel.run = { facts: await page.getByTestId('lineage-facts').innerText(),
                       timeTitle: await page.locator('[data-testid="lineage-facts"] time').first().getAttribute('title') };
  await scan(page, 'lineage-panel');
  // Onward: explore from the run.
  await press(page.getByTestId('lineage-recentre'));
  await page.waitForFunction(() => document.querySelector('[data-testid="lineage-node"].root')?.dataset.kind === 'RUN', null,
                             { timeout: STEP_TIMEOUT_MS });
  report.panel.recentred = await page.locator('[data-testid="lineage-node"]').count();
  step('side panel of a version, a dataset and a run; explored onward from the run');
  // A models:/ URI in the address (as the old /lineage page and the docs link it).
  await page.goto(`${baseUrl}/#/lineage?id=${encodeURIComponent(`models:/${plan.model}/2`)}&direction=UPSTREAM&depth=1`);
  await page.locator('[data-testid="lineage-node"].root').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.panel.byUri = { root: await page.locator('[data-testid="lineage-node"].root .llabel').innerText(),
                         nodes: await page.locator('[data-testid="lineage-node"]').count() };
  return page;
}

async function main() {
  let browser;
  let last;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    const scenarios = { browse, approve, deployments, lineage };
    last = await scenarios[plan.scenario](browser);
    report.tokenInRequestUrls = report.requests.some((request) => request.split('#')[0].includes(token));
    report.ok = true;
    await last.screenshot({ path: screenshot, fullPage: true });
  } catch (error) {
    report.error = String((error && error.stack) || error);
    const pages = browser ? browser.contexts().flatMap((context) => context.pages()) : [];
    for (const [index, page] of pages.entries()) {
      await page.screenshot({ path: index ? screenshot.replace(/\.png$/, `-${index}.png`) : screenshot }).catch(() => {});
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exit(report.ok ? 0 : 1);
}

main();
