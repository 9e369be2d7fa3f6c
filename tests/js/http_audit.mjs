// Runs the GraphQL-over-HTTP audit suite (npm graphql-http, auditServer) against a running server.
//
//   node tests/js/http_audit.mjs <graphql-url> <bearer-token>
//
// Every request the suite makes carries `Authorization: Bearer <token>`. Prints one JSON object on
// stdout: {total, ok, notice, warn, error, failures: [{id, name, status, reason, httpStatus,
// contentType, body}]}. Exits 0 only when every audit is ok; 1 when some are not; 2 on bad usage or
// when the suite itself crashes (server unreachable, timeout).
import { auditServer } from 'graphql-http';

const REQUEST_TIMEOUT_MS = 15_000;

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node tests/js/http_audit.mjs <graphql-url> <bearer-token>');
  process.exit(2);
}

/** fetch with the bearer token added and a timeout, leaving every other header as the audit set it. */
function authorizedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

/** What the server answered, for the failure report (the audit may already have read the body). */
async function describeResponse(response) {
  if (!response) return {};
  const described = { httpStatus: response.status, contentType: response.headers.get('content-type') };
  try {
    described.body = (await response.clone().text()).slice(0, 500);
  } catch {
    described.body = '(body already consumed by the audit)';
  }
  return described;
}

let results;
try {
  results = await auditServer({ url, fetchFn: authorizedFetch });
} catch (error) {
  console.log(JSON.stringify({ fatal: String(error?.stack || error) }, null, 2));
  process.exit(2);
}

const summary = { total: results.length, ok: 0, notice: 0, warn: 0, error: 0, failures: [] };
for (const result of results) {
  summary[result.status] += 1;
  if (result.status !== 'ok') {
    summary.failures.push({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.reason,
      ...(await describeResponse(result.response)),
    });
  }
}

console.log(JSON.stringify(summary, null, 2));
process.exit(summary.ok === summary.total ? 0 : 1);
