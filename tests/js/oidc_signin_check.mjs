// Browser sign-in in headless Chromium (Debian's /usr/bin/chromium via playwright-core): modelreg's GraphiQL
// page -> "Sign in" -> the OpenID provider's login and consent pages -> back on GraphiQL, signed in by the
// session cookie; the default query then runs with the cookie (no token in the page).
//
//   node tests/js/oidc_signin_check.mjs BASE_URL LOGIN SCREENSHOT
//
// Prints one JSON report on stdout; exits 1 when a step failed (the report says which).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.MODELREG_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const STEP_TIMEOUT_MS = 20000;

async function main() {
  const [baseUrl, login, screenshot] = process.argv.slice(2);
  if (!baseUrl || !login || !screenshot) {
    console.error('usage: oidc_signin_check.mjs BASE_URL LOGIN SCREENSHOT');
    process.exit(2);
  }
  const report = { ok: false, steps: [], pageErrors: [], graphqlRequests: [] };
  const profile = mkdtempSync(join(tmpdir(), 'modelreg-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 900 },
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (error) => report.pageErrors.push(String(error)));
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql') && request.method() === 'POST') {
        const headers = request.headers();
        report.graphqlRequests.push({ authorization: 'authorization' in headers,
                                      xRequestedWith: headers['x-requested-with'] || null });
      }
    });
    await page.goto(`${baseUrl}/graphql`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    const link = page.locator('#session-link');
    await link.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    report.linkBefore = await link.innerText();
    report.steps.push('sign-in link shown');
    await link.click();
    await page.locator('input[name="login"]').waitFor({ timeout: STEP_TIMEOUT_MS });
    report.providerUrl = page.url();
    report.steps.push('provider login page');
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'any password');
    await page.click('button[type="submit"]');
    await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached', timeout: STEP_TIMEOUT_MS });
    report.steps.push('provider consent page');
    await page.click('button[type="submit"]');
    await page.waitForURL(`${baseUrl}/graphql`, { timeout: STEP_TIMEOUT_MS });
    report.steps.push('back on GraphiQL');
    await page.locator('#token-status.ok').waitFor({ timeout: STEP_TIMEOUT_MS });
    report.tokenStatus = await page.locator('#token-status').innerText();
    report.linkAfter = await page.locator('#session-link').innerText();
    report.steps.push('signed in by cookie');
    await page.locator('.graphiql-container').waitFor({ timeout: STEP_TIMEOUT_MS });
    // The default document holds several operations: the run button opens a menu of them, unless the editor
    // already holds a cursor inside one (GraphiQL then runs that one, Overview, the first) - which happens when the
    // page gives the editor focus before the click.
    await page.click('.graphiql-execute-button');
    const overview = page.getByRole('menuitem', { name: 'Overview', exact: true });
    if (await overview.waitFor({ timeout: 3000 }).then(() => true, () => false)) {
      await overview.click({ timeout: STEP_TIMEOUT_MS });
    }
    await page.waitForFunction(() => {
      const pane = document.querySelector('.graphiql-response .result-window');
      return pane && pane.innerText.includes('"viewer"');
    }, null, { timeout: STEP_TIMEOUT_MS });
    report.resultText = await page.evaluate(
      () => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue());
    report.steps.push('default query ran');
    report.cookies = (await context.cookies(baseUrl)).map((c) => ({ name: c.name, httpOnly: c.httpOnly,
                                                                       sameSite: c.sameSite }));
    report.documentCookie = await page.evaluate(() => document.cookie);
    await page.screenshot({ path: screenshot, fullPage: false });
    report.ok = true;
  } catch (error) {
    report.error = String(error && error.stack || error);
    const page = context && context.pages()[0];
    if (page) await page.screenshot({ path: screenshot }).catch(() => {});
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exit(report.ok ? 0 : 1);
}

main();
