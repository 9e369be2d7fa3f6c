// Drives modelreg's GraphiQL page in headless Chromium (Debian's /usr/bin/chromium via playwright-core).
//
//   node tests/js/graphiql_check.mjs BASE_URL TOKEN SCREENSHOT [--expect TEXT] [--block-vendor]
//
// Default: open BASE_URL/graphql, paste TOKEN in the token bar, run the default query with the run button,
// and wait until the result pane contains TEXT. With --block-vendor, /static/vendor/* answers 404 and the
// page must show its "not built" notice instead. Requests to hosts other than loopback are recorded and
// aborted. Prints one JSON report on stdout; exits 1 when a step failed (the report says which).
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
  if (!baseUrl || !token || !screenshot) {
    console.error('usage: graphiql_check.mjs BASE_URL TOKEN SCREENSHOT [--expect TEXT] [--operation NAME] ' +
                  '[--block-vendor]');
    process.exit(2);
  }
  const expectAt = rest.indexOf('--expect');
  const operationAt = rest.indexOf('--operation');
  return { baseUrl, token, screenshot, expect: expectAt >= 0 ? rest[expectAt + 1] : null,
           operation: operationAt >= 0 ? rest[operationAt + 1] : 'Overview',
           blockVendor: rest.includes('--block-vendor') };
}

function isExternal(url) {
  const parsed = new URL(url);
  return !LOCAL_SCHEMES.has(parsed.protocol) && !LOOPBACK_HOSTS.has(parsed.hostname);
}

/** Paste the token, run the default document, return the result pane's text once it holds `expect`. */
async function runDefaultQuery(page, args, report) {
  await page.locator('.graphiql-container').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.steps.push('graphiql rendered');
  await page.fill('#token-input', args.token);
  await page.click('#token-form button[type="submit"]');
  await page.locator('#token-status.ok').waitFor({ timeout: STEP_TIMEOUT_MS });
  report.tokenStatus = await page.locator('#token-status').innerText();
  report.steps.push('token accepted');
  // The default document, as it shows at 1280x720: every line within the editor's visible area, no scrolling.
  report.editor = await page.evaluate(() => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    const info = cm.getScrollInfo();
    const box = cm.getWrapperElement().getBoundingClientRect();
    const last = cm.lastLine();
    const lastBottom = cm.charCoords({ line: last, ch: 0 }, 'window').bottom;
    return { lines: cm.lineCount(), text: cm.getValue(), scrollHeight: info.height, clientHeight: info.clientHeight,
             scrollWidth: info.width, clientWidth: info.clientWidth,
             lastLineVisible: lastBottom <= Math.min(box.bottom, window.innerHeight), top: info.top,
             fontSize: parseFloat(getComputedStyle(cm.getWrapperElement()).fontSize) };
  });
  report.steps.push('default document measured');
  // The default document holds several operations: the run button opens a menu of them.
  await page.click('.graphiql-execute-button');
  await page.getByRole('menuitem', { name: args.operation, exact: true }).click({ timeout: STEP_TIMEOUT_MS });
  report.steps.push(`ran ${args.operation}`);
  await page.waitForFunction((text) => {
    const pane = document.querySelector('.graphiql-response .result-window');
    return pane && pane.innerText.includes(text);
  }, args.expect || '"data"', { timeout: STEP_TIMEOUT_MS });
  report.steps.push('result shown');
  report.resultVisibleText = await page.locator('.graphiql-response .result-window').innerText();
  // The full result document, from the CodeMirror 5 instance behind the result pane.
  report.resultText = await page.evaluate(
    () => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue());
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const report = { ok: false, steps: [], requests: [], external: [], consoleErrors: [], pageErrors: [],
                   screenshot: args.screenshot };
  const profile = mkdtempSync(join(tmpdir(), 'modelreg-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 720 }, // a common laptop window: the default document must show in it
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
    const response = await page.goto(`${args.baseUrl}/graphql`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    report.pageStatus = response.status();
    report.steps.push('page loaded');
    if (args.blockVendor) {
      await page.locator('.notice h1').waitFor({ timeout: STEP_TIMEOUT_MS });
      report.noticeText = await page.locator('.notice').innerText();
      report.steps.push('notice shown');
    } else {
      await runDefaultQuery(page, args, report);
    }
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
