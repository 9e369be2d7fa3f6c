// The GraphQL client: urql with Graphcache (a normalized cache keyed by the schema's global ids), plain fetch for
// queries and mutations, and graphql-ws on /graphql for subscriptions. The server authenticates the WebSocket by
// the bearer token in connection_init or, with none, by the browser session cookie of the handshake (this page's
// origin only). useLiveState() says whether the live connection is up.
import { cacheExchange } from '@urql/exchange-graphcache';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { useSyncExternalStore } from 'react';
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

/** The live connection: 'idle' (none opened), 'connecting', 'connected', 'refused' (4403: no or a refused
 * credential), 'closed' (anything else). */
export type LiveState = 'idle' | 'connecting' | 'connected' | 'refused' | 'closed';
let liveState: LiveState = 'idle';
const liveListeners = new Set<() => void>();
function setLive(state: LiveState) {
  liveState = state;
  liveListeners.forEach((listener) => listener());
}
export function useLiveState(): LiveState {
  return useSyncExternalStore((listener) => {
    liveListeners.add(listener);
    return () => liveListeners.delete(listener);
  }, () => liveState);
}

function wsClient(): WsClient {
  if (!ws) {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = createWsClient({
      url: `${scheme}//${window.location.host}/graphql`,
      lazy: true,
      retryAttempts: 3,
      // With a token, the token; without, nothing: the server then reads the session cookie of the handshake.
      connectionParams: () => (currentToken() ? { Authorization: `Bearer ${currentToken()}` } : {}),
      on: {
        connecting: () => setLive('connecting'),
        connected: () => setLive('connected'),
        closed: (event) => setLive((event as CloseEvent | undefined)?.code === 4403 ? 'refused' : 'closed'),
      },
    });
  }
  return ws;
}

export function makeClient(): Client {
  if (ws) {
    void ws.dispose();
    ws = null;
    setLive('idle');
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
