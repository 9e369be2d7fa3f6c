// Times the web console's catalogue in headless Chromium: from navigation start until the first page of models is
// drawn and its first model link takes keyboard focus (interactive). One fresh browser context per run, so the first
// run pays for downloading and compiling the bundle and the later ones (HTTP cache cleared too) do as well.
//
//   node benchmarks/console_first_page.mjs BASE_URL TOKEN RUNS
import { chromium } from 'playwright-core';

const [baseUrl, token, runs = '5'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.MODELREG_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
const timings = [];
try {
  for (let run = 0; run < Number(runs); run += 1) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await context.addInitScript((value) => localStorage.setItem('modelreg:token', value), token);
    const page = await context.newPage();
    await page.goto(`${baseUrl}/#/`, { waitUntil: 'commit' });
    const link = page.locator('[data-testid="model-link"]').first();
    await link.waitFor({ timeout: 30000 });
    await link.focus();
    const ms = await page.evaluate(() => {
      const focused = document.activeElement && document.activeElement.matches('[data-testid="model-link"]');
      return focused ? performance.now() : null;
    });
    const phases = await page.evaluate(() => {
      const entries = performance.getEntriesByType('resource');
      const script = entries.find((e) => e.name.includes('/static/console/assets/') && e.name.endsWith('.js'));
      const queries = entries.filter((e) => e.name.endsWith('/graphql'));
      return { scriptDoneMs: script ? Math.round(script.responseEnd) : null,
               graphqlMs: queries.map((e) => [Math.round(e.startTime), Math.round(e.responseEnd)]) };
    });
    const rows = await page.locator('[data-testid="model-row"]').count();
    const total = await page.getByTestId('total').innerText();
    timings.push({ run, interactiveMs: Math.round(ms), rows, total, ...phases });
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(timings) + '\n');
