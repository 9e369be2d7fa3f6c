// Drives modelreg's lineage explorer (/lineage) in headless Chromium (Debian's /usr/bin/chromium via
// playwright-core).
//
//   node tests/js/lineage_check.mjs BASE_URL TOKEN SCREENSHOT --id ID [--direction D] [--depth N]
//        [--expect-nodes N] [--click-kind KIND] [--expect-error] [--block-vendor]
//
// Opens BASE_URL/lineage?id=ID&direction=D&depth=N#token=TOKEN and waits until the page has drawn at least N
// nodes (window.__lineage, published by app/web/lineage.js after every render). With --click-kind, clicks
// (a real mouse click on the canvas) the first drawn node of that kind and waits until the side panel shows
// it and its one-hop expansion is merged. With --expect-error, waits for the page's error message instead.
// With --block-vendor, /static/vendor/* answers 404 and the page must say the assets are missing.
// Requests to hosts other than loopback are recorded and aborted. Prints one JSON report on stdout; exits 1
// when a step failed (the report says which).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.MODELREG_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const STEP_TIMEOUT_MS = 20000;
const LOCAL_SCHEMES = new Set(['data:', 'blob:', 'about:', 'chrome:', 'chrome-error:']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function parseArgs(argv) {
  const [baseUrl, token, screenshot, ...rest] = argv;
  const option = (name, fallback = null) => {
    const at = rest.indexOf(name);
    return at >= 0 ? rest[at + 1] : fallback;
  };
  const id = option('--id');
  if (!baseUrl || !token || !screenshot || !id) {
    console.error('usage: lineage_check.mjs BASE_URL TOKEN SCREENSHOT --id ID [--direction D] [--depth N] ' +
                  '[--expect-nodes N] [--click-kind KIND] [--expect-error] [--block-vendor]');
    process.exit(2);
  }
  return { baseUrl, token, screenshot, id, direction: option('--direction', 'BOTH'), depth: option('--depth', '2'),
           expectNodes: Number(option('--expect-nodes', '1')), clickKind: option('--click-kind'),
           expectError: rest.includes('--expect-error'), blockVendor: rest.includes('--block-vendor') };
}

function isExternal(url) {
  const parsed = new URL(url);
  return !LOCAL_SCHEMES.has(parsed.protocol) && !LOOPBACK_HOSTS.has(parsed.hostname);
}

/** What the page says it drew (window.__lineage without its helper function). */
function drawn(page) {
  return page.evaluate(() => {
    const state = window.__lineage;
    return state && { renders: state.renders, root: state.root, truncated: state.truncated,
                      selected: state.selected, expanded: state.expanded, nodes: state.nodes, edges: state.edges };
  });
}

async function readError(page, report) {
  const box = page.locator('#error');
  await box.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  report.errorText = await box.innerText();
  report.errorCode = await box.getAttribute('data-code');
  report.errorStatus = await box.getAttribute('data-status');
  report.steps.push('error shown');
}

/** Click the first drawn node of `kind` on the canvas; wait for the side panel and the expansion. */
async function clickNode(page, kind, report) {
  const target = report.lineage.nodes.find((node) => node.kind === kind);
  if (!target) throw new Error(`no ${kind} node drawn: ${JSON.stringify(report.lineage.nodes)}`);
  const point = await page.evaluate((id) => window.__lineage.clientPoint(id), target.id);
  if (!point) throw new Error(`node ${target.id} has no position on screen`);
  await page.mouse.click(point.x, point.y);
  report.steps.push(`clicked ${kind} node at ${Math.round(point.x)},${Math.round(point.y)}`);
  await page.locator(`#details[data-node-id="${target.id}"]`).waitFor({ timeout: STEP_TIMEOUT_MS });
  report.steps.push('details shown');
  await page.waitForFunction((id) => {
    const status = document.querySelector('#details .expand-status');
    return window.__lineage.expanded.includes(id) && status && /^Expanded/.test(status.textContent);
  }, target.id, { timeout: STEP_TIMEOUT_MS });
  report.steps.push('node expanded');
  report.clicked = target;
  report.detailsTitle = await page.locator('[data-testid="details-title"]').innerText();
  report.detailsKind = await page.locator('[data-testid="details-kind"]').getAttribute('data-kind');
  report.detailsText = await page.locator('#details').innerText();
  report.detailsFields = await page.locator('#details dd[data-field]').evaluateAll(
    (cells) => Object.fromEntries(cells.map((cell) => [cell.dataset.field, cell.innerText])));
  report.expandStatus = await page.locator('#details .expand-status').innerText();
  report.lineageAfterClick = await drawn(page);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const report = { ok: false, steps: [], requests: [], external: [], consoleErrors: [], pageErrors: [],
                   screenshot: args.screenshot };
  const profile = mkdtempSync(join(tmpdir(), 'modelreg-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 900 },
    });
    context.on('request', (request) => report.requests.push(`${request.method()} ${request.url()}`));
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isExternal(url)) {
        report.external.push(url);
        return route.abort('blockedbyclient');
      }
      if (args.blockVendor && new URL(url).pathname.startsWith('/static/vendor/')) {
        return route.fulfill({ status: 404, contentType: 'text/plain', body: 'Not Found' });
      }
      return route.continue();
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') report.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => report.pageErrors.push(String(error)));
    const search = new URLSearchParams({ id: args.id, direction: args.direction, depth: args.depth });
    const response = await page.goto(`${args.baseUrl}/lineage?${search}#token=${encodeURIComponent(args.token)}`,
                                      { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    report.pageStatus = response.status();
    report.contentSecurityPolicy = response.headers()['content-security-policy'] || null;
    report.steps.push('page loaded');
    if (args.blockVendor || args.expectError) {
      await readError(page, report);
      if (args.expectError) {
        await page.locator('#token-status.error').waitFor({ timeout: STEP_TIMEOUT_MS });
        report.tokenStatus = await page.locator('#token-status').innerText();
      }
    } else {
      await page.locator('#graph-pane[data-state="ready"], #graph-pane[data-state="error"]')
        .waitFor({ timeout: STEP_TIMEOUT_MS });
      if (await page.locator('#graph-pane[data-state="error"]').count()) {
        await readError(page, report);
        throw new Error(`the page shows an error: ${report.errorText}`);
      }
      await page.waitForFunction((n) => window.__lineage && window.__lineage.nodes.length >= n,
                                 args.expectNodes, { timeout: STEP_TIMEOUT_MS });
      report.steps.push('graph drawn');
      report.lineage = await drawn(page);
      report.legendKinds = await page.locator('#legend li[data-kind]').evaluateAll(
        (items) => items.map((item) => item.dataset.kind));
      report.canvasCount = await page.locator('#cy canvas').count();
      await page.locator('#token-status.ok').waitFor({ timeout: STEP_TIMEOUT_MS });
      report.tokenStatus = await page.locator('#token-status').innerText();
      if (args.clickKind) await clickNode(page, args.clickKind, report);
    }
    report.urlAfterLoad = page.url();
    report.tokenStored = await page.evaluate((token) => localStorage.getItem('modelreg:token') === token, args.token);
    // A fragment never leaves the browser; anywhere else in a URL the token would reach the server's logs.
    report.tokenInRequestUrls = report.requests.some((request) => request.split('#')[0].includes(args.token));
    report.ok = true;
    await page.screenshot({ path: args.screenshot, fullPage: false });
  } catch (error) {
    report.error = String(error && error.stack || error);
    const page = context && context.pages()[0];
    if (page) await page.screenshot({ path: args.screenshot }).catch(() => {});
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exit(report.ok ? 0 : 1);
}

main();
