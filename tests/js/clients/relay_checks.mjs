// Relay against the live server: relay-compiler compiles relay/ClientsRelay.js against schema.graphql into a
// scratch folder, and relay-runtime executes the generated artifacts (a mutation, @connection pages, and the
// node(id:) query that @refetchable generated).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import relay from 'relay-runtime';

const { Environment, Network, RecordSource, Store, commitMutation, fetchQuery, getSelector } = relay;
const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const COMPILE_TIMEOUT_MS = 30_000;

const FRAGMENT = 'ClientsRelay_model';
const MODELS_QUERY = 'ClientsRelayModelsQuery';
const CREATE_MUTATION = 'ClientsRelayCreateModelMutation';
const REFETCH_QUERY = 'ClientsRelayModelRefetchQuery';

/**
 * Compiles the operations into `workdir` (never into the source tree) and returns the generated artifacts by name.
 * Throws with the compiler's output when it fails.
 */
export function compileRelay(workdir, schemaPath = join(ROOT, 'schema.graphql')) {
  const src = join(workdir, 'src');
  const generated = join(workdir, '__generated__');
  mkdirSync(generated, { recursive: true });
  cpSync(join(HERE, 'relay'), src, { recursive: true });
  // Generated artifacts are CommonJS (`require('./X.graphql')` between them): make sure nothing above says ESM.
  writeFileSync(join(workdir, 'package.json'), JSON.stringify({ type: 'commonjs', private: true }));
  const config = join(workdir, 'relay.config.json');
  writeFileSync(config, JSON.stringify({
    src: './src',
    schema: schemaPath,
    language: 'javascript',
    artifactDirectory: './__generated__',
    eagerEsModules: false,
    noSourceControl: true,
  }, null, 2));

  const binary = require('relay-compiler'); // the platform binary shipped in the package, or null
  if (!binary) throw new Error(`relay-compiler has no binary for ${process.platform} ${process.arch}`);
  const done = spawnSync(binary, [config, '--output', 'quiet-with-errors'], {
    cwd: workdir, encoding: 'utf8', timeout: COMPILE_TIMEOUT_MS,
  });
  if (done.error || done.status !== 0) {
    throw new Error(`relay-compiler failed (exit ${done.status}, ${done.error ?? 'no spawn error'}):\n`
      + `${done.stdout}\n${done.stderr}`.trim());
  }
  const load = (name) => {
    const path = join(generated, `${name}.graphql.js`);
    if (!existsSync(path)) throw new Error(`relay-compiler wrote no ${name}.graphql.js`);
    return require(path);
  };
  return {
    fragment: load(FRAGMENT),
    modelsQuery: load(MODELS_QUERY),
    createMutation: load(CREATE_MUTATION),
    refetchQuery: load(REFETCH_QUERY),
  };
}

function environmentFor(url, fetchFn) {
  const network = Network.create(async (params, variables) => {
    const response = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: params.text, variables, operationName: params.name }),
    });
    return response.json();
  });
  return new Environment({ network, store: new Store(new RecordSource()) });
}

function mutate(environment, mutation, variables) {
  return new Promise((resolve, reject) => {
    commitMutation(environment, {
      mutation,
      variables,
      onCompleted: (response, errors) => (errors?.length ? reject(new Error(JSON.stringify(errors))) : resolve(response)),
      onError: reject,
    });
  });
}

/**
 * Runs the Relay checks; `check(name, fn)` records each one. `pageNames` are the models (already created, in
 * name order) whose names start with `pagePrefix`.
 */
export async function relayChecks({ check, url, fetchFn, workdir, prefix, pagePrefix, pageNames }) {
  let artifacts;
  await check('relay.compile', async () => {
    artifacts = compileRelay(workdir);
    const refetchText = artifacts.refetchQuery.params.text;
    if (!/node\(id: \$id\)/.test(refetchText)) throw new Error(`generated refetch query has no node(id:):\n${refetchText}`);
    if (artifacts.fragment.metadata?.refetch?.operation !== artifacts.refetchQuery) {
      throw new Error('the @refetchable fragment does not point at the generated refetch query');
    }
    return `4 artifacts; ${REFETCH_QUERY}: ${refetchText.split('\n').find((line) => line.includes('node('))?.trim()}`;
  });
  if (!artifacts) {
    for (const name of ['relay.mutation', 'relay.connection', 'relay.refetch']) {
      await check(name, () => { throw new Error('skipped: relay-compiler failed'); });
    }
    return;
  }

  const environment = environmentFor(url, fetchFn);
  let created;
  await check('relay.mutation', async () => {
    const name = `${prefix}relay`;
    const response = await mutate(environment, artifacts.createMutation,
      { input: { name, description: 'created by relay-runtime' } });
    created = response.createRegisteredModel?.registeredModel;
    if (!created?.id || created.name !== name) throw new Error(`unexpected payload ${JSON.stringify(response)}`);
    return `created ${created.name} (${created.id})`;
  });

  await check('relay.connection', async () => {
    const variables = { first: 2, after: null, filter: { name: { prefix: pagePrefix } },
      orderBy: { field: 'NAME', direction: 'ASC' } };
    let data;
    let pages = 0;
    do {
      data = await fetchQuery(environment, artifacts.modelsQuery, variables, { fetchPolicy: 'network-only' })
        .toPromise();
      pages += 1;
      variables.after = data.registeredModels.pageInfo.endCursor;
    } while (data.registeredModels.pageInfo.hasNextPage && pages < 10);
    // The @connection handler merged the pages into one list in the store.
    const names = data.registeredModels.edges.map((edge) => edge.node.name);
    if (JSON.stringify(names) !== JSON.stringify(pageNames) || pages !== Math.ceil(pageNames.length / 2)) {
      throw new Error(`after ${pages} page(s) of 2 the connection holds ${JSON.stringify(names)}, `
        + `expected ${JSON.stringify(pageNames)}`);
    }
    return `${pages} pages of first:2 merged by @connection into ${names.length} models`;
  });

  await check('relay.refetch', async () => {
    if (!created) throw new Error('skipped: the mutation created no model');
    // What a @refetchable fragment's refetch() runs: the generated query, with the fragment's id.
    const refetch = artifacts.fragment.metadata.refetch.operation;
    const data = await fetchQuery(environment, refetch, { id: created.id }, { fetchPolicy: 'network-only' })
      .toPromise();
    if (!data.node) throw new Error(`node(id: ${created.id}) returned null`);
    const model = environment.lookup(getSelector(artifacts.fragment, data.node)).data;
    if (model?.id !== created.id || model.name !== created.name) {
      throw new Error(`refetch returned ${JSON.stringify(model)}, expected ${created.name} (${created.id})`);
    }
    return `node(id:) returned ${model.name} with the same id`;
  });
}
