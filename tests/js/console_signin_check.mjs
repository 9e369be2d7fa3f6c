// The console's browser sign-in in headless Chromium (Debian's /usr/bin/chromium via playwright-core): the console
// at /#/inbox -> "Sign in" (keyboard) -> the OpenID provider's login and consent pages (authorization code + PKCE)
// -> back on the console's inbox, signed in by the HttpOnly session cookie; the inbox's subscription then runs on
// a WebSocket authenticated by that cookie alone, and a request made meanwhile (over HTTP with REQUESTER_TOKEN)
// appears in the inbox without a reload.
//
//   node tests/js/console_signin_check.mjs BASE_URL LOGIN SCREENSHOT --plan PLAN.json
//
// PLAN.json: { requesterToken, model, version } (the version in STAGING with a model card, so a PRODUCTION
// request stays open for an approver). Prints one JSON report on stdout; exits 1 when a step failed.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.MODELREG_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const STEP_TIMEOUT_MS = 20000;
const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const REQUEST = `mutation Request($input: RequestStageTransitionInput!) {
  requestStageTransition(input: $input) { transitionRequest { id status } } }`;

async function main() {
  const [baseUrl, login, screenshot, ...rest] = process.argv.slice(2);
  if (!baseUrl || !login || !screenshot || !rest.includes('--plan')) {
    console.error('usage: console_signin_check.mjs BASE_URL LOGIN SCREENSHOT --plan PLAN.json');
    process.exit(2);
  }
  const plan = JSON.parse(readFileSync(rest[rest.indexOf('--plan') + 1], 'utf8'));
  const report = { ok: false, steps: [], pageErrors: [], graphqlRequests: [], sockets: [] };
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, bypassCSP: true });
    const page = await context.newPage();
    page.on('pageerror', (error) => report.pageErrors.push(String(error)));
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql' && request.method() === 'POST') {
        const headers = request.headers();
        report.graphqlRequests.push({ authorization: 'authorization' in headers,
                                      xRequestedWith: headers['x-requested-with'] || null });
      }
    });
    page.on('websocket', (socket) => {
      const entry = { url: socket.url(), sent: [], received: [] };
      report.sockets.push(entry);
      socket.on('framesent', (frame) => entry.sent.push(JSON.parse(String(frame.payload)).type === 'connection_init'
        ? { type: 'connection_init', payload: JSON.parse(String(frame.payload)).payload ?? null }
        : { type: JSON.parse(String(frame.payload)).type }));
      socket.on('framereceived', (frame) => entry.received.push(JSON.parse(String(frame.payload)).type));
      socket.on('close', () => { entry.closed = true; });
    });

    await page.goto(`${baseUrl}/#/inbox`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    const link = page.locator('.session-link');
    await link.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    report.linkBefore = await link.innerText();
    report.statusBefore = await page.getByTestId('viewer-status').innerText();
    report.steps.push('console: not signed in, sign-in link shown');
    await link.focus();
    await page.keyboard.press('Enter');
    await page.locator('input[name="login"]').waitFor({ timeout: STEP_TIMEOUT_MS });
    report.providerUrl = page.url();
    report.steps.push('provider login page');
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'any password');
    await page.click('button[type="submit"]');
    await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached', timeout: STEP_TIMEOUT_MS });
    report.steps.push('provider consent page');
    await page.click('button[type="submit"]');
    await page.waitForURL(`${baseUrl}/#/inbox`, { timeout: STEP_TIMEOUT_MS });
    report.steps.push('back on the console inbox');
    await page.locator('[data-testid="viewer-status"].ok').waitFor({ timeout: STEP_TIMEOUT_MS });
    report.status = await page.getByTestId('viewer-status').innerText();
    report.linkAfter = await page.locator('.session-link').innerText();
    report.tokenBar = await page.locator('#token-input').count();
    report.storedToken = await page.evaluate(() => localStorage.getItem('modelreg:token'));
    report.steps.push('signed in by the session cookie');

    // Live: the subscription's WebSocket is up on the cookie alone.
    await page.locator('[data-testid="live"][data-live="connected"]').waitFor({ timeout: STEP_TIMEOUT_MS });
    report.live = await page.getByTestId('live').innerText();
    report.steps.push('inbox live over the cookie-authenticated WebSocket');
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${plan.requesterToken}` },
      body: JSON.stringify({ query: REQUEST, variables: { input: { name: plan.model, version: plan.version, toStage: 'PRODUCTION' } } }),
    });
    const made = await response.json();
    if (made.errors) throw new Error(`the request was refused: ${JSON.stringify(made.errors)}`);
    report.requestId = made.data.requestStageTransition.transitionRequest.id;
    const card = page.locator(`[data-testid="inbox"] [data-request-id="${report.requestId}"]`);
    await card.waitFor({ timeout: STEP_TIMEOUT_MS }); // no reload, no poll (the page polls only without a live connection)
    await card.locator('[data-testid="approve"]').waitFor({ timeout: STEP_TIMEOUT_MS });
    report.card = await card.innerText();
    report.steps.push('the new request arrived live');
    await page.evaluate(AXE);
    report.axe = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] }))
      .violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help })));
    report.cookies = (await context.cookies(baseUrl)).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }));
    report.documentCookie = await page.evaluate(() => document.cookie);
    await page.screenshot({ path: screenshot, fullPage: false });
    report.ok = true;
  } catch (error) {
    report.error = String((error && error.stack) || error);
    const page = browser?.contexts()[0]?.pages()[0];
    if (page) await page.screenshot({ path: screenshot }).catch(() => {});
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exit(report.ok ? 0 : 1);
}

main();
