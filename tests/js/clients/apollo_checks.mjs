// Apollo Client (core, no React) against the live server: a mutation, relayStylePagination() pages forward
// (first/after) and backward (last/before), partial data with errorPolicy 'all', automatic persisted queries
// (createPersistedQueryLink, over POST and GET) and batched requests (BatchHttpLink, within and over the server's
// MODELREG_MAX_BATCH).
import { createHash } from 'node:crypto';

import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { BatchHttpLink } from '@apollo/client/link/batch-http/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';
import { relayStylePagination } from '@apollo/client/utilities/index.js';

const CREATE_MODEL = gql`
  mutation ApolloCreateModel($input: CreateRegisteredModelInput!) {
    createRegisteredModel(input: $input) {
      registeredModel {
        id
        name
      }
    }
  }
`;

// Forward and backward are separate documents so that each fails on its own when the server lacks its arguments.
const MODELS_FORWARD = gql`
  query ApolloModelsForward($first: Int, $after: String, $filter: RegisteredModelFilter,
                            $orderBy: RegisteredModelOrder) {
    registeredModels(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      edges {
        cursor
        node {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`;

const MODELS_BACKWARD = gql`
  query ApolloModelsBackward($last: Int, $before: String, $filter: RegisteredModelFilter,
                             $orderBy: RegisteredModelOrder) {
    registeredModels(last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      edges {
        cursor
        node {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`;

// One denied root field among allowed ones: a data-scientist may not read audit events.
const PARTIAL_DATA = gql`
  query ApolloPartialData {
    viewer {
      subject
    }
    registeredModels(first: 1) {
      totalCount
    }
    auditEvents(first: 1) {
      totalCount
    }
  }
`;

const MAX_PAGES = 10;

// The server's default MODELREG_MAX_BATCH (the live server runs with defaults).
const SERVER_MAX_BATCH = 10;

const VIEWER = gql`
  query ApolloBatchViewer {
    viewer {
      subject
    }
  }
`;

const MODEL_BY_NAME = gql`
  query ApolloModelByName($name: String!) {
    registeredModel(name: $name) {
      id
      name
    }
  }
`;

/** A document unique to this run (its operation name and literal carry the run's prefix), so that its hash is
 * unknown to the server however many times the test suite has run against the same process. */
function persistedDocument(variant, pagePrefix) {
  const tag = pagePrefix.replace(/[^A-Za-z0-9]/g, '_');
  return gql(`
    query ApolloPersisted${variant}_${tag}($name: String!) {
      registeredModel(name: $name) {
        id
        name
      }
      registeredModels(filter: {name: {prefix: ${JSON.stringify(pagePrefix)}}}) {
        totalCount
      }
    }
  `);
}

function clientFor(url, fetchFn) {
  const cache = new InMemoryCache({
    typePolicies: { Query: { fields: { registeredModels: relayStylePagination(['filter', 'orderBy']) } } },
  });
  return new ApolloClient({ link: new HttpLink({ uri: url, fetch: fetchFn }), cache });
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** A fetch that records each request (method, the GraphQL request or batch it carried) and the server's answer
 * (status, parsed JSON body) before handing the answer to Apollo unchanged. */
function recordingFetch(fetchFn) {
  const exchanges = [];
  async function recorder(input, init = {}) {
    const method = (init.method ?? 'GET').toUpperCase();
    const target = new URL(String(input));
    let sent;
    if (method === 'GET') {
      sent = {};
      for (const [key, value] of target.searchParams) {
        sent[key] = ['variables', 'extensions'].includes(key) ? JSON.parse(value) : value;
      }
    } else {
      sent = JSON.parse(init.body);
    }
    const exchange = { method, sent };
    exchanges.push(exchange);
    const response = await fetchFn(input, init);
    const text = await response.text();
    exchange.status = response.status;
    try {
      exchange.answer = JSON.parse(text);
    } catch {
      exchange.answer = text;
    }
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  }
  return { fetch: recorder, exchanges };
}

/** One line per exchange, for failure messages: `POST hash+query -> 200 {...}`. */
function describeExchanges(exchanges) {
  return exchanges.map(({ method, sent, status, answer }) => {
    const parts = (Array.isArray(sent) ? sent : [sent]).map((operation) => [
      operation.extensions?.persistedQuery ? 'hash' : null, typeof operation.query === 'string' ? 'query' : null,
    ].filter(Boolean).join('+') || 'nothing');
    const shape = Array.isArray(sent) ? `[${parts.join(', ')}]` : parts[0];
    return `${method} ${shape} -> ${status} ${JSON.stringify(answer).slice(0, 400)}`;
  }).join(' | ');
}

const sortedEntries = (object) => Object.entries(object ?? {}).sort(([a], [b]) => a.localeCompare(b));
const namesOf = (connection) => connection.edges.map((edge) => edge.node.name);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Creates the models to page through (named `pageNames`) and runs the Apollo checks. */
export async function apolloChecks({ check, url, fetchFn, subject, pagePrefix, pageNames }) {
  const pageVariables = { filter: { name: { prefix: pagePrefix } }, orderBy: { field: 'NAME', direction: 'ASC' } };

  await check('apollo.mutation', async () => {
    const client = clientFor(url, fetchFn);
    for (const name of pageNames) {
      const { data } = await client.mutate({ mutation: CREATE_MODEL, variables: { input: { name } } });
      const model = data?.createRegisteredModel?.registeredModel;
      if (!model?.id || model.name !== name) throw new Error(`createRegisteredModel(${name}) returned ${JSON.stringify(data)}`);
      const cached = client.cache.extract()[client.cache.identify(model)];
      if (cached?.name !== name) throw new Error(`${name} is not normalized in the cache as ${client.cache.identify(model)}`);
    }
    return `created ${pageNames.length} models, each normalized in the cache by id`;
  });

  await check('apollo.pagination.forward', async () => {
    const client = clientFor(url, fetchFn);
    const query = client.watchQuery({ query: MODELS_FORWARD, variables: { first: 2, ...pageVariables } });
    const watching = watch(query);
    let page = (await watching.first).data.registeredModels;
    const pages = [namesOf(page)];
    while (page.pageInfo.hasNextPage && pages.length < MAX_PAGES) {
      page = (await query.fetchMore({ variables: { after: page.pageInfo.endCursor } })).data.registeredModels;
      pages.push(namesOf(page));
    }
    const merged = query.getCurrentResult().data.registeredModels;
    watching.stop();
    const expectedPages = chunks(pageNames, 2);
    if (!same(pages, expectedPages) || !same(namesOf(merged), pageNames) || merged.pageInfo.hasNextPage) {
      throw new Error(`pages ${JSON.stringify(pages)} merged into ${JSON.stringify(namesOf(merged))} `
        + `(hasNextPage ${merged.pageInfo.hasNextPage}); expected pages ${JSON.stringify(expectedPages)}`);
    }
    return `${pages.length} pages of first:2 merged by relayStylePagination: ${namesOf(merged).join(', ')}`;
  });

  await check('apollo.pagination.backward', async () => {
    const client = clientFor(url, fetchFn);
    const query = client.watchQuery({ query: MODELS_BACKWARD, variables: { last: 2, ...pageVariables } });
    const watching = watch(query);
    let page = (await watching.first).data.registeredModels;
    const pages = [namesOf(page)];
    while (page.pageInfo.hasPreviousPage && pages.length < MAX_PAGES) {
      page = (await query.fetchMore({ variables: { before: page.pageInfo.startCursor } })).data.registeredModels;
      pages.push(namesOf(page));
    }
    const merged = query.getCurrentResult().data.registeredModels;
    watching.stop();
    const expectedPages = chunks([...pageNames].reverse(), 2).map((chunk) => chunk.reverse());
    if (!same(pages, expectedPages) || !same(namesOf(merged), pageNames) || merged.pageInfo.hasPreviousPage) {
      throw new Error(`pages ${JSON.stringify(pages)} merged into ${JSON.stringify(namesOf(merged))} `
        + `(hasPreviousPage ${merged.pageInfo.hasPreviousPage}); expected pages ${JSON.stringify(expectedPages)}`);
    }
    return `${pages.length} pages of last:2 merged by relayStylePagination: ${namesOf(merged).join(', ')}`;
  });

  await check('apollo.partialData', async () => {
    const client = clientFor(url, fetchFn);
    const { data, errors } = await client.query({ query: PARTIAL_DATA, errorPolicy: 'all', fetchPolicy: 'no-cache' });
    const problems = [];
    if (data?.viewer?.subject !== subject) problems.push(`viewer.subject is ${JSON.stringify(data?.viewer)}`);
    if (typeof data?.registeredModels?.totalCount !== 'number') {
      problems.push(`registeredModels is ${JSON.stringify(data?.registeredModels)}`);
    }
    if (data?.auditEvents !== null) problems.push(`auditEvents is ${JSON.stringify(data?.auditEvents)}, not null`);
    const codes = (errors ?? []).map((error) => `${error.path?.join('.')}:${error.extensions?.code}`);
    if (!same(codes, ['auditEvents:FORBIDDEN'])) problems.push(`errors ${JSON.stringify(codes)}`);
    if (problems.length) {
      throw new Error(`${problems.join('; ')} (expected viewer and registeredModels data and one FORBIDDEN error `
        + `on auditEvents); data ${JSON.stringify(data)}, errors ${JSON.stringify(errors)}`);
    }
    return 'viewer and registeredModels data with one FORBIDDEN error on auditEvents';
  });

  await check('apollo.persistedQueries', async () => {
    const details = [];
    for (const useGET of [false, true]) {
      const hashedMethod = useGET ? 'GET' : 'POST';
      const recording = recordingFetch(fetchFn);
      const link = createPersistedQueryLink({ sha256, useGETForHashedQueries: useGET })
        .concat(new HttpLink({ uri: url, fetch: recording.fetch }));
      const client = new ApolloClient({ link, cache: new InMemoryCache() });
      const query = persistedDocument(useGET ? 'Get' : 'Post', pagePrefix);
      const problems = [];
      const runAs = async (name) => {
        try {
          const { data, errors } = await client.query({ query, variables: { name }, fetchPolicy: 'no-cache' });
          if (data?.registeredModel?.name !== name || data?.registeredModels?.totalCount !== pageNames.length
              || errors) {
            problems.push(`the query for ${name} returned data ${JSON.stringify(data)}, `
              + `errors ${JSON.stringify(errors)}`);
          }
        } catch (error) {
          problems.push(`the query for ${name} failed: ${error?.name}: ${error?.message}`);
        }
      };
      await runAs(pageNames[0]); // unknown hash: PERSISTED_QUERY_NOT_FOUND, then the link resends with the query
      await runAs(pageNames[1]); // the hash alone now names the stored document
      const { exchanges } = recording;
      const [hashOnly, registering, hashAgain] = exchanges;
      const hash = hashOnly?.sent?.extensions?.persistedQuery?.sha256Hash;
      const printed = registering?.sent?.query;
      if (exchanges.length !== 3) problems.push(`${exchanges.length} requests, expected 3`);
      if (hashOnly && (hashOnly.method !== hashedMethod || 'query' in hashOnly.sent || !hash)) {
        problems.push(`the first request is not a hash-only ${hashedMethod}`);
      }
      const notFound = hashOnly?.answer?.errors?.map((error) => `${error.message}/${error.extensions?.code}`);
      if (hashOnly && (!same(notFound, ['PersistedQueryNotFound/PERSISTED_QUERY_NOT_FOUND']) || hashOnly.answer.data)) {
        problems.push(`the unknown hash was not answered with PersistedQueryNotFound/PERSISTED_QUERY_NOT_FOUND`);
      }
      if (registering && (registering.method !== 'POST' || typeof printed !== 'string'
          || registering.sent.extensions?.persistedQuery?.sha256Hash !== hash || sha256(printed) !== hash)) {
        problems.push('the retry is not a POST of the query with its sha256 hash');
      }
      if (registering && (registering.status !== 200 || registering.answer?.errors)) {
        problems.push('the retry with the query was not answered with data alone');
      }
      if (hashAgain && (hashAgain.method !== hashedMethod || 'query' in hashAgain.sent
          || hashAgain.sent.extensions?.persistedQuery?.sha256Hash !== hash)) {
        problems.push(`the second round is not a hash-only ${hashedMethod}`);
      }
      if (hashAgain && (hashAgain.status !== 200 || hashAgain.answer?.data?.registeredModel?.name !== pageNames[1])) {
        problems.push(`the hash-only ${hashedMethod} was not answered with the stored document's data`);
      }
      if (problems.length) {
        throw new Error(`useGETForHashedQueries ${useGET}: ${problems.join('; ')}; exchanges: `
          + describeExchanges(exchanges));
      }
      details.push(`${hashedMethod}: hash -> ${hashOnly.status} PERSISTED_QUERY_NOT_FOUND, POST hash+query -> 200, `
        + `${hashedMethod} hash -> 200 with the stored document's data`);
    }
    return details.join('; ');
  });

  await check('apollo.batchedRequests', async () => {
    const problems = [];
    // Within the limit: five operations (three documents) in one request.
    const recording = recordingFetch(fetchFn);
    const client = new ApolloClient({
      link: new BatchHttpLink({ uri: url, fetch: recording.fetch, batchMax: 5, batchInterval: 10 }),
      cache: new InMemoryCache(),
    });
    const [names, counted] = [[pageNames[0], pageNames[2], `${pagePrefix}absent`], pageNames.length];
    const outcomes = await Promise.allSettled([
      client.query({ query: VIEWER, fetchPolicy: 'no-cache' }),
      client.query({ query: MODELS_FORWARD, variables: { first: 1, ...pageVariables }, fetchPolicy: 'no-cache' }),
      ...names.map((name) => client.query({ query: MODEL_BY_NAME, variables: { name }, fetchPolicy: 'no-cache' })),
    ]);
    const failures = [...new Set(outcomes.filter((outcome) => outcome.status === 'rejected')
      .map(({ reason }) => `${reason?.name}: ${reason?.message}`))];
    if (failures.length) problems.push(`queries failed: ${failures.join(' / ')}`);
    const results = outcomes.map((outcome) => outcome.value ?? {});
    const batch = recording.exchanges;
    const [sent] = batch;
    if (batch.length !== 1 || sent.method !== 'POST' || !Array.isArray(sent.sent) || sent.sent.length !== 5) {
      problems.push(`the five queries did not travel as one POST of an array of 5 (${batch.length} requests)`);
    }
    if (batch.length === 1 && (sent.status !== 200 || !Array.isArray(sent.answer) || sent.answer.length !== 5)) {
      problems.push('the batch was not answered with 200 and an array of 5 results');
    }
    const [viewer, page, ...models] = results.map((result) => result.data);
    if (viewer?.viewer?.subject !== subject) problems.push(`viewer is ${JSON.stringify(viewer)}`);
    if (!same(namesOf(page?.registeredModels ?? { edges: [] }), [pageNames[0]])) {
      problems.push(`registeredModels(first: 1) is ${JSON.stringify(page)}`);
    }
    if (!same(models.map((data) => data?.registeredModel?.name ?? null), [names[0], names[1], null])) {
      problems.push(`registeredModel(name) gave ${JSON.stringify(models)}`);
    }
    if (results.some((result) => result.errors)) {
      problems.push(`errors ${JSON.stringify(results.map((result) => result.errors))}`);
    }
    if (problems.length) {
      throw new Error(`within the limit: ${problems.join('; ')}; exchanges: ${describeExchanges(batch)}`);
    }

    // Over the limit: twelve operations in one batch of at most 20; the server refuses the whole batch.
    const over = SERVER_MAX_BATCH + 2;
    const overRecording = recordingFetch(fetchFn);
    const overClient = new ApolloClient({
      link: new BatchHttpLink({ uri: url, fetch: overRecording.fetch, batchMax: 20, batchInterval: 10 }),
      cache: new InMemoryCache(),
    });
    const settled = await Promise.allSettled(Array.from({ length: over }, (_, index) => overClient.query({
      query: MODEL_BY_NAME, variables: { name: `${pagePrefix}over-${index}` }, fetchPolicy: 'no-cache',
    })));
    const refusal = overRecording.exchanges;
    if (refusal.length !== 1 || !Array.isArray(refusal[0].sent) || refusal[0].sent.length !== over) {
      problems.push(`the ${over} queries did not travel as one array of ${over} (${refusal.length} requests)`);
    }
    const expectedMessage = `the batch has ${over} operations, more than the ${SERVER_MAX_BATCH} allowed `
      + '(MODELREG_MAX_BATCH): send several smaller batches';
    const expectedExtensions = { code: 'BAD_USER_INPUT', limit: SERVER_MAX_BATCH, actual: over };
    const seen = settled.map((outcome) => {
      if (outcome.status === 'fulfilled') return `fulfilled ${JSON.stringify(outcome.value.data)}`;
      const error = outcome.reason;
      const network = error?.networkError;
      const serverErrors = network?.result?.errors ?? [];
      const readable = error?.name === 'ApolloError' && (error.graphQLErrors ?? []).length === 0
        && network?.name === 'ServerError' && network.statusCode === 400
        && error.message === 'Response not successful: Received status code 400'
        && serverErrors.length === 1 && serverErrors[0].message === expectedMessage
        && same(sortedEntries(serverErrors[0].extensions), sortedEntries(expectedExtensions));
      return readable ? 'refused' : `${error?.name}: ${error?.message}; `
        + `graphQLErrors ${JSON.stringify(error?.graphQLErrors)}; `
        + `networkError ${network?.name} ${network?.statusCode} ${JSON.stringify(network?.result)}`;
    });
    const odd = [...new Set(seen.filter((outcome) => outcome !== 'refused'))];
    if (odd.length) problems.push(`not every query failed with the server's 400 refusal: ${odd.join(' / ')}`);
    if (problems.length) {
      throw new Error(`over the limit: ${problems.join('; ')}; exchanges: ${describeExchanges(refusal)}`);
    }
    return `5 queries in one POST of an array, each result right; ${over} queries in one batch (batchMax 20) each `
      + `rejected with an ApolloError whose networkError is a ServerError 400 carrying "${expectedMessage}" `
      + `and extensions ${JSON.stringify(expectedExtensions)}`;
  });
}

/** Subscribes to a watched query (as a UI would) until stop(); `first` is its first complete result. */
function watch(query) {
  let subscription;
  const first = new Promise((resolve, reject) => {
    subscription = query.subscribe({ next: (result) => !result.loading && resolve(result), error: reject });
  });
  return { first, stop: () => subscription.unsubscribe() };
}

function chunks(items, size) {
  const result = [];
  for (let at = 0; at < items.length; at += size) result.push(items.slice(at, at + size));
  return result;
}
