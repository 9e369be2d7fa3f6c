// A real OpenID provider for modelreg's tests: the npm package oidc-provider, one instance per issuer on its
// own loopback port, issuing RFC 9068 JWT access tokens for the API audience.
//
//   node tests/js/oidc_provider.mjs CONFIG.json
//
// CONFIG lists the issuers (tests/support/oidc.py writes it):
//   { "issuers": [ { "name": "idp", "port": 41001, "audience": "modelreg", "alg": "RS256",
//                    "accessTokenTTL": 300, "keysFile": "/tmp/x/idp-keys.json",
//                    "clients": [ { "client_id", "client_secret"?, "grant_types", "redirect_uris"?,
//                                   "claims"?: {extra access token claims for client-credentials tokens} } ],
//                    "accounts": { "alice": {extra access token claims for alice's tokens} } } ] }
//
// When every issuer listens it prints one line: {"ready": true, "issuers": {"idp": "http://127.0.0.1:41001"}}.
// The private signing keys are written to keysFile (tests forge hostile tokens with them).
//
// Test hooks, on each issuer's port (loopback only; this is a test fixture, not a product):
//   POST /__test/rotate[?drop=1]  new signing key first (used from now on); old ones still published unless drop
//   POST /__test/outage?on=1|0    answer 503 to everything else, like a provider that is down
//   GET  /__test/stats            {"jwks": N, "discovery": N} requests served since start
// The user login is oidc-provider's development interaction (any login name, any password, then consent); the device
// flow's user code page (/device) leads to the same login.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const [configPath] = process.argv.slice(2);
if (!configPath) {
  console.error('usage: oidc_provider.mjs CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const cookieKeys = [randomBytes(32).toString('hex')];

function newKey(alg) {
  const kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`;
  const { privateKey } = alg.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

function buildProvider(spec, url, keys) {
  const clientsById = Object.fromEntries(spec.clients.map((c) => [c.client_id, c]));
  const audience = spec.audience;
  const resourceServer = {
    audience,
    scope: 'registry',
    accessTokenFormat: 'jwt',
    accessTokenTTL: spec.accessTokenTTL || 300,
    jwt: { sign: { alg: spec.alg || 'RS256' } },
  };
  const provider = new Provider(url, {
    clients: spec.clients.map(({ claims, ...metadata }) => ({
      response_types: metadata.grant_types.includes('authorization_code') ? ['code'] : [],
      token_endpoint_auth_method: metadata.client_secret ? 'client_secret_basic' : 'none',
      id_token_signed_response_alg: spec.alg || 'RS256',
      ...metadata,
    })),
    jwks: { keys },
    cookies: { keys: cookieKeys },
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'email', 'registry'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      // the device authorization grant (RFC 8628) for terminals: `modelreg login`
      deviceFlow: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => {
          if (indicator !== audience) throw new Provider.errors.InvalidTarget();
          return resourceServer;
        },
      },
    },
    extraTokenClaims: async (ctx, token) => {
      if (token.accountId) return (spec.accounts || {})[token.accountId] || {};
      return (clientsById[token.clientId] || {}).claims || {};
    },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, name: id, email: `${id}@example.test` }),
    }),
    ttl: { AccessToken: spec.accessTokenTTL || 300, Session: 3600, Interaction: 600, Grant: 3600 },
  });
  provider.on('server_error', (ctx, error) => console.error(`[${spec.name}] server_error`, error));
  return provider;
}

function writeKeys(spec, keys) {
  if (spec.keysFile) writeFileSync(spec.keysFile, JSON.stringify({ keys }), { mode: 0o600 });
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function startIssuer(spec) {
  const url = `http://127.0.0.1:${spec.port}`;
  const alg = spec.alg || 'RS256';
  let keys = [newKey(alg)];
  writeKeys(spec, keys);
  let handler = buildProvider(spec, url, keys).callback();
  let outage = false;
  const stats = { jwks: 0, discovery: 0 };

  const server = createServer((req, res) => {
    const { pathname, searchParams } = new URL(req.url, url);
    if (pathname === '/__test/rotate' && req.method === 'POST') {
      keys = searchParams.get('drop') ? [newKey(alg)] : [newKey(alg), ...keys];
      writeKeys(spec, keys);
      handler = buildProvider(spec, url, keys).callback();
      return send(res, 200, { kids: keys.map((k) => k.kid) });
    }
    if (pathname === '/__test/outage' && req.method === 'POST') {
      outage = searchParams.get('on') === '1';
      return send(res, 200, { outage });
    }
    if (pathname === '/__test/stats') return send(res, 200, stats);
    if (outage) return send(res, 503, { error: 'temporarily_unavailable' });
    if (pathname === '/jwks') stats.jwks += 1;
    if (pathname === '/.well-known/openid-configuration') stats.discovery += 1;
    return handler(req, res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.port, '127.0.0.1', resolve);
  });
  return [spec.name, url];
}

const started = await Promise.all(config.issuers.map(startIssuer));
process.stdout.write(`${JSON.stringify({ ready: true, issuers: Object.fromEntries(started) })}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
