// Apollo Client (core, no React) against the live server: a mutation, relayStylePagination() pages forward
// (first/after) and backward (last/before), and partial data with errorPolicy 'all'.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
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

function clientFor(url, fetchFn) {
  const cache = new InMemoryCache({
    typePolicies: { Query: { fields: { registeredModels: relayStylePagination(['filter', 'orderBy']) } } },
  });
  return new ApolloClient({ link: new HttpLink({ uri: url, fetch: fetchFn }), cache });
}

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
