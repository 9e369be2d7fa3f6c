// Real GraphQL clients against a running server: Relay (relay-compiler + relay-runtime) and Apollo Client.
//
//   node tests/js/clients/clients_check.mjs <graphql-url> <bearer-token> <subject> <scratch-dir>
//
// The token is a data-scientist's for <subject>. relay-compiler writes its artifacts under <scratch-dir>.
// Prints one JSON object on stdout: {checks: [{name, ok, detail, ms}]} (or {fatal} when the script itself
// crashes). Exits 0 when every check passed, 1 when some did not, 2 on bad usage or a crash.
import { randomBytes } from 'node:crypto';

import { apolloChecks } from './apollo_checks.mjs';
import { relayChecks } from './relay_checks.mjs';

const REQUEST_TIMEOUT_MS = 10_000;
const PAGE_MODELS = 5;

const [url, token, subject, workdir] = process.argv.slice(2);
if (!url || !token || !subject || !workdir) {
  console.error('usage: node tests/js/clients/clients_check.mjs <graphql-url> <bearer-token> <subject> <scratch-dir>');
  process.exit(2);
}

/** fetch with the bearer token and a timeout. */
function authorizedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

const checks = [];
/** Runs one named check; a throw is a failure whose message is the detail. */
async function check(name, run) {
  const started = performance.now();
  try {
    const detail = await run();
    checks.push({ name, ok: true, detail: detail ?? '', ms: Math.round(performance.now() - started) });
  } catch (error) {
    const detail = String(error?.message ?? error);
    checks.push({ name, ok: false, detail, ms: Math.round(performance.now() - started) });
  }
}

// Names unique to this run: the server's database is shared with other tests.
const prefix = `clients-${randomBytes(4).toString('hex')}-`;
const pagePrefix = `${prefix}page-`;
const pageNames = Array.from({ length: PAGE_MODELS }, (_, index) => `${pagePrefix}${index + 1}`);

try {
  const context = { check, url, fetchFn: authorizedFetch, subject, workdir, prefix, pagePrefix, pageNames };
  await apolloChecks(context); // creates the models both clients page through
  await relayChecks(context);
} catch (error) {
  console.log(JSON.stringify({ fatal: String(error?.stack || error), checks }, null, 2));
  process.exit(2);
}

console.log(JSON.stringify({ checks }, null, 2));
process.exit(checks.every((result) => result.ok) ? 0 : 1);
