// The GraphQL client: urql with Graphcache (a normalized cache keyed by the schema's global ids), plain fetch for
// queries and mutations, and graphql-ws on /graphql for subscriptions when a bearer token is set (the server
// authenticates a WebSocket by the token in connection_init only).
import { cacheExchange } from '@urql/exchange-graphcache';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { Client, fetchExchange, subscriptionExchange } from 'urql';
import { authHeaders, currentToken } from './auth';

// Types without an id are embedded in their parent (Graphcache otherwise warns about them).
const EMBEDDED = [
  'Viewer', 'Tag', 'Metric', 'Param', 'Actor', 'PageInfo', 'GateResult', 'ArtifactReference', 'ArtifactFile',
  'RunReference', 'CodeReference', 'TransitionRequestPayload',
  'RegisteredModelConnection', 'RegisteredModelEdge', 'ModelVersionConnection', 'ModelVersionEdge',
  'TransitionRequestConnection', 'TransitionRequestEdge', 'StageChangeConnection', 'StageChangeEdge',
  'ModelDocumentConnection', 'ModelDocumentEdge', 'ApprovalConnection', 'ApprovalEdge',
  'DeploymentEntry', 'DeploymentConnection', 'DeploymentEdge', 'DeploymentRevisionConnection', 'DeploymentRevisionEdge',
  'DeploymentPayload', 'WebhookConnection', 'WebhookEdge', 'WebhookDeliveryConnection', 'WebhookDeliveryEdge',
  'WebhookDeliveryPayload', 'LineageGraph', 'LineageGraphNode', 'LineageEdge', 'RunMetric', 'RunEnvironment', 'ResolvedModelUri', 'AuditEventConnection', 'AuditEventEdge', 'AuditIntegrity', 'AuditTargetRef',
];

let ws: WsClient | null = null;

function wsClient(): WsClient {
  if (!ws) {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = createWsClient({
      url: `${scheme}//${window.location.host}/graphql`,
      lazy: true,
      retryAttempts: 3,
      connectionParams: () => ({ Authorization: `Bearer ${currentToken()}` }),
    });
  }
  return ws;
}

export function makeClient(): Client {
  if (ws) {
    void ws.dispose();
    ws = null;
  }
  return new Client({
    url: '/graphql',
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ credentials: 'same-origin', headers: authHeaders() }),
    exchanges: [
      cacheExchange({ keys: Object.fromEntries(EMBEDDED.map((name) => [name, () => null])) }),
      fetchExchange,
      subscriptionExchange({
        enableAllOperations: false,
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const dispose = wsClient().subscribe(input, sink);
              return { unsubscribe: dispose };
            },
          };
        },
      }),
    ],
  });
}
